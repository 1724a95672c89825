import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseModelStatus, statusView } from '../status';

test('the notification is read only in the shape the server sends', () => {
  assert.deepEqual(parseModelStatus({ kind: 'ready', message: 'model (5.0M params)' }), {
    kind: 'ready',
    message: 'model (5.0M params)',
  });
  assert.deepEqual(parseModelStatus({ kind: 'warning', message: 'cannot load model' }), {
    kind: 'warning',
    message: 'cannot load model',
  });
  for (const bad of [null, 'ready', { kind: 'done', message: 'x' }, { kind: 'ready' }, { kind: 1, message: 'x' }]) {
    assert.equal(parseModelStatus(bad), undefined);
  }
});

test('the item follows the server, then its model, then the pause', () => {
  assert.match(statusView('starting', undefined, false).text, /loading~spin/);
  // A server that says nothing of its model is shown running, not starting for ever.
  const silent = statusView('running', undefined, false);
  assert.equal(silent.text, '$(sparkle) Infill');
  assert.match(silent.tooltip, /the server is running; suggestions while typing/);
  const loading = statusView('running', { kind: 'loading', message: 'loading /models/big' }, false);
  assert.match(loading.text, /loading~spin/);
  assert.match(loading.tooltip, /loading \/models\/big/);
  const ready = statusView('running', { kind: 'ready', message: 'default_model (5.0M params)' }, false);
  assert.equal(ready.text, '$(sparkle) Infill');
  assert.match(ready.tooltip, /default_model \(5\.0M params\); suggestions while typing/);
  assert.equal(ready.error, false);
  const paused = statusView('running', { kind: 'ready', message: 'm' }, true);
  assert.equal(paused.text, '$(circle-slash) Infill');
  assert.match(paused.tooltip, /paused/);
});

test('no model or no server is an error the item shows, with the reason', () => {
  const noModel = statusView('running', { kind: 'error', message: 'cannot load model from /x: missing config.json' }, false);
  assert.equal(noModel.error, true);
  assert.match(noModel.tooltip, /cannot load model from \/x/);
  const failed = statusView('failed', undefined, false, 'Infill: the language server was not found');
  assert.equal(failed.error, true);
  assert.match(failed.tooltip, /was not found/);
  assert.equal(statusView('stopped', { kind: 'ready', message: 'm' }, false).error, false);
});

test('a model kept after a failed load is a warning with the reason, and suggestions go on', () => {
  const message = 'cannot load model: /x: not a checkpoint directory; keeping the model loaded from /m';
  const kept = statusView('running', { kind: 'warning', message }, false);
  assert.equal(kept.text, '$(warning) Infill');
  assert.equal(kept.error, false);
  assert.ok(kept.tooltip.includes(message), kept.tooltip);
  assert.match(kept.tooltip, /suggestions while typing/);
  // Paused, it says so too.
  const paused = statusView('running', { kind: 'warning', message }, true);
  assert.match(paused.text, /^\$\(warning\) .*circle-slash/);
  assert.match(paused.tooltip, /keeping the model loaded from \/m; automatic suggestions paused/);
});
