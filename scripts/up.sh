#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, then `pulumi up` of the embedded default
# stack (`local`), which leaves the registry running on this machine. Safe to run again: it
# changes nothing when nothing changed. Extra arguments go to `pulumi up`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# Only what the local stack loads: no provider plugin (scripts/pulumi/stack-plugins.mts).
bash "$AIRLOCK_ROOT/scripts/bootstrap.sh" --stack local
airlock_env
airlock_local_passphrase
cd "$AIRLOCK_ROOT"

pulumi stack select --create local --non-interactive >/dev/null
log "pulumi up --stack local"
pulumi up --stack local --yes --non-interactive --skip-preview "$@"

url=$(pulumi stack output url --stack local)
cat >&2 <<MSG

The registry is running at $url
  CA certificate:  scripts/pulumi.sh stack output caCertificate --stack local > airlock-ca.crt
  admin password:  scripts/pulumi.sh stack output adminPassword --stack local --show-secrets
  robot accounts:  scripts/pulumi.sh stack output robots --stack local --show-secrets
  tear down:       scripts/pulumi.sh destroy --stack local --yes
MSG
