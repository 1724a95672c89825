import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { EditorTarget, SERVER_COMMANDS, isServerArguments, resolveCommandArguments, serverCommand } from '../commandArgs';

const range = { start: { line: 1, character: 4 }, end: { line: 2, character: 0 } };
const target: EditorTarget = { uri: 'file:///w/a.py', range, version: 7, selectionEmpty: false };
const cursor: EditorTarget = { ...target, range: { start: range.start, end: range.start }, selectionEmpty: true };
// A vscode.Uri as the editor context menu passes it (what reaches the middleware).
const uriObject = { scheme: 'file', path: '/w/a.py', fsPath: '/w/a.py', toString: () => 'file:///w/a.py' };

test('server form is recognised', () => {
  assert.ok(isServerArguments(['file:///w/a.py', range, 3]));
  assert.ok(isServerArguments(['file:///w/a.py', range, null]));
  assert.ok(isServerArguments(['file:///w/a.py', range]));
  assert.ok(!isServerArguments([]));
  assert.ok(!isServerArguments([uriObject]));
  assert.ok(!isServerArguments([uriObject, range, 3]));
  assert.ok(!isServerArguments(['file:///w/a.py', { start: { line: 0 } }, 3]));
  assert.ok(!isServerArguments(['file:///w/a.py', range, 'v3']));
  assert.ok(!isServerArguments(['file:///w/a.py', range, 3, 'extra']));
  // A code action's own: the document's opening it was offered in, after the three.
  assert.ok(isServerArguments(['file:///w/a.py', range, 3, 2]));
  assert.ok(!isServerArguments(['file:///w/a.py', range, 3, 2, 1]));
});

test('context menu: a Uri argument is replaced by the editor selection', () => {
  assert.deepEqual(resolveCommandArguments('infill.rewriteSelection', [uriObject], target), {
    args: ['file:///w/a.py', range, 7],
  });
  assert.deepEqual(resolveCommandArguments('infill.editor.rewriteSelection', [uriObject], target), {
    args: ['file:///w/a.py', range, 7],
  });
});

test('palette: no arguments are filled in, for all three commands', () => {
  for (const command of SERVER_COMMANDS) {
    for (const id of [command.server, command.editor]) {
      assert.deepEqual(resolveCommandArguments(id, [], target), { args: ['file:///w/a.py', range, 7] }, id);
    }
  }
});

test('code action arguments pass through; a missing version becomes null', () => {
  const args = ['file:///w/b.py', range, 2];
  assert.deepEqual(resolveCommandArguments('infill.fillPlaceholders', args, target), { args });
  assert.deepEqual(resolveCommandArguments('infill.closeStructure', ['file:///w/b.py', range], undefined), {
    args: ['file:///w/b.py', range, null],
  });
  // With the opening: kept whole, so that the server can refuse an action offered before the document was reopened
  // (rebuilt from the editor's selection, it would run on whatever text is open now).
  const offered = ['file:///w/b.py', range, 1, 3];
  assert.deepEqual(resolveCommandArguments('infill.closeStructure', offered, target), { args: offered });
});

test('rewrite needs a selection; the others work at the cursor', () => {
  const rewrite = resolveCommandArguments('infill.rewriteSelection', [], cursor);
  assert.ok('message' in rewrite && /select/.test(rewrite.message));
  assert.deepEqual(resolveCommandArguments('infill.closeStructure', [], cursor), {
    args: ['file:///w/a.py', cursor.range, 7],
  });
});

test('no editor gives a message, not a request', () => {
  const resolved = resolveCommandArguments('infill.fillPlaceholders', [uriObject], undefined);
  assert.ok('message' in resolved && /open one in an editor/.test(resolved.message));
});

test('other commands keep their arguments', () => {
  assert.deepEqual(resolveCommandArguments('infill.stats', [], undefined), { args: [] });
  assert.deepEqual(resolveCommandArguments('other.command', [uriObject], target), { args: [uriObject] });
  assert.equal(serverCommand('infill.stats'), undefined);
});
