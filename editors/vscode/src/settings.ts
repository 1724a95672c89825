/**
 * Which `infill.*` settings go to the server, worked out with no `vscode` import so that it can be
 * tested in plain Node; `vscode.WorkspaceConfiguration` and `vscode.ConfigurationChangeEvent` fit the
 * small interfaces below.
 */
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';

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
  /** The server's working directory, which a relative command was resolved against; unset: the extension host's. */
  cwd?: string;
  /** Why the command cannot be run as set, found before trying it. */
  problem?: string;
}

/**
 * A leading `~` (alone, or before a separator) as the home directory: the server is run without a shell,
 * which would have expanded it, and a path copied from a terminal often has one.
 */
export function expandHome(path: string, home: string = homedir(), platform: NodeJS.Platform = process.platform): string {
  const tilde = platform === 'win32' ? /^~(?=$|[\\/])/ : /^~(?=$|\/)/;
  return tilde.test(path) ? home + path.slice(1) : path;
}

/** What `vscode.workspace.workspaceFolders` holds, as far as it is read here. */
export interface FolderLike {
  uri: { scheme: string; fsPath: string };
}

/**
 * The folder the language client runs the server in: the first workspace folder, where it is on disk
 * (vscode-languageclient's own choice when no `cwd` is given).
 */
export function serverFolder(folders: readonly FolderLike[] | undefined): string | undefined {
  const first = folders?.[0];
  return first?.uri.scheme === 'file' ? first.uri.fsPath : undefined;
}

const WORKSPACE_FOLDER = /^\$\{workspaceFolder\}/;

/**
 * The launch as set, with a relative command (`.venv/bin/infill-ls`, `${workspaceFolder}/...`) made absolute
 * against `folder`, the directory the server is run in: the system would look for it there, and a failed
 * start's message, which checks whether the file exists, must look in the same place.
 */
export function readServerLaunch(
  config: ConfigSource,
  folder?: string,
  platform: NodeJS.Platform = process.platform,
): ServerLaunch {
  const setting = (config.get<string>('server.command') ?? '').trim() || 'infill-ls';
  const extraArgs = config.get<unknown>('server.extraArgs');
  const args = Array.isArray(extraArgs) ? extraArgs.filter((a): a is string => typeof a === 'string') : [];
  const launch: ServerLaunch = { command: expandHome(setting, homedir(), platform), args };
  if (folder !== undefined) {
    launch.cwd = folder;
  }
  const paths = platform === 'win32' ? win32 : posix;
  const fromFolder = WORKSPACE_FOLDER.test(launch.command);
  // A bare name is looked up on PATH, not in the folder; so is one with a backslash outside Windows.
  const isPath = (platform === 'win32' ? /[\\/]/ : /\//).test(launch.command);
  if (fromFolder || (isPath && !paths.isAbsolute(launch.command))) {
    if (folder === undefined) {
      launch.problem =
        `Infill: infill.server.command ${JSON.stringify(setting)} is relative to the workspace folder, and no folder ` +
        'is open: set it to the full path of the infill-ls executable.';
    } else {
      launch.command = paths.join(folder, launch.command.replace(WORKSPACE_FOLDER, ''));
    }
  }
  return launch;
}

/**
 * The settings that choose what runs or what is loaded: a folder's own settings could otherwise run any program
 * once it is opened. package.json lists them as restricted, so in Restricted Mode VS Code gives only the user's
 * values for them.
 */
export const RESTRICTED_KEYS: readonly string[] = ['server.command', 'server.extraArgs', 'modelPath'];

/**
 * The section as the server reads it: the keys a folder's own settings can set in a multi-root workspace (the
 * `machine-overridable` ones, `RESTRICTED_KEYS`) from `folder`, the configuration of the folder the server runs in
 * (VS Code gives a folder's values only to a configuration read for that folder); the others, which only the
 * user and the workspace set, from `window`.
 */
export function folderScoped(window: ConfigSource, folder: ConfigSource | undefined): ConfigSource {
  if (folder === undefined) {
    return window;
  }
  const from = (key: string) => (RESTRICTED_KEYS.includes(key) ? folder : window);
  return {
    get: <T>(key: string) => from(key).get<T>(key),
    inspect: (key: string) => from(key).inspect(key),
  };
}

/** The settings that choose what is run: only a new server process takes them. */
export const LAUNCH_KEYS: readonly string[] = ['server.command', 'server.extraArgs'];

/** Whether the workspace (or one of its folders) sets one of `keys`, which applies once it is trusted. */
export function workspaceSetsRestricted(config: ConfigSource, keys: readonly string[] = RESTRICTED_KEYS): boolean {
  return keys.some((key) => {
    const inspected = config.inspect(key);
    return [
      inspected?.workspaceValue,
      inspected?.workspaceFolderValue,
      inspected?.workspaceLanguageValue,
      inspected?.workspaceFolderLanguageValue,
    ].some((value) => value !== undefined);
  });
}

/** Changes to these need a new server process, not just a notification. */
export function needsRestart<Scope>(
  event: { affectsConfiguration(section: string, scope?: Scope): boolean },
  folder?: Scope,
): boolean {
  // Asked for the folder the server runs in (where it reads its command): in a multi-root workspace, another
  // folder's own `infill.server.*` does not change what is run.
  return event.affectsConfiguration(`${SECTION}.server`, folder);
}
