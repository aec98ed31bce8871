#!/usr/bin/env bash
# npm run bench: engine + base images (as the e2e), benchmark preconditions, then the
# side-by-side benchmark. Not part of .ci/run (it takes about an hour on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/engine-up.sh
bash scripts/base-images.sh
bash bench/setup.sh
rm -rf bench/out/lib && npx tsc -p tsconfig.json --outDir bench/out/lib
node bench/bench.mjs
