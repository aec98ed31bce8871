#!/usr/bin/env bash
# The test command: every suite, on a bare machine too. Installs what it needs (npm
# packages, the Docker engine, buildx, QEMU, a local registry, base images), runs the
# checks, unit tests and end-to-end tests, stops what it started, and ends with one line
# "N passed, N failed" totalling them all.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
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

# What the unit tests need from the machine, installed here (a missing one fails its test,
# never skips it): shellcheck lints the shell the generated Dockerfile runs; the ELF reader
# reads an arm64 libc (the cross package's) with readelf and gcc beside it to check against;
# the health probe is compiled with clang for both arches, linked by each arch's GNU ld.
case "$(dpkg --print-architecture 2>/dev/null || uname -m)" in
  arm64 | aarch64) cross_ld=binutils-x86-64-linux-gnu ;;
  *) cross_ld=binutils-aarch64-linux-gnu ;;
esac
unit_pkgs=(shellcheck libc6-arm64-cross binutils gcc clang "$cross_ld")
missing=()
for p in "${unit_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") >/dev/null 2>&1 ||
    echo "    could not install them: the unit tests that need them will fail"
fi

# The engine, QEMU (the other arch's health probe runs under binfmt in the unit tests too),
# the registry, base images, the NuGet feed and the cache service stand-in.
echo "==> end-to-end preconditions (engine, registry, QEMU, base images, NuGet feed, cache service)"
e2e_ready=0
if bash scripts/e2e-setup.sh; then e2e_ready=1; fi

echo "==> unit tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.config.js --json --outputFile="$out/unit.json" 2>&1 | tail -40
jest_counts "$out/unit.json"

echo "==> end-to-end tests (real engine, registry, QEMU, .NET SDK)"
if [ "$e2e_ready" = 1 ]; then
  NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.e2e.config.js --json --outputFile="$out/e2e.json" 2>&1 | tail -80
  jest_counts "$out/e2e.json"
else
  failed=$((failed + 1)); echo "    FAILED: e2e preconditions (engine, registry, base images) could not be set up"
fi
[ "${AOT_KEEP_ENGINE:-}" = 1 ] || { bash scripts/cache-service.sh down; bash scripts/nuget-feed.sh down; bash scripts/engine-down.sh; } || true

node scripts/failures.mjs "$out/unit.json" "$out/e2e.json" || true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
