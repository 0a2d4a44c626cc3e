#!/usr/bin/env bash
# Previews a Kubernetes stack without a cluster and checks its manifests offline:
#   1. a throwaway stack (file backend and random passphrase in a temporary directory) gets the
#      stack's committed configuration, stand-ins for the secrets set per installation, and
#      `airlock:kubernetes.renderYamlToDirectory`, so the Kubernetes provider writes files
#      instead of calling a cluster;
#   2. `pulumi preview --diff` of it with the DMZ policy pack (policy/): the real preview, every
#      resource and its inputs, and any rule the stack breaks;
#   3. `pulumi up` of it, since the provider writes the manifests on create only (a preview
#      renders nothing): nothing is deployed anywhere, the files are the only result;
#   4. kubectl-validate checks every manifest against the Kubernetes 1.30 schemas it embeds, and
#      the ServiceMonitor and PrometheusRule against the CRDs in scripts/preview/crds/.
# The stack's own state and secrets are never touched. Usage:
#   scripts/preview.sh [--stack dmz] [--keep DIR]   (npm run preview -- --stack dmz)
# --keep DIR copies the rendered manifests to DIR. The install check installs the provider plugins
# the stack needs (for dmz, the Kubernetes one, built the first time); AIRLOCK_SKIP_BOOTSTRAP=1
# skips it (the test suite has done it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

stack=dmz
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    -s | --stack) stack=${2:?--stack needs a name} && shift 2 ;;
    --stack=*) stack=${1#--stack=} && shift ;;
    --keep) keep=${2:?--keep needs a directory} && shift 2 ;;
    *) die "unknown argument $1 (usage: scripts/preview.sh [--stack NAME] [--keep DIR])" ;;
  esac
done
stack_file="$AIRLOCK_ROOT/Pulumi.$stack.yaml"
[ -f "$stack_file" ] || die "no stack file $stack_file"

[ -n "${AIRLOCK_SKIP_BOOTSTRAP:-}" ] || bash "$AIRLOCK_ROOT/scripts/bootstrap.sh" --stack "$stack"
bash "$AIRLOCK_ROOT/scripts/tools/go-tools.sh" kubectl-validate
airlock_env
cd "$AIRLOCK_ROOT"

work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-preview.XXXXXX")
# The throwaway stack's name: tests' stack files (Pulumi.e2e-*.yaml) are ignored by git and by
# the stack file checks, and this one only exists while `stack init` runs.
throwaway="e2e-render-$stack-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export PULUMI_BACKEND_URL="file://$work/state"
PULUMI_CONFIG_PASSPHRASE=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export PULUMI_CONFIG_PASSPHRASE
unset PULUMI_CONFIG_PASSPHRASE_FILE
mkdir -p "$work/state" "$work/rendered"
cleanup() {
  rm -f "$AIRLOCK_ROOT/Pulumi.$throwaway.yaml"
  rm -rf "$work"
}
trap cleanup EXIT

log "throwaway stack $throwaway (backend $work/state) from Pulumi.$stack.yaml"
config="$work/Pulumi.$throwaway.yaml"
stand_ins=$(node scripts/preview/render-config.mts "$stack_file" "$config" "$work/rendered")
# `stack init` writes the passphrase's salt into the project's stack file; the salt moves into
# the throwaway's own file at once, and every later command reads that one (--config-file).
pulumi stack init "$throwaway" --secrets-provider passphrase --non-interactive >/dev/null
salt=$(grep '^encryptionsalt:' "$AIRLOCK_ROOT/Pulumi.$throwaway.yaml")
rm -f "$AIRLOCK_ROOT/Pulumi.$throwaway.yaml"
printf '%s\n%s\n' "$salt" "$(cat "$config")" >"$config.new" && mv "$config.new" "$config"
run() { pulumi "$@" --stack "$throwaway" --config-file "$config" --non-interactive; }
while IFS= read -r key; do
  [ -n "$key" ] || continue
  log "stand-in secret for $key"
  run config set --secret --path "$key" "Render-stand-in-0"
done <<<"$stand_ins"

log "pulumi preview --diff --policy-pack policy (the DMZ rules)"
started=$SECONDS
run preview --diff --policy-pack "$AIRLOCK_ROOT/policy"
# The provider writes files on create only: a preview leaves the directory empty (checked, since
# the README says so).
if [ -n "$(find "$work/rendered" -type f)" ]; then
  log "the preview wrote manifests itself"
else
  log "the preview wrote no manifest (the provider renders on create)"
fi
log "preview took $((SECONDS - started))s; rendering the manifests (pulumi up of the throwaway stack)"
started=$SECONDS
# The preview has just type-checked this very program: ts-node need not again (about half the
# time of a program run on two cores).
PULUMI_NODEJS_TRANSPILE_ONLY=${PULUMI_NODEJS_TRANSPILE_ONLY:-true} run up --yes --skip-preview --suppress-outputs >"$work/up.log" 2>&1 || {
  cat "$work/up.log" >&2
  die "rendering failed"
}
count=$(find "$work/rendered" -name '*.yaml' | wc -l)
log "rendered $count manifests in $((SECONDS - started))s"

log "kubectl-validate (Kubernetes 1.30, CRDs of scripts/preview/crds/)"
"$AIRLOCK_TOOLS_DIR/bin/kubectl-validate" --version 1.30 --local-crds "$AIRLOCK_ROOT/scripts/preview/crds" \
  "$work/rendered"
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp -R "$work/rendered/." "$keep/"
  log "manifests kept in $keep"
fi
