import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientFacts, START_TIMEOUT_MS, endMessage, isUnplannedEnd, serverState, settleWithin } from '../lifecycle';
import { StartTimedOut, startFailureMessage } from '../startFailure';

const never = new Promise<void>(() => undefined);

test('a start that never ends is given up after the limit', async () => {
  const started = Date.now();
  assert.deepEqual(await settleWithin(never, 30, never), { outcome: 'timedOut' });
  assert.ok(Date.now() - started >= 25);
  // Long enough for a slow import of torch, short enough that a hung start is reported.
  assert.ok(START_TIMEOUT_MS >= 30_000 && START_TIMEOUT_MS <= 120_000);
});

test('a start that ends in time is told as it ended', async () => {
  assert.deepEqual(await settleWithin(Promise.resolve(), 1000, never), { outcome: 'settled', failed: false });
  const error = new Error('spawn infill-ls ENOENT');
  assert.deepEqual(await settleWithin(Promise.reject(error), 1000, never), { outcome: 'settled', failed: true, error });
});

test('a restart during a start stops the wait at once', async () => {
  let cancel: () => void = () => undefined;
  const cancelled = new Promise<void>((resolve) => {
    cancel = resolve;
  });
  const waiting = settleWithin(never, 60_000, cancelled);
  cancel();
  // The limit's timer is cleared too: this test would otherwise keep Node running for a minute.
  assert.deepEqual(await waiting, { outcome: 'cancelled' });
});

test('the status: a start given up on is neither starting nor running', () => {
  assert.equal(serverState(true, undefined, false, undefined), 'starting');
  assert.equal(serverState(false, 'starting', false, undefined), 'starting');
  assert.equal(serverState(false, 'running', false, undefined), 'running');
  // Its process was killed; the library may never hear of it (a wrapper's child keeps the pipe open).
  assert.equal(serverState(false, 'starting', true, 'Infill: did not answer'), 'failed');
  assert.equal(serverState(false, 'starting', true, undefined), 'stopped');
  assert.equal(serverState(false, 'startFailed', false, 'Infill: not found'), 'failed');
  assert.equal(serverState(false, undefined, false, undefined), 'stopped');
});

const facts = (more: Partial<ClientFacts> = {}): ClientFacts => ({
  current: true,
  ownStart: false,
  givenUp: false,
  restarting: false,
  reported: false,
  ...more,
});

test('ends reported: a failed restart after a crash, and the library giving up', () => {
  // The library's restart could not spawn the server (its virtual environment went away meanwhile).
  assert.equal(isUnplannedEnd('startFailed', facts({ restarting: true })), true);
  // It crashed too often, or its connection kept failing.
  assert.equal(isUnplannedEnd('stopped', facts()), true);
});

test('ends not reported: stops asked for, starts judged by the extension, restarts under way', () => {
  assert.equal(isUnplannedEnd('stopped', facts({ current: false })), false);
  assert.equal(isUnplannedEnd('startFailed', facts({ ownStart: true })), false);
  assert.equal(isUnplannedEnd('startFailed', facts({ givenUp: true })), false);
  assert.equal(isUnplannedEnd('startFailed', facts({ reported: true })), false);
  // The library's restart starts with the client stopped.
  assert.equal(isUnplannedEnd('stopped', facts({ restarting: true })), false);
  assert.equal(isUnplannedEnd('starting', facts()), false);
  assert.equal(isUnplannedEnd('running', facts()), false);
  assert.equal(isUnplannedEnd(undefined, facts()), false);
});

test('the message for such an end: a failed restart as a failed start, a given-up server with the reason', () => {
  const launch = { command: '/gone/venv/bin/infill-ls', args: [] };
  const error = 'Launching server using command /gone/venv/bin/infill-ls failed. Error: spawn /gone/venv/bin/infill-ls ENOENT';
  const failed = endMessage('startFailed', launch, { error });
  assert.equal(failed, startFailureMessage(launch, error));
  assert.match(failed, /\/gone\/venv\/bin\/infill-ls does not exist/);
  assert.match(failed, /infill\.server\.command/);
  const crashed = endMessage('stopped', launch, { gaveUp: 'The Infill server crashed 5 times in the last 3 minutes.', said: 'MemoryError' });
  assert.match(crashed, /^Infill: the server stopped and is not restarted \(The Infill server crashed 5 times/);
  assert.match(crashed, /its last line on stderr: MemoryError/);
  // Gave up while a restart was starting: the library's reason still.
  assert.match(endMessage('startFailed', launch, { gaveUp: 'crashed 5 times' }), /not restarted \(crashed 5 times\)/);
  assert.match(endMessage('startFailed', launch, { said: 'Traceback' }), /failed \(the server exited while starting\); its last line on stderr: Traceback/);
});

test('a start given up after the limit: the message names the command and what to do', () => {
  const message = startFailureMessage({ command: 'ssh', args: ['gpu-box', 'infill-ls'] }, new StartTimedOut(60_000), 'Password:');
  assert.match(message, /^Infill: the language server did not start: "ssh gpu-box infill-ls --stdio" did not answer within 60 s and was stopped/);
  assert.match(message, /its last line on stderr: Password:/);
  assert.match(message, /Set infill\.server\.command to the infill-ls executable/);
  assert.doesNotMatch(message, /\n/);
});
