import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandLine, findOnPath, notRunningMessage, startFailureMessage } from '../startFailure';

test('command line as run, with --stdio and quoting', () => {
  assert.equal(commandLine({ command: 'infill-ls', args: [] }), 'infill-ls --stdio');
  assert.equal(
    commandLine({ command: '/opt/my tools/infill-ls', args: ['--device', 'cpu'] }),
    '"/opt/my tools/infill-ls" --device cpu --stdio',
  );
});

test('missing executable: names the command and the setting', async (t) => {
  // What vscode-languageclient 10 rejects start() with when spawn fails.
  const error = 'Launching server using command infill-ls failed. Error: spawn infill-ls ENOENT';
  const launch = { command: 'infill-ls', args: ['--threads', '2'] };
  // On a PATH without it: an infill-ls installed on this machine is no part of the test.
  const message = await withPath([tempDir(t)], async () => startFailureMessage(launch, error));
  assert.match(message, /"infill-ls --threads 2 --stdio"/);
  assert.match(message, /no infill-ls on PATH/);
  assert.match(message, /infill\.server\.command/);
  const absolute = startFailureMessage({ command: '/nope/infill-ls', args: [] }, new Error('spawn /nope/infill-ls ENOENT'));
  assert.match(absolute, /\/nope\/infill-ls does not exist/);
});

test('a script whose interpreter is gone, and a server that exits at once', () => {
  // ENOENT for a file that is there: its #! interpreter is not.
  const stale = startFailureMessage({ command: '/venv/bin/infill-ls', args: [] }, 'spawn /venv/bin/infill-ls ENOENT', () => true);
  assert.match(stale, /exists, but the interpreter its first line names does not/);
  assert.doesNotMatch(stale, /does not exist/);
  const gone = startFailureMessage({ command: '/venv/bin/infill-ls', args: [] }, 'spawn /venv/bin/infill-ls ENOENT', () => false);
  assert.match(gone, /\/venv\/bin\/infill-ls does not exist/);
  // What writing initialize to a process that already exited is rejected with.
  const exited = startFailureMessage({ command: '/bin/false', args: [] }, new Error('Cannot call write after a stream was destroyed'));
  assert.match(exited, /"\/bin\/false --stdio" exited as soon as it started/);
});

test('not executable and other failures', () => {
  assert.match(startFailureMessage({ command: './x', args: [] }, 'spawn ./x EACCES'), /not executable/);
  const other = startFailureMessage({ command: 'infill-ls', args: ['--bogus'] }, new Error('Pending response rejected since connection got disposed'));
  assert.match(other, /did not start: "infill-ls --bogus --stdio" failed \(Pending response rejected/);
  assert.match(other, /infill\.server\.extraArgs/);
});

/** PATH set to `dirs` while `body` runs, as the extension host's own PATH is what the server is looked up in. */
async function withPath<T>(dirs: string[], body: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = dirs.join(process.platform === 'win32' ? ';' : ':');
  try {
    return await body();
  } finally {
    process.env.PATH = saved;
  }
}

/** Why spawning `command` failed, as the language client puts it. */
function spawnFailure(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, ['--stdio']);
    child.on('error', (err) => resolve(`Launching server using command ${command} failed. Error: ${err.message}`));
    child.on('exit', (code) => reject(new Error(`${command} ran and exited with ${code}`)));
  });
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'infill-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a bare command on PATH whose interpreter is gone names both files', { skip: process.platform === 'win32' }, async (t) => {
  const dir = tempDir(t);
  const empty = join(dir, 'empty');
  const bin = join(dir, 'bin');
  mkdirSync(empty);
  mkdirSync(bin);
  const script = join(bin, 'infill-ls');
  const python = join(dir, 'venv', 'bin', 'python3');
  writeFileSync(script, `#!${python}\nprint("hi")\n`, { mode: 0o755 });
  const launch = { command: 'infill-ls', args: [] };
  const message = await withPath([empty, bin], async () => startFailureMessage(launch, await spawnFailure('infill-ls')));
  assert.match(message, /"infill-ls --stdio"/);
  assert.ok(message.includes(script), message);
  assert.ok(message.includes(python), message);
  assert.match(message, /interpreter/);
  assert.doesNotMatch(message, /not found|no infill-ls on PATH/);
  // With no PATH entry holding it, it is not found.
  const missing = await withPath([empty], async () => startFailureMessage(launch, await spawnFailure('infill-ls')));
  assert.match(missing, /not found: "infill-ls --stdio" could not be run \(no infill-ls on PATH\)/);
});

test('a bare command on PATH that is not executable names the file', { skip: process.platform === 'win32' }, async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'infill-ls');
  writeFileSync(script, '#!/bin/sh\n');
  chmodSync(script, 0o644);
  const launch = { command: 'infill-ls', args: [] };
  const message = await withPath([dir], async () => startFailureMessage(launch, await spawnFailure('infill-ls')));
  assert.match(message, /not executable \(EACCES\)/);
  assert.ok(message.includes(script), message);
  // EACCES is also what a PATH directory that cannot be searched leaves when no entry has the command.
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const nowhere = await withPath([empty], async () => startFailureMessage(launch, 'spawn infill-ls EACCES'));
  assert.match(nowhere, /not found: "infill-ls --stdio" could not be run \(no infill-ls on PATH\)/);
});

test('a bare command is looked up in each PATH entry, with PATHEXT on Windows', (t) => {
  const dir = tempDir(t);
  const [a, b] = [join(dir, 'a'), join(dir, 'b')];
  mkdirSync(a);
  mkdirSync(b);
  writeFileSync(join(a, 'infill-ls'), '');
  writeFileSync(join(a, 'infill-ls.txt'), '');
  writeFileSync(join(b, 'infill-ls.CMD'), '');
  const env = { PATH: `${a};;${b}`, PATHEXT: '.EXE;.CMD' };
  assert.deepEqual(findOnPath('infill-ls', env, 'win32'), [join(b, 'infill-ls.CMD')]);
  // A name with an extension is tried as it is, then with each of PATHEXT's.
  assert.deepEqual(findOnPath('infill-ls.txt', env, 'win32'), [join(a, 'infill-ls.txt')]);
  if (process.platform !== 'win32') {
    // Elsewhere the name as it is, in each entry of a ':'-separated PATH (a drive letter would split it).
    assert.deepEqual(findOnPath('infill-ls', { PATH: `${b}:${a}` }, 'linux'), [join(a, 'infill-ls')]);
  }
  assert.deepEqual(findOnPath('infill-ls', {}, process.platform), []);
});

test('not-running message points at the restart command', () => {
  assert.match(notRunningMessage('Rewrite Selection', undefined), /Restart Language Server/);
  assert.match(notRunningMessage('Rewrite Selection', 'x'), /failed to start/);
});
