#!/usr/bin/env bash
# Preconditions of the end-to-end tests, made by the project itself: engine, buildx, QEMU,
# local registry (engine-up.sh), the base images (real ones when Microsoft's registry
# answers, labelled stand-ins otherwise), an authenticated NuGet feed (nuget-feed.sh), and a stand-in for GitHub's Actions cache
# service v2 with Azurite as its blob storage (cache-service.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine-up.sh
bash scripts/base-images.sh
bash scripts/nuget-feed.sh up
bash scripts/cache-service.sh up
