#!/usr/bin/env bash
# `npm run demo`: stack up if needed, build if needed, then the demo itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/stack.sh up
entry() { node -p "require('./scripts/entrypoints.json')['$1']"; }
{ [ -f "$(entry invalidator)" ] && [ -f "$(entry example-shop)" ]; } || npm run -s build
KAFKAJS_NO_PARTITIONER_WARNING=1 node scripts/demo.js
