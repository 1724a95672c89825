import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { StderrTail, commandLine, findOnPath, notRunningMessage, startFailureMessage, stoppedMessage } from '../startFailure';

test('command line as run, with --stdio and quoting', () => {
  assert.equal(commandLine({ command: 'infill-ls', args: [] }), 'infill-ls --stdio');
  assert.equal(
    commandLine({ command: '/opt/my tools/infill-ls', args: ['--device', 'cpu'] }),
    "'/opt/my tools/infill-ls' --device cpu --stdio",
  );
  // Single quotes, so that the message's own double quotes around it do not nest; double for a part that has one.
  assert.equal(commandLine({ command: "it's", args: [''] }), `"it's" '' --stdio`);
  assert.equal(
    startFailureMessage({ command: '/opt/my tools/infill-ls', args: [] }, 'x').includes(`"'/opt/my tools/infill-ls' --stdio"`),
    true,
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
  const stale = startFailureMessage({ command: '/venv/bin/infill-ls', args: [] }, 'spawn /venv/bin/infill-ls ENOENT', undefined, () => true);
  assert.match(stale, /exists, but the interpreter its first line names does not/);
  assert.doesNotMatch(stale, /does not exist/);
  const gone = startFailureMessage({ command: '/venv/bin/infill-ls', args: [] }, 'spawn /venv/bin/infill-ls ENOENT', undefined, () => false);
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

test('a server that exits while starting: its last line on stderr is the reason shown', () => {
  const launch = { command: 'infill-ls', args: ['--bogus'] };
  const said = 'infill-ls: error: unrecognized arguments: --bogus';
  const exited = startFailureMessage(launch, 'the server exited while starting', said);
  assert.ok(exited.includes(`"infill-ls --bogus --stdio" failed (the server exited while starting)`), exited);
  assert.ok(exited.includes(`its last line on stderr: ${said}.`), exited);
  assert.match(exited, /infill\.server\.extraArgs/);
  // Where it exited before it read initialize, and a line that ends a sentence itself.
  const atOnce = startFailureMessage(launch, new Error('Cannot call write after a stream was destroyed'), 'RuntimeError: no.');
  assert.match(atOnce, /exited as soon as it started; its last line on stderr: RuntimeError: no\. [A-Z]/);
  // Nothing on stderr: as before.
  assert.doesNotMatch(startFailureMessage(launch, 'the server exited while starting'), /stderr/);
});

test('stderr is passed on line by line, and its last line that says something is kept', async () => {
  // A Python traceback, coloured, then blank lines and no final newline: what an import error leaves.
  const script = [
    "process.stderr.write('Traceback (most recent call last):\\n');",
    "process.stderr.write('  File \"/venv/bin/infill-ls\", line 5, in <module>\\n');",
    "process.stderr.write('\\x1b[31mModuleNotFoundError\\x1b[0m: No module named \\'torch\\'\\tx\\n\\n   ');",
    'process.exit(1);',
  ].join('');
  const child = spawn(process.execPath, ['-e', script]);
  const tail = new StderrTail();
  const logged: string[] = [];
  tail.follow(child.stderr, (line) => logged.push(line));
  assert.equal(await tail.lastLine(10_000), "ModuleNotFoundError: No module named 'torch' x");
  assert.equal(logged.length, 5);
  assert.equal(logged[0], 'Traceback (most recent call last):');
  // A process that wrote nothing; and no process at all (the spawn failed), which is not waited for.
  const quiet = spawn(process.execPath, ['-e', 'process.exit(2)']);
  tail.follow(quiet.stderr, () => undefined);
  assert.equal(await tail.lastLine(10_000), undefined);
  const started = Date.now();
  assert.equal(await new StderrTail().lastLine(10_000), undefined);
  assert.ok(Date.now() - started < 1_000);
});

test('a long line is cut short for the message, and passed on whole', async () => {
  const input = new PassThrough();
  const tail = new StderrTail();
  const logged: string[] = [];
  tail.follow(input, (line) => logged.push(line));
  input.end(`${'x'.repeat(1000)}\n`);
  const last = await tail.lastLine(10_000);
  assert.equal(last?.length, 300);
  assert.ok(last?.endsWith('x…'), last);
  assert.deepEqual(logged, ['x'.repeat(1000)]);
});

test('a stderr that stays open is waited for only so long', async (t) => {
  const child = spawn(process.execPath, ['-e', "process.stderr.write('still running\\n'); setInterval(() => {}, 1000);"]);
  t.after(() => child.kill());
  const tail = new StderrTail();
  await new Promise<void>((resolve) => tail.follow(child.stderr, () => resolve()));
  const started = Date.now();
  assert.equal(await tail.lastLine(100), 'still running');
  assert.ok(Date.now() - started < 5_000);
});

test('a command line in infill.server.command: the hint is infill.server.extraArgs', { skip: process.platform === 'win32' }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'python3'), '#!/bin/sh\n', { mode: 0o755 });
  const launch = { command: 'python3 -m infill_ls', args: ['--device', 'cpu'] };
  const message = await withPath([dir], async () => startFailureMessage(launch, await spawnFailure(launch.command)));
  assert.ok(message.includes(`"'python3 -m infill_ls' --device cpu --stdio"`), message);
  assert.doesNotMatch(message, /""/);
  assert.ok(
    message.includes('infill.server.command "python3" and infill.server.extraArgs ["-m","infill_ls","--device","cpu"]'),
    message,
  );
  // A path with spaces that does not exist: its first word is no executable either, so no split is offered.
  const path = { command: join(dir, 'my tools', 'infill-ls'), args: [] };
  const missing = startFailureMessage(path, await spawnFailure(path.command));
  assert.ok(missing.includes(`${path.command} does not exist`), missing);
  assert.match(missing, /put its arguments in infill\.server\.extraArgs/);
  assert.doesNotMatch(missing, /infill\.server\.command "/);
  // One without spaces is not told about arguments.
  const plain = await withPath([dir], async () => startFailureMessage({ command: 'infill-ls', args: [] }, await spawnFailure('infill-ls')));
  assert.doesNotMatch(plain, /extraArgs/);
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

test('a server that kept crashing: the reason the library gives and its last line on stderr', () => {
  const message = stoppedMessage('The Infill server crashed 5 times in the last 3 minutes.', 'MemoryError');
  assert.match(message, /not restarted \(The Infill server crashed 5 times/);
  assert.match(message, /its last line on stderr: MemoryError; run Infill: Restart Language Server\.$/);
  assert.equal(stoppedMessage(undefined, undefined), 'Infill: the server stopped and is not restarted; run Infill: Restart Language Server.');
  // The connection kept failing on output that is not the protocol's: the reason quotes it, on one line.
  const junk = stoppedMessage("its connection kept failing: Message header must separate key and value using ':'\ndebug output 2", undefined);
  assert.equal(junk, "Infill: the server stopped and is not restarted (its connection kept failing: Message header must separate key and value using ':' debug output 2); run Infill: Restart Language Server.");
});
