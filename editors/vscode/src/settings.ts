/**
 * Which `infill.*` settings go to the server, worked out with no `vscode` import so that it can be
 * tested in plain Node; `vscode.WorkspaceConfiguration` and `vscode.ConfigurationChangeEvent` fit the
 * small interfaces below.
 */
import { homedir } from 'node:os';

/** The `infill.*` configuration section; the server also reads its settings under this name. */
export const SECTION = 'infill';

/**
 * The URI schemes of the documents the server is sent; package.json offers the editor commands only in
 * editors of these (elsewhere, settings.json say, the server would answer that the document is not open).
 */
export const SERVED_SCHEMES = ['file', 'untitled', 'vscode-notebook-cell'];

/**
 * Settings the language server understands, under the names it reads them by.
 * Everything else in the section (`server.*`, `trace.*`) only concerns the client, so those are never
 * sent (the server would ignore them: it reports only a key close to one of its own, as a misspelling).
 */
export interface ServerSettings {
  modelPath: string | null;
  device: string;
  dtype: string;
  maxHoleTokens: number;
  maxSteps: number | null;
  typingMaxSteps: number | null;
  typingNewLines: boolean | null;
  debounceMs: number;
  enabledLanguages: string[];
  numCandidates: number;
  fileLookup: boolean;
  neighborFiles: boolean;
  threads: number | null;
  prefixTokens: number | null;
}

export type ServerSettingKey = keyof ServerSettings;

export const SERVER_SETTING_KEYS: readonly ServerSettingKey[] = [
  'modelPath',
  'device',
  'dtype',
  'maxHoleTokens',
  'maxSteps',
  'typingMaxSteps',
  'typingNewLines',
  'debounceMs',
  'enabledLanguages',
  'numCandidates',
  'fileLookup',
  'neighborFiles',
  'threads',
  'prefixTokens',
];

/**
 * Settings the server also takes on its command line (`--model`, `--device`, `--dtype`, `--threads`,
 * e.g. through `infill.server.extraArgs`). Only a new server process goes back to the command-line
 * value, so taking one of these out of the user's settings restarts the server.
 */
export const COMMAND_LINE_KEYS: ReadonlySet<ServerSettingKey> = new Set<ServerSettingKey>([
  'modelPath',
  'device',
  'dtype',
  'threads',
]);

/** The layers of `WorkspaceConfiguration.inspect()` a user can write. */
export interface InspectedSetting {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/** What is read of the `infill` section (a `vscode.WorkspaceConfiguration` is one). */
export interface ConfigSource {
  get<T>(key: string): T | undefined;
  inspect(key: string): InspectedSetting | undefined;
}

/** Whether the user (or a workspace) set `key`, in any scope, as opposed to leaving the default. */
export function isSetByUser(config: ConfigSource, key: string): boolean {
  const inspected = config.inspect(key);
  if (inspected === undefined) {
    return false;
  }
  return [
    inspected.globalValue,
    inspected.workspaceValue,
    inspected.workspaceFolderValue,
    inspected.globalLanguageValue,
    inspected.workspaceLanguageValue,
    inspected.workspaceFolderLanguageValue,
  ].some((value) => value !== undefined);
}

function valueOf(config: ConfigSource, key: ServerSettingKey): unknown {
  const value = config.get<unknown>(key);
  if (key === 'modelPath') {
    // The server spells an empty path null: `--model` from its command line (`infill.server.extraArgs`), else the
    // model shipped with it.
    const path = typeof value === 'string' ? value.trim() : value;
    return path === '' || path === undefined ? null : path;
  }
  return value === undefined ? null : value;
}

/**
 * The server settings the user set, and only those: a key left unset is left to the server, whose
 * default (or command-line value, such as `--device cpu` in `infill.server.extraArgs`) then applies.
 */
export function readServerSettings(config: ConfigSource): Partial<ServerSettings> {
  const settings: Record<string, unknown> = {};
  for (const key of SERVER_SETTING_KEYS) {
    if (isSetByUser(config, key)) {
      settings[key] = valueOf(config, key);
    }
  }
  return settings as Partial<ServerSettings>;
}

export interface SettingsUpdate {
  /** What to send in `workspace/didChangeConfiguration` (under `infill`). */
  settings: Partial<ServerSettings>;
  /** The user's settings after this update, to pass as `previous` next time. */
  current: Partial<ServerSettings>;
  /** Command-line keys the user no longer sets: only a new server process takes the command-line value again. */
  restartFor: ServerSettingKey[];
  /** Whether `settings` differ from what the server was last given. */
  changed: boolean;
}

/**
 * How to bring a running server from `previous` (what it was last given) to the current settings.
 * A key the user took out of their settings is sent with its default (the value the settings UI shows
 * then), except the command-line keys, which need a restart to fall back to the command line.
 */
export function settingsUpdate(previous: Partial<ServerSettings>, config: ConfigSource): SettingsUpdate {
  const current = readServerSettings(config);
  const settings: Record<string, unknown> = { ...current };
  const restartFor: ServerSettingKey[] = [];
  for (const key of SERVER_SETTING_KEYS) {
    if (key in previous && !(key in current)) {
      if (COMMAND_LINE_KEYS.has(key)) {
        restartFor.push(key);
      } else {
        settings[key] = valueOf(config, key);
      }
    }
  }
  const changed = SERVER_SETTING_KEYS.some(
    (key) => key in settings && JSON.stringify(settings[key]) !== JSON.stringify((previous as Record<string, unknown>)[key]),
  );
  return { settings: settings as Partial<ServerSettings>, current, restartFor, changed: changed || restartFor.length > 0 };
}

/** How to start the server process; the client adds `--stdio` itself. */
export interface ServerLaunch {
  command: string;
  args: string[];
}

/**
 * A leading `~` (alone, or before a separator) as the home directory: the server is run without a shell,
 * which would have expanded it, and a path copied from a terminal often has one.
 */
export function expandHome(path: string, home: string = homedir(), platform: NodeJS.Platform = process.platform): string {
  const tilde = platform === 'win32' ? /^~(?=$|[\\/])/ : /^~(?=$|\/)/;
  return tilde.test(path) ? home + path.slice(1) : path;
}

export function readServerLaunch(config: ConfigSource): ServerLaunch {
  const command = expandHome((config.get<string>('server.command') ?? '').trim() || 'infill-ls');
  const extraArgs = config.get<unknown>('server.extraArgs');
  const args = Array.isArray(extraArgs) ? extraArgs.filter((a): a is string => typeof a === 'string') : [];
  return { command, args };
}

/** Changes to these need a new server process, not just a notification. */
export function needsRestart(event: { affectsConfiguration(section: string): boolean }): boolean {
  return event.affectsConfiguration(`${SECTION}.server`);
}
