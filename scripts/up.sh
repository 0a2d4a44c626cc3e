#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, then `pulumi up` of the embedded default
# stack (`local`), which leaves the registry running on this machine. Safe to run again: it
# changes nothing when nothing changed. Then it writes the stack's CA to .airlock/local/ca/ca.crt and
# prints what to type next (log in, push, pull), filled in with the stack's URL, user and CA path,
# never a secret. Extra arguments go to `pulumi up`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
caller_dir=$PWD
# Only what the local stack loads: no provider plugin (scripts/pulumi/stack-plugins.mts).
bash "$AIRLOCK_ROOT/scripts/bootstrap.sh" --stack local
airlock_env
airlock_local_passphrase
cd "$AIRLOCK_ROOT"

pulumi stack select --create local --non-interactive >/dev/null
log "pulumi up --stack local"
pulumi up --stack local --yes --non-interactive --skip-preview "$@"

# What a newcomer types next, filled in with this stack's values. The CA goes into a directory of
# its own: skopeo's and podman's --cert-dir take every *.crt in it as a CA and refuse a *.key
# without its certificate, so the server's tls/ directory would not do.
ca_dir="$AIRLOCK_ROOT/.airlock/local/ca"
mkdir -p "$ca_dir"
# One read of the outputs (secrets stay "[secret]"): url, admin user and log file, one a line;
# the CA into its file; then the first project the stack declares, to push into.
{
  read -r url
  read -r admin
  read -r log_file
  read -r project
} < <(pulumi stack output --json --stack local | node -e '
  const fs = require("node:fs");
  const outputs = JSON.parse(fs.readFileSync(0, "utf8"));
  fs.writeFileSync(process.argv[1], outputs.caCertificate);
  const config = require("yaml").parse(fs.readFileSync("Pulumi.local.yaml", "utf8"))?.config ?? {};
  const project = config["airlock:projects"]?.[0]?.name ?? "<project>";
  process.stdout.write([outputs.url, outputs.adminUsername, outputs.logFile, project].join("\n") + "\n");
' "$ca_dir/ca.crt")
[ -n "${project:-}" ] || die "could not read the local stack's outputs (scripts/pulumi.sh stack output --stack local)"
host=${url#https://}
host=${host%%/*}
# Paths as the caller can type them: relative when up.sh ran from the checkout's root.
shown() { if [ "$caller_dir" = "$AIRLOCK_ROOT" ]; then printf '%s' "${1#"$AIRLOCK_ROOT"/}"; else printf '%s' "$1"; fi; }
pulumi_sh=$(shown "$AIRLOCK_ROOT/scripts/pulumi.sh")
certs=$(shown "$ca_dir")
password="$pulumi_sh stack output adminPassword --stack local --show-secrets"
image="$host/$project/alpine:3.20"

cat >&2 <<MSG

The registry is running at $url (log: $(shown "$log_file")).
Its CA certificate is in $certs/ca.crt. Next, with skopeo (podman login/push/pull take the same --cert-dir):

  $password | skopeo login --cert-dir $certs --username $admin --password-stdin $host
  skopeo copy --dest-cert-dir $certs docker://docker.io/library/alpine:3.20 docker://$image
  skopeo copy --src-cert-dir $certs docker://$image oci:alpine:3.20

Docker reads the CA from /etc/docker/certs.d/$host/ca.crt:

  sudo install -D -m 0644 $certs/ca.crt /etc/docker/certs.d/$host/ca.crt
  $password | docker login --username $admin --password-stdin $host
  docker pull alpine:3.20 && docker tag alpine:3.20 $image && docker push $image && docker pull $image

The password goes from the stack to the client without being shown. The robot accounts, for CI
and machines, with their secrets: $pulumi_sh stack output robots --stack local --show-secrets
Tear down: $pulumi_sh destroy --stack local --yes
(a project that still holds repositories is not deleted, as in Harbor: delete what you pushed
first, in the portal at $url/ or with DELETE /api/v2.0/projects/$project/repositories/alpine)
MSG
