#!/usr/bin/env bash
# Real Helm without a helm binary: helm-java (Maven Central) on Java 17.
#   bash scripts/helm.sh lint helm/invalidator
#   bash scripts/helm.sh template helm/invalidator [values.yaml ...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
libs="${STACK_DIR:-$root/.stack}/helm/libs"

if ! ls "$libs"/helm-java-*.jar >/dev/null 2>&1; then
  echo "helm: fetching helm-java from Maven Central (once; ~/.m2 caches it)" >&2
  mvn -q -f "$root/scripts/helm/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" >&2
fi
exec java -cp "$libs/*" "$root/scripts/helm/HelmChart.java" "$@"
