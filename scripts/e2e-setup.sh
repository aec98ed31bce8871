#!/usr/bin/env bash
# Preconditions of the end-to-end tests, made by the project itself: engine, buildx, QEMU,
# local registry (engine-up.sh), the base images (real ones when Microsoft's registry
# answers, labelled stand-ins otherwise), and an authenticated NuGet feed (nuget-feed.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine-up.sh
bash scripts/base-images.sh
bash scripts/nuget-feed.sh up
