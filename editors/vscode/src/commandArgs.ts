/**
 * Arguments of the server's editor commands, worked out with no `vscode` import so that they can be
 * tested in plain Node.
 *
 * The server's `infill.rewriteSelection`, `infill.fillPlaceholders` and `infill.closeStructure` take
 * `[uri, range, version]`: the document URI as a string, an LSP range and the document version
 * (or null). Code actions pass those and the document's opening; the command palette passes nothing, the editor context menu passes
 * the document's `vscode.Uri`, and a keybinding may pass anything. Whatever is not already in the
 * server's form is replaced by the active editor's document, selection and version.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** The editor a command acts on, already in protocol terms. */
export interface EditorTarget {
  uri: string;
  range: Range;
  version: number;
  selectionEmpty: boolean;
}

export interface ServerCommand {
  /** The command the server registers (and advertises in `executeCommandProvider`). */
  server: string;
  /** The command the extension registers for the palette and the context menu; it exists whether the server runs or not. */
  editor: string;
  title: string;
  needsSelection: boolean;
}

export const SERVER_COMMANDS: readonly ServerCommand[] = [
  { server: 'infill.rewriteSelection', editor: 'infill.editor.rewriteSelection', title: 'Rewrite Selection', needsSelection: true },
  { server: 'infill.fillPlaceholders', editor: 'infill.editor.fillPlaceholders', title: 'Fill Placeholders', needsSelection: false },
  { server: 'infill.closeStructure', editor: 'infill.editor.closeStructure', title: 'Close Structure', needsSelection: false },
];

export function serverCommand(command: string): ServerCommand | undefined {
  return SERVER_COMMANDS.find((c) => c.server === command || c.editor === command);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPosition(value: unknown): value is Position {
  return (
    isRecord(value) &&
    Number.isInteger(value.line) &&
    (value.line as number) >= 0 &&
    Number.isInteger(value.character) &&
    (value.character as number) >= 0
  );
}

export function isRange(value: unknown): value is Range {
  return isRecord(value) && isPosition(value.start) && isPosition(value.end);
}

/**
 * Whether `args` already are the server's `[uri, range, version]` (the version may be left out; it is
 * then sent as null, which the server reads as "whatever the document is now"), or the four its code
 * actions carry: those and the document's opening they were offered in, by which the server refuses an
 * action offered before the document was closed and opened again (its versions count from 1 again).
 */
export function isServerArguments(args: readonly unknown[]): boolean {
  if (args.length < 2 || args.length > 4) {
    return false;
  }
  const [uri, range, version, opening] = args;
  return (
    typeof uri === 'string' &&
    uri.length > 0 &&
    isRange(range) &&
    (version === undefined || version === null || Number.isInteger(version)) &&
    (args.length < 4 || Number.isInteger(opening))
  );
}

export type ResolvedArguments = { args: unknown[] } | { message: string };

/**
 * The arguments to send for `command` (a server or an editor command id), or a message to show instead.
 * Commands that are not one of the three are passed through untouched.
 */
export function resolveCommandArguments(
  command: string,
  args: readonly unknown[],
  target: EditorTarget | undefined,
): ResolvedArguments {
  const known = serverCommand(command);
  if (known === undefined) {
    return { args: [...args] };
  }
  if (isServerArguments(args)) {
    return { args: args.length === 4 ? [...args] : [args[0], args[1], args[2] ?? null] };
  }
  if (target === undefined) {
    return { message: `Infill: ${known.title} acts on a file; open one in an editor first.` };
  }
  if (known.needsSelection && target.selectionEmpty) {
    return { message: 'Infill: select the code to rewrite first.' };
  }
  return { args: [target.uri, target.range, target.version] };
}
