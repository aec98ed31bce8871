#!/usr/bin/env bash
# npm run bench: engine + base images (as the e2e), benchmark preconditions, then the
# side-by-side benchmarks: the sample (bench.mjs), the monorepo fixture (monorepo.mjs), and
# fresh runners through the Actions cache service stand-in (fresh-runner.mjs).
# BENCH_SUITES=sample, monorepo or fresh (or a comma list) runs those. Not part of .ci/run (about an
# hour on 2 cores with the default repetitions).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/engine-up.sh
bash scripts/base-images.sh
bash bench/setup.sh
bash scripts/cache-service.sh up
rm -rf bench/out/lib && npx tsc -p tsconfig.json --outDir bench/out/lib
suites=${BENCH_SUITES:-sample,monorepo,fresh}
case ",$suites," in *,sample,*) node bench/bench.mjs ;; esac
case ",$suites," in *,monorepo,*) node bench/monorepo.mjs ;; esac
case ",$suites," in *,fresh,*) node bench/fresh-runner.mjs ;; esac
