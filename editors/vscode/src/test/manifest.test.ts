import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RESTRICTED_KEYS, SECTION, SERVED_SCHEMES } from '../settings';

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

test('Restricted Mode: the settings that run or load something are taken from the user only', () => {
  const untrusted = manifest.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, 'limited');
  assert.ok(untrusted.description.length > 0);
  const properties = manifest.contributes.configuration.properties as Record<string, { scope?: string }>;
  assert.deepEqual(untrusted.restrictedConfigurations, RESTRICTED_KEYS.map((key) => `${SECTION}.${key}`));
  for (const key of untrusted.restrictedConfigurations as string[]) {
    assert.ok(key in properties, key);
  }
  // A folder's settings can set only what is not machine-scoped: each such setting that names a program, its
  // arguments or files to load is restricted.
  const overridable = Object.entries(properties).filter(([, property]) => property.scope === 'machine-overridable');
  assert.deepEqual(overridable.map(([key]) => key).sort(), [...untrusted.restrictedConfigurations].sort());
});

test('virtual workspaces are declared unsupported: their documents are never sent to the server', () => {
  const virtual = manifest.capabilities.virtualWorkspaces;
  assert.equal(virtual.supported, false);
  assert.ok(!SERVED_SCHEMES.includes('vscode-vfs'));
});
