#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, then runs the whole test suite: format check,
# lint, typecheck, and vitest (unit tests, the server in process and as a process, and the
# end-to-end stack lifecycle through the real Pulumi engine). Extra arguments go to vitest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# Every provider plugin, not only the local stack's: the end-to-end tests render the Kubernetes
# stack and build the pull-secret component through the Kubernetes provider.
bash "$AIRLOCK_ROOT/scripts/bootstrap.sh"
airlock_env

# Real clients the tests drive: skopeo and podman from Debian's packages, crane, oras and regctl
# built from their Go modules (cached once per machine). The upstream adapter tests also run CNCF
# Distribution (docker-registry) with an htpasswd file (htpasswd, from apache2-utils); the
# portal's tests, Chromium.
missing=()
for tool in skopeo podman; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
# The portal's browser tests drive Debian's Chromium through playwright-core (never a downloaded browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "the tests need ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})"
  fi
fi
bash "$AIRLOCK_ROOT/scripts/tools/go-tools.sh"

# The PostgreSQL metadata store's tests create scratch databases on the server at 127.0.0.1:5432
# (trust authentication, user postgres), which this machine type runs; AIRLOCK_TEST_POSTGRES_URL
# names another. A local cluster that is installed but stopped is started.
if [ -z "${AIRLOCK_TEST_POSTGRES_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 1
    done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 ||
    die "the tests need PostgreSQL on 127.0.0.1:5432 (trust authentication, user postgres), or AIRLOCK_TEST_POSTGRES_URL"
fi
cd "$AIRLOCK_ROOT"

status=0
rm -f test-results/junit.xml
npm test -- "$@" || status=$?
# One plain closing line with the counts, from the JUnit report vitest writes.
if [ -f test-results/junit.xml ]; then
  node scripts/lib/junit-summary.mjs test-results/junit.xml || true
fi
exit "$status"
