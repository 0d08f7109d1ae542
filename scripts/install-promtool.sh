#!/usr/bin/env bash
# promtool, from Debian's prometheus package, for the suite's `promtool check` steps.
# Idempotent; stops a Prometheus server the package may have started (nothing else needs one).
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  echo "promtool: $(promtool --version 2>&1 | head -n 1)"
  exit 0
fi
echo "promtool: installing Debian's prometheus package"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
pkill -x prometheus 2>/dev/null || true
echo "promtool: $(promtool --version 2>&1 | head -n 1)"
