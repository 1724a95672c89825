import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';

/**
 * Server commands that act on the active editor's selection. The server takes
 * `(uri, range, version)`; code actions pass those, while the command palette and the
 * context menu call the commands bare, so the selection is filled in here.
 */
const SELECTION_COMMANDS: ReadonlyMap<string, { needsSelection: boolean }> = new Map([
  ['infill.rewriteSelection', { needsSelection: true }],
  ['infill.fillPlaceholders', { needsSelection: false }],
  ['infill.closeStructure', { needsSelection: false }],
]);

/** Arguments for `command`, or undefined when there is nothing to run it on. */
export function commandArguments(client: LanguageClient, command: string, args: unknown[]): unknown[] | undefined {
  const shape = SELECTION_COMMANDS.get(command);
  if (shape === undefined || args.length > 0) {
    return args;
  }
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined) {
    void vscode.window.showInformationMessage('Infill: open a file first.');
    return undefined;
  }
  if (shape.needsSelection && editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Infill: select the code to rewrite first.');
    return undefined;
  }
  return [
    client.code2ProtocolConverter.asUri(editor.document.uri),
    client.code2ProtocolConverter.asRange(editor.selection),
    editor.document.version,
  ];
}
