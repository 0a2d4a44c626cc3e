#!/usr/bin/env bash
# Builds what the npm package ships, from this checkout's sources:
#   dist/components/           the components as CommonJS, .d.ts and source maps (tsconfig.build.json)
#   registry-server/dist/      the server as ES modules and source maps (registry-server/tsconfig.build.json)
#   registry-server/portal/dist/  the web portal's bundle (registry-server/src/portal/portal-build.ts)
# The set-up (scripts/bootstrap.sh) runs it at every call: it compiles only when a source or a
# compiler setting changed since the last build (a hash of them kept in dist/), and then
# incrementally. `npm pack` runs it with --clean (package.json's prepack), so a module deleted from
# the sources never ships as a stale compiled file.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$AIRLOCK_ROOT"
airlock_env

case "${1:-}" in
  "") ;;
  --clean) rm -rf dist registry-server/dist ;;
  *) die "usage: build-package.sh [--clean]" ;;
esac

# What the compiled output depends on: the sources, the compiler settings and the locked compiler.
inputs_sha256() {
  {
    find components registry-server/src -type f -name '*.ts' -print0 | sort -z | xargs -0 sha256sum
    sha256sum tsconfig.json tsconfig.build.json registry-server/tsconfig.json registry-server/tsconfig.build.json package-lock.json
  } | sha256sum | cut -d' ' -f1
}

stamp=dist/.inputs-sha256
want=$(inputs_sha256)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -f dist/components/index.js ] && [ -f registry-server/dist/main.js ]; then
  log "components and server already compiled (dist/, registry-server/dist/)"
else
  started=$(date +%s%N)
  tsc -p tsconfig.build.json
  tsc -p registry-server/tsconfig.build.json
  printf '%s\n' "$want" >"$stamp"
  log "components and server compiled in $((($(date +%s%N) - started) / 1000000)) ms (dist/, registry-server/dist/)"
fi
# Its report to stderr with the rest: npm pack --json keeps stdout for its own.
node registry-server/src/portal/portal-build.ts >&2
