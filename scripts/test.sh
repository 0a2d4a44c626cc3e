#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, then runs the whole test suite: format check,
# lint, typecheck, and vitest (unit tests, the server in process and as a process, and the
# end-to-end stack lifecycle through the real Pulumi engine). Extra arguments go to vitest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bash "$AIRLOCK_ROOT/scripts/bootstrap.sh"
airlock_env
cd "$AIRLOCK_ROOT"

status=0
npm test -- "$@" || status=$?
# One plain closing line with the counts, from the JUnit report vitest writes.
if [ -f test-results/junit.xml ]; then
  node scripts/lib/junit-summary.mjs test-results/junit.xml || true
fi
exit "$status"
