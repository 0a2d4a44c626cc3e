#!/usr/bin/env bash
# Builds the Pulumi CLI at a given release from its Go module, through the Go module proxy only,
# into DEST/bin/pulumi. `go install module@version` refuses modules whose go.mod has replace
# directives, so this builds from a throwaway module that requires pkg/v3 and sdk/v3 at the
# release and repeats pkg's non-local replaces. Usage: build-cli.sh VERSION DEST
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-build.sh"

version=${1:?usage: build-cli.sh VERSION DEST}
dest=${2:?usage: build-cli.sh VERSION DEST}
pkg=github.com/pulumi/pulumi/pkg/v3
sdk=github.com/pulumi/pulumi/sdk/v3

go=$(find_go)
if [ -z "$go" ]; then
  die "no Pulumi CLI v$version or newer on PATH, and no Go toolchain to build one.
Install either the Pulumi CLI v$version+ (with its pulumi-language-nodejs) on PATH,
or Go 1.21+ (https://go.dev/dl/; it fetches the toolchain it needs through the Go module proxy)."
fi

started=$SECONDS
step() { log "pulumi v$version [$((SECONDS - started))s] $*"; }

step "fetching $pkg@v$version from the Go module proxy"
pkg_gomod=$(GOFLAGS=-mod=mod "$go" mod download -json "$pkg@v$version" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const m = JSON.parse(s);
    if (m.Error) { console.error(m.Error); process.exit(1); }
    console.log(m.GoMod);
  });')

# sdk/v3 at the same release, and pkg's replaces that point at other modules (the local ones,
# like ../sdk, point into Pulumi's monorepo).
extra=("require $sdk v$version")
while IFS= read -r line; do
  [ -n "$line" ] && extra+=("$line")
done < <("$go" mod edit -json "$pkg_gomod" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const r of JSON.parse(s).Replace ?? []) {
      if (!r.New.Version) continue;
      const old = r.Old.Version ? `${r.Old.Path} ${r.Old.Version}` : r.Old.Path;
      console.log(`replace ${old} => ${r.New.Path} ${r.New.Version}`);
    }
  });')

step "resolving, downloading and compiling (cached packages are skipped)"
GO_BUILD_LDFLAGS="-X $sdk/go/common/version.Version=v$version" \
  go_build_main "$go" "$pkg" "v$version" "$pkg/cmd/pulumi" "$dest/bin/pulumi.new" "${extra[@]}" ||
  die "go build of $pkg/cmd/pulumi@v$version failed"
"$dest/bin/pulumi.new" version >/dev/null || die "the built pulumi does not run"
mv -f "$dest/bin/pulumi.new" "$dest/bin/pulumi"
step "done: $dest/bin/pulumi"
