import * as assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { test } from 'node:test';
import {
  ConfigSource,
  expandHome,
  folderScoped,
  InspectedSetting,
  LAUNCH_KEYS,
  needsRestart,
  readServerLaunch,
  readServerSettings,
  RESTRICTED_KEYS,
  serverFolder,
  settingsUpdate,
  workspaceSetsRestricted,
} from '../settings';

/** The package.json defaults, as VS Code reports them. */
const DEFAULTS: Record<string, unknown> = {
  'server.command': 'infill-ls',
  'server.extraArgs': [],
  modelPath: '',
  device: 'auto',
  dtype: 'auto',
  maxHoleTokens: 48,
  maxSteps: null,
  typingMaxSteps: 6,
  typingNewLines: null,
  debounceMs: 60,
  enabledLanguages: ['*'],
  numCandidates: 3,
  fileLookup: true,
  neighborFiles: true,
  threads: null,
  prefixTokens: null,
  'trace.server': 'off',
};

type Layer = 'globalValue' | 'workspaceValue' | 'workspaceFolderValue' | 'globalLanguageValue';

/** A WorkspaceConfiguration stand-in: later layers win, as in VS Code. */
function configuration(layers: Partial<Record<Layer, Record<string, unknown>>>): ConfigSource {
  const order: Layer[] = ['globalValue', 'workspaceValue', 'workspaceFolderValue', 'globalLanguageValue'];
  return {
    get<T>(key: string): T | undefined {
      let value = DEFAULTS[key];
      for (const layer of order) {
        const values = layers[layer];
        if (values !== undefined && key in values) {
          value = values[key];
        }
      }
      return value as T;
    },
    inspect(key: string): InspectedSetting | undefined {
      if (!(key in DEFAULTS)) {
        return undefined;
      }
      const inspected: InspectedSetting = { defaultValue: DEFAULTS[key] };
      for (const layer of order) {
        const values = layers[layer];
        if (values !== undefined && key in values) {
          inspected[layer] = values[key];
        }
      }
      return inspected;
    },
  };
}

test('nothing set: nothing sent, so --device/--dtype/--threads on the command line apply', () => {
  assert.deepEqual(readServerSettings(configuration({})), {});
});

test('only the keys the user set are sent, from any scope', () => {
  const config = configuration({
    globalValue: { device: 'cpu', 'trace.server': 'verbose' },
    workspaceValue: { maxHoleTokens: 32, threads: null },
    workspaceFolderValue: { dtype: 'float32' },
    globalLanguageValue: { fileLookup: false },
  });
  assert.deepEqual(readServerSettings(config), {
    device: 'cpu',
    maxHoleTokens: 32,
    threads: null,
    dtype: 'float32',
    fileLookup: false,
  });
});

test('a set value equal to the default is still sent (the user chose it over the command line)', () => {
  assert.deepEqual(readServerSettings(configuration({ globalValue: { device: 'auto' } })), { device: 'auto' });
});

test('modelPath: empty or blank means the shipped model (null); a path is trimmed', () => {
  assert.deepEqual(readServerSettings(configuration({ globalValue: { modelPath: '  ' } })), { modelPath: null });
  assert.deepEqual(readServerSettings(configuration({ globalValue: { modelPath: ' /m/ck ' } })), { modelPath: '/m/ck' });
});

test('update: a new or changed key is sent; an unchanged one is not a change', () => {
  const before = { device: 'cpu' };
  const same = settingsUpdate(before, configuration({ globalValue: { device: 'cpu', 'trace.server': 'messages' } }));
  assert.equal(same.changed, false);
  assert.deepEqual(same.restartFor, []);
  const more = settingsUpdate(before, configuration({ globalValue: { device: 'cpu', debounceMs: 10 } }));
  assert.equal(more.changed, true);
  assert.deepEqual(more.settings, { device: 'cpu', debounceMs: 10 });
  assert.deepEqual(more.current, { device: 'cpu', debounceMs: 10 });
});

test('update: an unset ordinary key is sent with its default', () => {
  const update = settingsUpdate({ maxHoleTokens: 32, device: 'cpu' }, configuration({ globalValue: { device: 'cpu' } }));
  assert.deepEqual(update.settings, { device: 'cpu', maxHoleTokens: 48 });
  assert.deepEqual(update.current, { device: 'cpu' });
  assert.deepEqual(update.restartFor, []);
  assert.equal(update.changed, true);
});

test('update: an unset command-line key (device, dtype, threads, modelPath) asks for a restart', () => {
  const update = settingsUpdate({ device: 'cuda', threads: 4, debounceMs: 10 }, configuration({ globalValue: { debounceMs: 10 } }));
  assert.deepEqual(update.restartFor, ['device', 'threads']);
  assert.equal(update.changed, true);
  assert.equal('device' in update.settings, false);
});

test('launch: command and extra arguments', () => {
  assert.deepEqual(readServerLaunch(configuration({})), { command: 'infill-ls', args: [] });
  assert.deepEqual(
    readServerLaunch(configuration({ globalValue: { 'server.command': ' /opt/bin/infill-ls ', 'server.extraArgs': ['--device', 'cpu'] } })),
    { command: '/opt/bin/infill-ls', args: ['--device', 'cpu'] },
  );
  assert.deepEqual(readServerLaunch(configuration({ globalValue: { 'server.command': '  ' } })), { command: 'infill-ls', args: [] });
});

test('launch: a leading ~ in the command is the home directory, as in a shell', () => {
  const command = (value: string) => readServerLaunch(configuration({ globalValue: { 'server.command': value } })).command;
  assert.equal(command('~/.venv/bin/infill-ls'), `${homedir()}/.venv/bin/infill-ls`);
  assert.equal(command(' ~ '), homedir());
  // Another user's home, or a ~ within the path, is left as written.
  assert.equal(command('~other/bin/infill-ls'), '~other/bin/infill-ls');
  assert.equal(command('/opt/~/infill-ls'), '/opt/~/infill-ls');
  assert.equal(expandHome('~\\bin\\infill-ls.exe', 'C:\\Users\\me', 'win32'), 'C:\\Users\\me\\bin\\infill-ls.exe');
  assert.equal(expandHome('~\\bin', '/home/me', 'linux'), '~\\bin');
});

test('launch: a relative command is resolved against the folder the server runs in', () => {
  const launch = (value: string, folder?: string, platform: NodeJS.Platform = 'linux') =>
    readServerLaunch(configuration({ workspaceValue: { 'server.command': value } }), folder, platform);
  // Spawned in the folder, so looked for there, and so checked there when it cannot be run.
  assert.deepEqual(launch('.venv/bin/infill-ls', '/work/proj'), { command: '/work/proj/.venv/bin/infill-ls', args: [], cwd: '/work/proj' });
  assert.equal(launch('./bin/../bin/infill-ls', '/work/proj').command, '/work/proj/bin/infill-ls');
  assert.equal(launch('${workspaceFolder}/.venv/bin/infill-ls', '/work/proj').command, '/work/proj/.venv/bin/infill-ls');
  // Absolute paths, a home path and bare names (looked up on PATH) are left as they are.
  assert.equal(launch('/opt/bin/infill-ls', '/work/proj').command, '/opt/bin/infill-ls');
  assert.equal(launch('~/bin/infill-ls', '/work/proj').command, `${homedir()}/bin/infill-ls`);
  assert.deepEqual(launch('infill-ls', '/work/proj'), { command: 'infill-ls', args: [], cwd: '/work/proj' });
  assert.equal(launch('C:\\venv\\infill-ls.exe', 'D:\\proj', 'win32').command, 'C:\\venv\\infill-ls.exe');
  assert.equal(launch('.venv\\Scripts\\infill-ls.exe', 'D:\\proj', 'win32').command, 'D:\\proj\\.venv\\Scripts\\infill-ls.exe');
  // With no folder on disk, there is nothing to resolve it against: said before anything is run.
  const lost = launch('.venv/bin/infill-ls');
  assert.equal(lost.command, '.venv/bin/infill-ls');
  assert.match(lost.problem ?? '', /infill\.server\.command "\.venv\/bin\/infill-ls" is relative to the workspace folder, and no folder is open/);
  assert.match(launch('${workspaceFolder}/x').problem ?? '', /no folder is open/);
  assert.equal(launch('infill-ls').problem, undefined);
});

test('the server runs in the first workspace folder, where it is on disk', () => {
  const folder = (scheme: string, fsPath: string) => ({ uri: { scheme, fsPath } });
  assert.equal(serverFolder(undefined), undefined);
  assert.equal(serverFolder([]), undefined);
  assert.equal(serverFolder([folder('file', '/a'), folder('file', '/b')]), '/a');
  // As the language client does: the first folder only, not the first one on disk.
  assert.equal(serverFolder([folder('vscode-vfs', '/r'), folder('file', '/b')]), undefined);
});

test('trust granted: a restart is needed only where the workspace sets what runs or loads', () => {
  assert.deepEqual(RESTRICTED_KEYS, ['server.command', 'server.extraArgs', 'modelPath']);
  assert.equal(workspaceSetsRestricted(configuration({ globalValue: { 'server.command': '/x', modelPath: '/m' } })), false);
  assert.equal(workspaceSetsRestricted(configuration({ workspaceValue: { device: 'cpu' } })), false);
  assert.equal(workspaceSetsRestricted(configuration({ workspaceValue: { 'server.extraArgs': ['--x'] } })), true);
  assert.equal(workspaceSetsRestricted(configuration({ workspaceFolderValue: { modelPath: '/m' } })), true);
  // Only the command and its arguments restart it: VS Code reports the folder's restricted settings as changed once
  // it is trusted, and the model goes to the running server from there (a restart as well started it twice).
  assert.deepEqual(LAUNCH_KEYS, ['server.command', 'server.extraArgs']);
  assert.equal(workspaceSetsRestricted(configuration({ workspaceFolderValue: { modelPath: '/m' } }), LAUNCH_KEYS), false);
  assert.equal(workspaceSetsRestricted(configuration({ workspaceValue: { 'server.command': '/x' } }), LAUNCH_KEYS), true);
});

test('multi-root: the command, its arguments and the model as the folder the server runs in sets them', () => {
  const window = configuration({ globalValue: { device: 'cpu' } });
  // Read for the first folder, VS Code adds that folder's own values; in a multi-root workspace, only there.
  const own = { 'server.command': '.venv/bin/infill-ls', 'server.extraArgs': ['--threads', '2'], modelPath: '/m', device: 'cuda' };
  const folder = configuration({ globalValue: { device: 'cpu' }, workspaceFolderValue: own });
  const config = folderScoped(window, folder);
  assert.deepEqual(readServerLaunch(config, '/work/a', 'linux'), {
    command: '/work/a/.venv/bin/infill-ls',
    args: ['--threads', '2'],
    cwd: '/work/a',
  });
  // The settings only the user and the workspace set are read for the window (VS Code warns of a window-scoped
  // setting read for a folder).
  assert.deepEqual(readServerSettings(config), { modelPath: '/m', device: 'cpu' });
  assert.equal(workspaceSetsRestricted(config, LAUNCH_KEYS), true);
  // Read for the window alone, the folder's command was not seen: `infill-ls` on PATH was run instead.
  assert.deepEqual(readServerLaunch(window, '/work/a', 'linux'), { command: 'infill-ls', args: [], cwd: '/work/a' });
  // No folder open: the window's.
  assert.equal(folderScoped(window, undefined), window);
});

test('server settings changes restart; others do not', () => {
  const event = (changed: string) => ({ affectsConfiguration: (section: string) => changed === section || changed.startsWith(`${section}.`) });
  assert.equal(needsRestart(event('infill.server.extraArgs')), true);
  assert.equal(needsRestart(event('infill.device')), false);
});

test("in a multi-root workspace, another folder's server settings do not restart the server", () => {
  // As VS Code answers: a folder's own value affects that folder's scope only; a user setting affects every scope.
  const change = (section: string, where: string) => ({
    affectsConfiguration: (asked: string, scope?: string) =>
      section.startsWith(asked) && (where === 'user' || scope === undefined || scope === where),
  });
  assert.equal(needsRestart(change('infill.server.command', 'file:///b'), 'file:///a'), false);
  assert.equal(needsRestart(change('infill.server.command', 'file:///a'), 'file:///a'), true);
  assert.equal(needsRestart(change('infill.server.extraArgs', 'user'), 'file:///a'), true);
  // No folder open: any change counts.
  assert.equal(needsRestart(change('infill.server.command', 'file:///b')), true);
});
