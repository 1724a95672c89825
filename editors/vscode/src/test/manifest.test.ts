import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SERVED_SCHEMES } from '../settings';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));

test('the editor commands are offered only in editors of documents the server is sent', () => {
  // Offered everywhere, Close Structure in settings.json got "... settings.json is not open" from the server.
  const served = `resourceScheme =~ /^(${SERVED_SCHEMES.join('|')})$/`;
  const entries = Object.values(manifest.contributes.menus).flat() as { command: string; when?: string }[];
  const editorCommands = entries.filter((entry) => entry.command.startsWith('infill.editor.'));
  assert.equal(editorCommands.length, 4);
  for (const entry of editorCommands) {
    assert.ok(entry.when?.endsWith(` && ${served}`), `${entry.command}: ${entry.when}`);
  }
});
