import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { batchScript, serverSpawn } from '../serverSpawn';

// PATHEXT in lower case: this file system, unlike Windows', tells `.BAT` from `.bat`.
const WINDOWS_ENV = { ComSpec: 'C:\\Windows\\system32\\cmd.exe', PATHEXT: '.com;.exe;.bat;.cmd' };

test('an executable is started as it is, the client adding --stdio', () => {
  const launch = { command: '/home/me/.venv/bin/infill-ls', args: ['--model', '/m'] };
  assert.deepEqual(serverSpawn(launch, {}, 'linux'), { command: launch.command, args: ['--model', '/m'], stdio: true });
  // Outside Windows a .cmd is a file like any other.
  assert.equal(batchScript('/opt/infill-ls.cmd', {}, 'linux'), undefined);
  assert.equal(serverSpawn({ command: 'C:\\venv\\Scripts\\infill-ls.exe', args: [] }, WINDOWS_ENV, 'win32').stdio, true);
});

test('a batch script on Windows runs through cmd.exe with its whole command line quoted where it must be', () => {
  const spawn = serverSpawn(
    { command: 'C:\\Users\\Jo Doe\\shims\\infill-ls.CMD', args: ['--model', 'C:\\models\\my model\\', '--threads=2'] },
    WINDOWS_ENV,
    'win32',
  );
  assert.equal(spawn.command, 'C:\\Windows\\system32\\cmd.exe');
  assert.equal(spawn.stdio, false);
  assert.equal(spawn.windowsVerbatimArguments, true);
  assert.equal(spawn.problem, undefined);
  // A trailing backslash inside quotes is doubled, else the program reading the line takes it as escaping the quote.
  assert.deepEqual(spawn.args, [
    '/d',
    '/q',
    '/s',
    '/c',
    '""C:\\Users\\Jo Doe\\shims\\infill-ls.CMD" --model "C:\\models\\my model\\\\" "--threads=2" --stdio"',
  ]);
});

test('a bare name that PATH finds as a batch script (a pyenv-win shim) runs through cmd.exe; one found as .exe does not', () => {
  const shims = mkdtempSync(join(tmpdir(), 'infill-shims-'));
  const bin = mkdtempSync(join(tmpdir(), 'infill-bin-'));
  writeFileSync(join(shims, 'infill-ls.bat'), '@python -m infill_ls %*\r\n');
  writeFileSync(join(bin, 'infill-ls.exe'), '');
  const script = join(shims, 'infill-ls.bat');
  assert.equal(batchScript('infill-ls', { ...WINDOWS_ENV, PATH: `${shims};${bin}` }, 'win32'), script);
  assert.equal(batchScript('infill-ls', { ...WINDOWS_ENV, PATH: `${bin};${shims}` }, 'win32'), undefined);
  assert.equal(batchScript('missing-server', { ...WINDOWS_ENV, PATH: `${shims};${bin}` }, 'win32'), undefined);
  const spawn = serverSpawn({ command: 'infill-ls', args: [] }, { ...WINDOWS_ENV, PATH: shims }, 'win32');
  assert.deepEqual(spawn.args.slice(0, 4), ['/d', '/q', '/s', '/c']);
  assert.ok(spawn.args[4].includes(script));
  assert.ok(spawn.args[4].endsWith(' --stdio"'));
});

test('an argument cmd.exe cannot pass as written is a problem naming it, not a changed argument', () => {
  for (const bad of ['100%', 'say "hi"', 'wow!', 'C:\\odd^dir']) {
    const spawn = serverSpawn({ command: 'C:\\shims\\infill-ls.bat', args: ['--model', bad] }, WINDOWS_ENV, 'win32');
    assert.match(spawn.problem ?? '', /batch script C:\\shims\\infill-ls\.bat/);
    assert.ok((spawn.problem ?? '').includes(JSON.stringify(bad)), spawn.problem);
  }
  assert.equal(serverSpawn({ command: 'C:\\shims\\infill-ls.bat', args: [] }, {}, 'win32').command, 'cmd.exe');
});
