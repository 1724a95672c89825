import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandLine, notRunningMessage, startFailureMessage } from '../startFailure';

test('command line as run, with --stdio and quoting', () => {
  assert.equal(commandLine({ command: 'infill-ls', args: [] }), 'infill-ls --stdio');
  assert.equal(
    commandLine({ command: '/opt/my tools/infill-ls', args: ['--device', 'cpu'] }),
    '"/opt/my tools/infill-ls" --device cpu --stdio',
  );
});

test('missing executable: names the command and the setting', () => {
  // What vscode-languageclient 10 rejects start() with when spawn fails.
  const error = 'Launching server using command infill-ls failed. Error: spawn infill-ls ENOENT';
  const message = startFailureMessage({ command: 'infill-ls', args: ['--threads', '2'] }, error);
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

test('not-running message points at the restart command', () => {
  assert.match(notRunningMessage('Rewrite Selection', undefined), /Restart Language Server/);
  assert.match(notRunningMessage('Rewrite Selection', 'x'), /failed to start/);
});
