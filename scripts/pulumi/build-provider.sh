#!/usr/bin/env bash
# Builds a Pulumi resource provider plugin from its Go module, through the Go module proxy only,
# into DEST/pulumi-resource-NAME, claiming PLUGIN_VERSION: the version the npm package of the
# provider asks the engine for, which the module (often served only at a pseudo-version) does not
# carry itself. The plugin version goes into the provider's version variable (-ldflags) and into
# its embedded schema (the main package's `go generate`, which reads VERSION).
#
# The module's go.mod replaces its SDK by a path into its own repository (../sdk): that replace
# becomes one by the SDK version the go.mod requires, served by the proxy. Its other replaces, and
# those of github.com/pulumi/pulumi/pkg/v3 at the version the build resolves, are repeated, as
# for the CLI (build-cli.sh).
#
# Usage: build-provider.sh NAME MODULE VERSION PACKAGE PLUGIN_VERSION DEST
#   e.g. build-provider.sh kubernetes github.com/pulumi/pulumi-kubernetes/provider/v4 \
#          v4.0.0-20260115033456-f47bc2d6f199 \
#          github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes 4.25.0 DEST
# PROVIDER_VERSION_VAR overrides the version variable (default MODULE/pkg/version.Version, where
# Pulumi's providers keep it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-build.sh"

usage="usage: build-provider.sh NAME MODULE VERSION PACKAGE PLUGIN_VERSION DEST"
name=${1:?$usage}
module=${2:?$usage}
version=${3:?$usage}
package=${4:?$usage}
plugin_version=${5:?$usage}
dest=${6:?$usage}
plugin_version=${plugin_version#v}
version_var=${PROVIDER_VERSION_VAR:-$module/pkg/version.Version}

go=$(find_go)
[ -n "$go" ] || die "Go is needed to build the $name provider plugin: install Go 1.21+ (https://go.dev/dl/)"

started=$SECONDS
step() { log "$name provider v$plugin_version [$((SECONDS - started))s] $*"; }

step "fetching $module@$version from the Go module proxy"
gomod=$(GOFLAGS=-mod=mod "$go" mod download -json "$module@$version" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const m = JSON.parse(s);
    if (m.Error) { console.error(m.Error); process.exit(1); }
    console.log(m.GoMod);
  });')

# Local replaces (into the provider's repository) become replaces by the version required.
extra=()
while IFS= read -r line; do
  [ -n "$line" ] || continue
  read -r _ old _ new new_version <<<"$line"
  GOFLAGS=-mod=mod "$go" mod download "$new@$new_version" 2>/dev/null ||
    die "$module replaces $old by a local path; the version it requires, $new_version, is not served by the Go module proxy"
  extra+=("$line")
done < <("$go" mod edit -json "$gomod" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const mod = JSON.parse(s);
    for (const r of mod.Replace ?? []) {
      if (r.New.Version) continue;
      const required = (mod.Require ?? []).find((q) => q.Path === r.Old.Path);
      if (!required) { console.error(`${r.Old.Path} is replaced by ${r.New.Path} but not required`); process.exit(1); }
      console.log(`replace ${r.Old.Path} => ${r.Old.Path} ${required.Version}`);
    }
  });')
while IFS= read -r line; do
  [ -n "$line" ] && extra+=("$line")
done < <(go_mod_replaces "$go" "$gomod")
for line in "${extra[@]}"; do step "$line"; done

step "resolving, downloading, generating and compiling (cached packages are skipped)"
out="$dest/pulumi-resource-$name"
VERSION=$plugin_version \
  GO_BUILD_GENERATE=1 \
  GO_BUILD_REPLACES_OF=github.com/pulumi/pulumi/pkg/v3 \
  GO_BUILD_LDFLAGS="-X $version_var=$plugin_version" \
  go_build_main "$go" "$module" "$version" "$package" "$out.new" "${extra[@]}" ||
  die "go build of $package@$version failed"
built=$("$go" version -m "$out.new" | awk '$1 == "dep" && $2 == "'"$module"'" { print $3 }')
[ "$built" = "$version" ] || die "the built plugin does not carry $module@$version (go version -m says '$built')"
mv -f "$out.new" "$out"
printf '%s@%s as v%s\n' "$module" "$version" "$plugin_version" >"$dest/build-info"
step "done: $out"
