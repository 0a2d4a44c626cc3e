#!/usr/bin/env bash
# Runs the project's Pulumi CLI in the project's environment: pinned Node.js, the local file
# backend, no plugin downloads. For the `local` stack it supplies the public laptop passphrase
# unless you set PULUMI_CONFIG_PASSPHRASE(_FILE). Before a command that runs the program (up,
# preview, refresh, destroy, …) it installs the provider plugins the stack's target needs, built
# the first time a stack needs them (scripts/pulumi/ensure-plugins.sh).
# Usage: scripts/pulumi.sh <pulumi args…>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
[ -x "$AIRLOCK_PULUMI_BIN/pulumi" ] || die "run scripts/bootstrap.sh first (or scripts/up.sh)"
airlock_env
cd "$AIRLOCK_ROOT"

stack=""
command=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -s | --stack) stack=${args[i + 1]:-} && i=$((i + 1)) ;;
    --stack=*) stack=${args[i]#--stack=} ;;
    -*) ;;
    *) [ -n "$command" ] || command=${args[i]} ;;
  esac
done
[ -n "$stack" ] || stack=$(pulumi stack --show-name 2>/dev/null || true)
[ "$stack" != "local" ] || airlock_local_passphrase

case "$command" in
  up | update | preview | pre | refresh | destroy | down | import | watch)
    [ -z "$stack" ] || bash scripts/pulumi/ensure-plugins.sh --stack "$stack"
    ;;
esac

exec pulumi "$@"
