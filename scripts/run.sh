#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the hub on config/hub.yaml
# (embedded SQLite journal under ./var). Extra arguments go to `channelhub serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
exec ./build/channelhub serve --config config/hub.yaml "$@"
