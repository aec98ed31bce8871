#!/usr/bin/env bash
# The e2e suite of builders beyond the docker driver (e2e/beyond/buildkitd.e2e.test.ts), outside
# CI's suite list: a standalone buildkitd as a buildx remote builder, and the docker-container
# builder the action creates from a BuildKit image.
#   AOT_BUILDKITD=/path/to/buildkitd AOT_BUILDKIT_IMAGE=<image> bash scripts/e2e-buildkitd.sh
# AOT_BUILDKITD: a buildkitd binary (run as root on this host, OCI worker, runc on PATH).
# AOT_BUILDKIT_IMAGE: an image whose entrypoint is buildkitd, e.g. moby/buildkit:v0.32.2 where
# Docker Hub answers. README, "Builders beyond the docker driver", says how to build both from
# BuildKit's public source where it does not.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AOT_BUILDKITD:?AOT_BUILDKITD must name a buildkitd binary}"
: "${AOT_BUILDKIT_IMAGE:?AOT_BUILDKIT_IMAGE must name a BuildKit image}"
[ -x "$AOT_BUILDKITD" ] || { echo "AOT_BUILDKITD=$AOT_BUILDKITD is not an executable file" >&2; exit 1; }
command -v runc >/dev/null || { echo "runc is not on PATH: buildkitd's OCI worker runs it" >&2; exit 1; }
bash scripts/e2e-setup.sh
NODE_OPTIONS=--experimental-vm-modules npx jest --config jest.e2e.config.js --testPathIgnorePatterns=/node_modules/ --runTestsByPath e2e/beyond/buildkitd.e2e.test.ts "$@"
