#!/usr/bin/env bash
# Times kept variants of the Dockerfile against the one the action generates now, on the
# webapiaot sample for linux/amd64 + linux/arm64, in one run: cold (builder and its cache
# mounts pruned), after a one-line .cs change, and with nothing changed. This is how the
# shape of the generated Dockerfile was chosen (see bench/variants/README.md).
# Usage: bash bench/variants/run.sh [REPS] [VARIANT...]   (run `npm run bench` once first, or
# scripts/engine-up.sh + scripts/base-images.sh; a variant is a *.Dockerfile name here, or
# "generated").
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-1}
shift || true
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(generated previous stage-per-target one-step-sequential)
out=bench/out/variants
rm -rf "$out" && mkdir -p "$out/ws"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run -s bundle >/dev/null

# The generated Dockerfile, written by the action itself (build: false builds nothing).
cp -r samples/TodoApi "$out/ws/TodoApi" && rm -rf "$out/ws/TodoApi/bin" "$out/ws/TodoApi/obj" "$out/ws/TodoApi/Dockerfile.aot"
tmp=$(mktemp -d) && touch "$tmp/o" "$tmp/s"
env -i PATH="$PATH" HOME="$HOME" GITHUB_WORKSPACE="$PWD/$out/ws" RUNNER_TEMP="$tmp" GITHUB_OUTPUT="$tmp/o" GITHUB_STATE="$tmp/s" \
  INPUT_PROJECT=TodoApi INPUT_CONTEXT=TodoApi INPUT_PLATFORMS=linux/amd64,linux/arm64 INPUT_BUILD=false INPUT_SUMMARY=false \
  node dist/index.js >/dev/null
cp "$out/ws/TodoApi/Dockerfile.aot" "$out/generated.Dockerfile"
rm -rf "$tmp"

file_of() { if [ "$1" = generated ]; then echo "$out/generated.Dockerfile"; else echo "bench/variants/$1.Dockerfile"; fi; }
build() { # variant scenario rep
  local log="$out/$1-$2-$3.json" s e
  s=$(date +%s%N)
  docker buildx build -f "$(file_of "$1")" --platform linux/amd64,linux/arm64 --progress rawjson \
    --output "type=oci,tar=false,dest=$out/oci" "$out/ctx" 2>"$log" || { echo "$1 $2 failed: see $log" >&2; exit 1; }
  e=$(date +%s%N)
  awk -v a="$s" -v b="$e" -v v="$1" -v sc="$2" -v r="$3" 'BEGIN { printf "%s\t%s\t%s\t%.1f\n", v, sc, r, (b - a) / 1e9 }' | tee -a "$out/results.tsv"
}

printf 'variant\tscenario\trep\tseconds\n' >"$out/results.tsv"
for rep in $(seq 1 "$reps"); do
  for v in "${variants[@]}"; do
    rm -rf "$out/ctx" && cp -r "$out/ws/TodoApi" "$out/ctx" && rm -f "$out/ctx/Dockerfile.aot"
    docker buildx prune -af >/dev/null
    build "$v" cold "$rep"
    sed -i "s/new(1, \"[^\"]*\")/new(1, \"Walk the dog $rep$RANDOM\")/" "$out/ctx/Program.cs"
    build "$v" change "$rep"
    build "$v" noop "$rep"
  done
done
echo "Per-step timelines: node bench/variants/steps.mjs $out/<variant>-<scenario>-<rep>.json"
