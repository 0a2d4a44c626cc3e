#!/usr/bin/env bash
# Builds the Pulumi CLI at a given release from its Go module, through the Go module proxy only,
# into DEST/bin/pulumi. `go install module@version` refuses modules whose go.mod has replace
# directives, so this builds from a throwaway module that requires pkg/v3 and sdk/v3 at the
# release and repeats pkg's non-local replaces. Usage: build-cli.sh VERSION DEST
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

version=${1:?usage: build-cli.sh VERSION DEST}
dest=${2:?usage: build-cli.sh VERSION DEST}
pkg=github.com/pulumi/pulumi/pkg/v3
sdk=github.com/pulumi/pulumi/sdk/v3
main_pkg=$pkg/cmd/pulumi

go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  die "no Pulumi CLI v$version or newer on PATH, and no Go toolchain to build one.
Install either the Pulumi CLI v$version+ (with its pulumi-language-nodejs) on PATH,
or Go 1.21+ (https://go.dev/dl/; it fetches the toolchain it needs through the Go module proxy)."
fi

mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "$(dirname "$dest")/.build-v$version.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod
started=$SECONDS
step() { log "pulumi v$version [$((SECONDS - started))s] $*"; }

step "fetching $pkg@v$version from the Go module proxy"
pkg_gomod=$("$go" mod download -json "$pkg@v$version" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const m = JSON.parse(s);
    if (m.Error) { console.error(m.Error); process.exit(1); }
    console.log(m.GoMod);
  });')

# The throwaway module: pkg's go directive, pkg and sdk at the release, pkg's non-local replaces.
go_directive=$(awk '$1 == "go" { print $2; exit }' "$pkg_gomod")
{
  printf 'module airlock.local/pulumi-cli-build\n\ngo %s\n\n' "$go_directive"
  printf 'require (\n\t%s v%s\n\t%s v%s\n)\n' "$pkg" "$version" "$sdk" "$version"
  "$go" mod edit -json "$pkg_gomod" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const r of JSON.parse(s).Replace ?? []) {
        if (!r.New.Version) continue; // local paths (../sdk) point into the monorepo
        const old = r.Old.Version ? `${r.Old.Path} ${r.Old.Version}` : r.Old.Path;
        console.log(`\nreplace ${old} => ${r.New.Path} ${r.New.Version}`);
      }
    });'
} >go.mod
printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$main_pkg" >tools.go

step "resolving and downloading dependencies (go mod tidy)"
"$go" mod tidy

total=$("$go" list -deps "$main_pkg" | wc -l)
step "compiling $total packages (cached packages are skipped)"
if ! "$go" build -v -o "$work/pulumi" \
  -ldflags "-s -w -X $sdk/go/common/version.Version=v$version" "$main_pkg" 2>&1 |
  awk -v total="$total" -v tty="$([ -t 2 ] && echo 1 || echo 0)" '
    /^#|: / { print > "/dev/stderr"; next }   # compiler diagnostics pass through
    { n++
      if (tty) printf "\r    [%d/%d] %-70.70s", n, total, $0 > "/dev/stderr"
      else if (n % 100 == 0) printf "    [%d/%d] %s\n", n, total, $0 > "/dev/stderr" }
    END { if (tty) printf "\n" > "/dev/stderr" }'; then
  die "go build of $main_pkg@v$version failed"
fi

"$work/pulumi" version >/dev/null || die "the built pulumi does not run"
mkdir -p "$dest/bin"
mv -f "$work/pulumi" "$dest/bin/pulumi"
step "done: $dest/bin/pulumi"
