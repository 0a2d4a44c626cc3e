#!/usr/bin/env bash
# Puts the Pulumi YAML language host (pulumi-language-yaml) beside the project's Pulumi CLI, where
# the engine looks for language hosts: the one beside a Pulumi CLI from PATH when it has one,
# otherwise one built from its Go module (github.com/pulumi/pulumi-yaml, cmd/pulumi-language-yaml)
# through the Go module proxy and cached once per machine. The tests run a YAML program that uses
# the component package with it; Pulumi's own releases ship it with the CLI.
# Usage: ensure-yaml-host.sh   (after bootstrap.sh has put the CLI in place)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-build.sh"

version=v1.25.0
module=github.com/pulumi/pulumi-yaml
link="$AIRLOCK_PULUMI_BIN/pulumi-language-yaml"
cached="$AIRLOCK_CACHE_DIR/pulumi-language-yaml/$version/bin/pulumi-language-yaml"

[ -e "$AIRLOCK_PULUMI_BIN/pulumi" ] || die "no Pulumi CLI in $AIRLOCK_PULUMI_BIN: run scripts/bootstrap.sh first"
# A CLI from PATH is linked by a symlink (bootstrap.sh); its own YAML host comes with it.
if [ -L "$AIRLOCK_PULUMI_BIN/pulumi" ]; then
  beside="$(dirname "$(readlink -f "$AIRLOCK_PULUMI_BIN/pulumi")")/pulumi-language-yaml"
  if [ -x "$beside" ]; then
    ln -sfn "$beside" "$link"
    exit 0
  fi
fi

if [ ! -x "$cached" ]; then
  go=$(find_go)
  [ -n "$go" ] || die "Go is needed to build the Pulumi YAML language host ($module $version): install Go 1.21+"
  started=$SECONDS
  log "pulumi-language-yaml $version: building from $module (cached once per machine)"
  GO_BUILD_LDFLAGS="-X $module/pkg/version.Version=$version" \
    go_build_main "$go" "$module" "$version" "$module/cmd/pulumi-language-yaml" "$cached" ||
    die "go build of $module/cmd/pulumi-language-yaml@$version failed"
  log "pulumi-language-yaml $version [$((SECONDS - started))s] done: $cached"
fi
# A hard link beside the CLI (a copy across file systems), as bootstrap.sh does for the CLI.
rm -f "$link"
ln -f "$cached" "$link" 2>/dev/null || cp -f "$cached" "$link"
