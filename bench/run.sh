#!/usr/bin/env bash
# npm run bench: engine + base images (as the e2e), benchmark preconditions, then the
# side-by-side benchmarks: the sample (bench.mjs) and the monorepo fixture (monorepo.mjs).
# BENCH_SUITES=sample or BENCH_SUITES=monorepo runs one of them. Not part of .ci/run (about an
# hour on 2 cores with the default repetitions).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/engine-up.sh
bash scripts/base-images.sh
bash bench/setup.sh
rm -rf bench/out/lib && npx tsc -p tsconfig.json --outDir bench/out/lib
suites=${BENCH_SUITES:-sample,monorepo}
case ",$suites," in *,sample,*) node bench/bench.mjs ;; esac
case ",$suites," in *,monorepo,*) node bench/monorepo.mjs ;; esac
