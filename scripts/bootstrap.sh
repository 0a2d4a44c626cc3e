#!/usr/bin/env bash
# Installs what the project needs on this machine, idempotently: the pinned Node.js and the npm
# dependencies (npm ci), the npm package's compiled files and the web portal's bundle, then a
# Pulumi CLI compatible with the pinned @pulumi/pulumi: the one on PATH when it is new enough,
# otherwise one built from its Go module and cached once per machine;
# then provider plugins, built from their Go modules (cached once per machine too) and installed
# where the engine looks for them, since it may download nothing (scripts/pulumi/ensure-plugins.sh):
#   bootstrap.sh                 every plugin, and the YAML language host (the tests, CI, a machine
#                                that deploys every stack)
#   bootstrap.sh --stack NAME    only those the stack's target loads: none for the local stack
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$AIRLOCK_ROOT"

plugins=(--all)
case "${1:-}" in
  "") ;;
  --stack) plugins=(--stack "${2:?--stack needs a stack name}") ;;
  *) die "usage: bootstrap.sh [--stack NAME]" ;;
esac

ensure_node_modules() {
  local stamp=node_modules/.airlock-lock-sha256 want
  want=$(cat package.json package-lock.json registry-server/package.json | sha256sum | cut -d' ' -f1)
  if [ -x node_modules/.bin/node ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  command -v npm >/dev/null || die "npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm); the project then pins its own Node.js 24"
  log "installing npm dependencies and the pinned Node.js (npm ci)"
  # Older npm warns that the Pulumi SDK wants a newer Node.js than the machine's: the pinned
  # Node.js installed by this very step is the one everything runs with afterwards.
  npm ci --no-audit --no-fund --loglevel=error
  [ -x node_modules/.bin/node ] || die "npm ci did not install the pinned Node.js (node_modules/.bin/node)"
  printf '%s\n' "$want" >"$stamp"
}

# Prints the version of @pulumi/pulumi the project pins.
sdk_version() {
  node_modules/.bin/node -p 'require("./node_modules/@pulumi/pulumi/package.json").version'
}

# True when $1 is a Pulumi CLI of the SDK's major version and at least its release.
cli_is_compatible() {
  local have
  have=$("$1" version 2>/dev/null | sed 's/^v//') || return 1
  node_modules/.bin/node -e '
    const [have, want] = process.argv.slice(1).map((v) => v.split(/[.+-]/).slice(0, 3).map(Number));
    const newer = have[0] === want[0] && (have[1] > want[1] || (have[1] === want[1] && have[2] >= want[2]));
    process.exit(newer ? 0 : 1);' "$have" "$2"
}

ensure_pulumi_cli() {
  local version cli ambient=""
  version=$(sdk_version)
  mkdir -p "$AIRLOCK_PULUMI_BIN"
  # A pulumi already on PATH (outside this project) wins when it is compatible.
  ambient=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$AIRLOCK_PULUMI_BIN" | paste -sd:) command -v pulumi || true)
  if [ -n "$ambient" ] && cli_is_compatible "$ambient" "$version"; then
    cli=$ambient
  else
    cli="$AIRLOCK_CACHE_DIR/pulumi-cli/v$version/bin/pulumi"
    if [ ! -x "$cli" ]; then
      if [ -n "$ambient" ]; then
        log "pulumi on PATH ($ambient) is older than the SDK (v$version): building v$version"
      fi
      bash scripts/pulumi/build-cli.sh "$version" "$AIRLOCK_CACHE_DIR/pulumi-cli/v$version"
    fi
  fi
  rm -f "$AIRLOCK_PULUMI_BIN/pulumi"
  if [ "$cli" = "$ambient" ]; then
    ln -s "$cli" "$AIRLOCK_PULUMI_BIN/pulumi"
  else
    # A hard link (a copy across file systems), not a symlink: Pulumi looks for its language
    # host and helpers beside its own resolved path, and ours live in this checkout.
    ln -f "$cli" "$AIRLOCK_PULUMI_BIN/pulumi" 2>/dev/null || cp -f "$cli" "$AIRLOCK_PULUMI_BIN/pulumi"
  fi
  install_pulumi_shims
  log "pulumi $("$AIRLOCK_PULUMI_BIN/pulumi" version) ($cli)"
}

# The Node.js language host and the dynamic-provider helper, on PATH beside the CLI. The language
# host runs under the pinned Node.js; the helper is the SDK's own script.
install_pulumi_shims() {
  cat >"$AIRLOCK_PULUMI_BIN/pulumi-language-nodejs" <<SHIM
#!/bin/sh
exec "$AIRLOCK_ROOT/node_modules/.bin/node" "$AIRLOCK_ROOT/scripts/pulumi/language-host.mts" "\$@"
SHIM
  chmod +x "$AIRLOCK_PULUMI_BIN/pulumi-language-nodejs"
  install -m 0755 node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs "$AIRLOCK_PULUMI_BIN/"
}

# What the npm package ships (scripts/build-package.sh): the components and the server compiled
# (only when their sources changed), and the web portal bundled from registry-server/portal/ into
# what the server serves (a fraction of a second with esbuild; built every time, so a checkout
# never serves a stale portal).
build_package() {
  bash scripts/build-package.sh
}

ensure_node_modules
airlock_env
build_package
ensure_pulumi_cli
bash scripts/pulumi/ensure-plugins.sh "${plugins[@]}"
# The tests also run a Pulumi YAML program (the component package's); no stack of this project does.
if [ "${plugins[0]}" = --all ]; then
  bash scripts/pulumi/ensure-yaml-host.sh
fi
