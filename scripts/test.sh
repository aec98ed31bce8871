#!/usr/bin/env bash
# The test command: every suite, on a bare machine too. Installs what it needs (npm
# packages, the Docker engine, buildx, QEMU, a local registry, base images), runs the
# checks, unit tests and end-to-end tests, stops what it started, and ends with one line
# "N passed, N failed" totalling them all.
set -uo pipefail
cd "$(dirname "$0")/.."
out=.test-results
rm -rf "$out" && mkdir -p "$out"
passed=0
failed=0

check() { # check NAME COMMAND...: a pass/fail item of its own
  local name=$1; shift
  echo "==> $name"
  if "$@"; then passed=$((passed + 1)); echo "    ok: $name"
  else failed=$((failed + 1)); echo "    FAILED: $name"; fi
}

jest_counts() { # adds a jest --json result file to the totals; a missing file is a failure
  local f=$1
  if [ ! -s "$f" ]; then failed=$((failed + 1)); echo "    FAILED: $f not written (the runner crashed)"; return; fi
  read -r p fl < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites + r.numPendingTests + r.numTodoTests)' "$PWD/$f")
  if [ "$p" -eq 0 ]; then echo "    FAILED: $f ran no test"; fl=$((fl + 1)); fi
  passed=$((passed + p)); failed=$((failed + fl))
}

echo "==> npm ci"
npm ci --no-audit --no-fund --loglevel=error || { echo "0 passed, 1 failed"; exit 1; }

check "typecheck" npm run -s typecheck
check "lint" npm run -s lint
check "dist/ equals a fresh bundle of src/" bash -c 'npm run -s bundle >/dev/null && git diff --quiet --exit-code -- dist && [ -z "$(git status --porcelain -- dist)" ]'

# The unit tests lint the shell the generated Dockerfile runs.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "==> apt-get install shellcheck"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck) >/dev/null 2>&1 ||
    echo "    could not install shellcheck: its unit test will fail"
fi

# The ELF reader's unit tests read real binaries: an arm64 libc (the cross package's), with
# readelf and gcc beside them to check against.
if [ ! -f /usr/aarch64-linux-gnu/lib/libc.so.6 ] || ! command -v readelf >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then
  echo "==> apt-get install libc6-arm64-cross binutils gcc"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libc6-arm64-cross binutils gcc) >/dev/null 2>&1 ||
    echo "    could not install them: the ELF reader's unit tests will fail"
fi

echo "==> unit tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.config.js --json --outputFile="$out/unit.json" 2>&1 | tail -40
jest_counts "$out/unit.json"

echo "==> end-to-end tests (real engine, registry, QEMU, .NET SDK)"
if bash scripts/e2e-setup.sh; then
  NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.e2e.config.js --json --outputFile="$out/e2e.json" 2>&1 | tail -80
  jest_counts "$out/e2e.json"
else
  failed=$((failed + 1)); echo "    FAILED: e2e preconditions (engine, registry, base images) could not be set up"
fi
[ "${AOT_KEEP_ENGINE:-}" = 1 ] || { bash scripts/cache-service.sh down; bash scripts/nuget-feed.sh down; bash scripts/engine-down.sh; } || true

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
