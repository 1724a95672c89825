#!/usr/bin/env bash
# Builds and packs the VS Code extension from its lockfile, then checks the package holds the
# compiled entry point and the language client it loads at run time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ext="$root/editors/vscode"
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

cd "$ext"
echo "editors: node $(node --version), npm $(npm --version 2>/dev/null)"
npm ci --no-audit --no-fund
npm run compile
npm test
# stdin is closed so a missing-field question can never wait for an answer.
npx --no-install @vscode/vsce package --allow-missing-repository --out "$out_dir/infill-ls.vsix" </dev/null

listing="$(python3 -m zipfile -l "$out_dir/infill-ls.vsix")"
for required in extension/package.json extension/out/extension.js \
    extension/node_modules/vscode-languageclient/lib/node/main.js; do
  if ! grep -q "^$required " <<<"$listing"; then
    echo "editors: $required is missing from the packed extension" >&2
    exit 1
  fi
done
echo "editors: packed $(du -h "$out_dir/infill-ls.vsix" | cut -f1) extension with $(grep -c '^extension/' <<<"$listing") files"
