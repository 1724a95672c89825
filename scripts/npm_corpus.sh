#!/usr/bin/env bash
# Installs npm packages whose JavaScript and TypeScript join the corpus (`infill-engine corpus --node-modules`):
# widely used libraries and their dependencies, from the npm registry, with no install scripts run. Each package is
# kept or left out by the licence its own package.json gives, as the corpus does for Python distributions.
#
#   bash scripts/npm_corpus.sh [DIR]    # default data/npm; then: infill-engine corpus --node-modules DIR/node_modules
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-data/npm}
packages=(
    zod preact lodash-es date-fns axios express chalk commander yargs uuid immer redux @reduxjs/toolkit rxjs fp-ts
    io-ts hono koa fastify ajv prettier typescript-eslint esbuild-wasm vue svelte marked dayjs luxon mobx
    zustand jotai valtio superstruct yup joi socket.io ws undici got ky nanoid ramda underscore d3 three chart.js
    # These ship their TypeScript sources (most packages publish compiled JavaScript and declarations alone), so
    # that TypeScript is trained on and held out too.
    @tanstack/query-core @tanstack/react-query @tanstack/router-core @tanstack/store @tanstack/form-core
    @tanstack/virtual-core @trpc/server @preact/signals-core msw
)
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "infill-corpus", "private": true}' > "$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --no-save "${packages[@]}"
echo "npm_corpus: installed in $dir/node_modules; next: infill-engine corpus --node-modules $dir/node_modules"
