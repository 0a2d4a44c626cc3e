#!/usr/bin/env bash
# Installs provider plugins where the engine looks for them (${PULUMI_HOME:-~/.pulumi}/plugins),
# built from their Go modules and cached once per machine, since the engine may download nothing.
# Only what is asked for, so that a stack's first command builds only what that stack loads:
#   ensure-plugins.sh --stack NAME   the plugins the stack's target needs (stack-plugins.mts):
#                                    none for local, kubernetes for kubernetes
#   ensure-plugins.sh --all          every plugin this project can build (the test suite's needs)
# Needs the npm packages and the project's Pulumi CLI (scripts/bootstrap.sh installs both).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$AIRLOCK_ROOT"

# Provider plugins, one per npm package of a provider: name, Go module, the module's version, main
# package. The Go module proxy serves these modules only at pseudo-versions, so the plugin is
# installed under the version the npm package asks the engine for (its package.json, pulumi.version).
# The AWS provider is missing: the proxy refuses its module (README "AWS target").
PROVIDER_PLUGINS=(
  "kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 v4.0.0-20260115033456-f47bc2d6f199 github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
)

# The version the npm package @pulumi/NAME asks the engine for.
claimed_version() {
  node_modules/.bin/node -p "require('./node_modules/@pulumi/$1/package.json').pulumi.version"
}

installed_path() {
  printf '%s\n' "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-$1-v$2/pulumi-resource-$1"
}

# Builds (once per machine, with progress) and installs the plugin NAME, for the reason given.
ensure_plugin() {
  local want=$1 why=$2 entry name module version package claimed cached installed
  for entry in "${PROVIDER_PLUGINS[@]}"; do
    read -r name module version package <<<"$entry"
    [ "$name" = "$want" ] || continue
    claimed=$(claimed_version "$name")
    cached="$AIRLOCK_CACHE_DIR/pulumi-plugins/resource-$name-v$claimed"
    if [ ! -x "$cached/pulumi-resource-$name" ] ||
      [ "$(cat "$cached/build-info" 2>/dev/null)" != "$module@$version as v$claimed" ]; then
      log "building the $name provider plugin v$claimed for $why (once per machine: several minutes)"
      bash scripts/pulumi/build-provider.sh "$name" "$module" "$version" "$package" "$claimed" "$cached"
    fi
    installed=$(installed_path "$name" "$claimed")
    if ! cmp -s "$cached/pulumi-resource-$name" "$installed"; then
      log "installing the $name provider plugin v$claimed ($cached)"
      "$AIRLOCK_PULUMI_BIN/pulumi" plugin install resource "$name" "v$claimed" \
        --file "$cached/pulumi-resource-$name" --reinstall
    fi
    return
  done
  # Not buildable here: fine when someone installed it by hand, otherwise say what will fail.
  claimed=$(claimed_version "$want")
  if [ ! -x "$(installed_path "$want" "$claimed")" ]; then
    log "warning: $why needs the $want provider plugin v$claimed, which cannot be built here;" \
      "its previews and updates fail until it is installed" \
      "(pulumi plugin install resource $want v$claimed --file <pulumi-resource-$want>)"
  fi
}

[ -x "$AIRLOCK_PULUMI_BIN/pulumi" ] || die "run scripts/bootstrap.sh first (it installs the Pulumi CLI)"
case "${1:-}" in
  --stack)
    stack=${2:?--stack needs a stack name}
    plugins=$(node_modules/.bin/node scripts/pulumi/stack-plugins.mts "$stack" "$AIRLOCK_ROOT")
    if [ -z "$plugins" ]; then
      log "stack $stack needs no provider plugin"
    fi
    for plugin in $plugins; do ensure_plugin "$plugin" "stack $stack"; done
    ;;
  --all)
    for entry in "${PROVIDER_PLUGINS[@]}"; do ensure_plugin "${entry%% *}" "every stack and the tests"; done
    ;;
  *) die "usage: ensure-plugins.sh --stack NAME | --all" ;;
esac
