#!/usr/bin/env bash
# Benchmark preconditions beyond the e2e ones:
# - the blog recipe's plain SDK image. When Microsoft's registry is unreachable, a stand-in
#   is derived from the -aot stand-in with clang, llvm and zlib1g-dev removed (so the recipe's
#   own apt step does the work it does on the real image), labelled as a stand-in;
# - the host cross toolchain for the "floor" (dotnet publish on the host): clang, llvm,
#   zlib1g-dev, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, the packages the container
#   builds use.
set -euo pipefail
cd "$(dirname "$0")/.."
plain=mcr.microsoft.com/dotnet/sdk:10.0
aot=mcr.microsoft.com/dotnet/sdk:10.0-noble-aot
if timeout 20 docker buildx imagetools inspect "$plain" >/dev/null 2>&1; then
  echo "==> $plain: Microsoft's registry answers; pulling the real image"
  docker pull -q "$plain"
elif docker image inspect "$plain" >/dev/null 2>&1 && \
     [ "$(docker image inspect -f '{{index .Config.Labels "aot-buildx.stand-in.from"}}' "$plain")" = "$(docker image inspect -f '{{.Id}}' "$aot")" ]; then
  echo "==> $plain: stand-in reused"
else
  echo "==> $plain: building a stand-in from $aot without clang/llvm/zlib1g-dev"
  printf 'FROM %s\nRUN apt-get purge -y -qq clang llvm zlib1g-dev && apt-get autoremove -y -qq && rm -rf /var/lib/apt/lists/*\n' "$aot" |
    docker buildx build --load --tag "$plain" \
      --label "org.opencontainers.image.description=STAND-IN for $plain (derived from the $aot stand-in, clang/llvm removed); not Microsoft's image" \
      --label "aot-buildx.stand-in=true" \
      --label "aot-buildx.stand-in.from=$(docker image inspect -f '{{.Id}}' "$aot")" -
fi
need=()
for p in clang llvm zlib1g-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "==> host toolchain for the floor: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
