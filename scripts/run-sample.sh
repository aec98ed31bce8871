#!/usr/bin/env bash
# The main job: the bundled action run exactly as a GitHub runner runs it (node dist/index.js
# with INPUT_* and the runner's files) on the sample web app, pushing linux/amd64 +
# linux/arm64 to the local registry, then the job summary printed to the terminal.
# Usage: bash scripts/run-sample.sh [samples/HelloAot]
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:-samples/TodoApi}
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/engine-up.sh
bash scripts/base-images.sh
registry=${AOT_REGISTRY_ADDR:-127.0.0.1:5000}
name=$(basename "$project" | tr '[:upper:]' '[:lower:]')
runner_temp=$(mktemp -d "${TMPDIR:-/tmp}/aot-sample.XXXXXX")
for f in output summary state env path; do : >"$runner_temp/$f"; done
export GITHUB_WORKSPACE=$PWD RUNNER_TEMP=$runner_temp GITHUB_ACTIONS=true \
  GITHUB_OUTPUT=$runner_temp/output GITHUB_STEP_SUMMARY=$runner_temp/summary \
  GITHUB_STATE=$runner_temp/state GITHUB_ENV=$runner_temp/env GITHUB_PATH=$runner_temp/path
export INPUT_PROJECT=$project INPUT_CONTEXT=$project INPUT_PUSH=true \
  INPUT_TAGS="$registry/samples/$name:latest"
status=0
node dist/index.js || status=$?
echo
echo "================ job summary ================"
cat "$runner_temp/summary"
echo "================ outputs ===================="
grep -v '^ghadelimiter' "$runner_temp/output" | sed -n '/^sizes<</,+1p;/^digest<</,+1p;/^dockerfile<</,+1p'
exit "$status"
