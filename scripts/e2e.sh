#!/usr/bin/env bash
# End-to-end tests only (npm run e2e): set up the engine, then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/e2e-setup.sh
NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.e2e.config.js "$@"
