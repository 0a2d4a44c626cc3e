# Builds a Go main package from a module fetched through the Go module proxy, in a throwaway
# module that requires it. Unlike `go install module@version`, this works for modules whose
# go.mod has replace directives (the caller repeats those it needs) and needs no version listing
# from the proxy. Source it after common.sh.

# The go binary, or empty.
find_go() {
  local go
  go=$(command -v go || true)
  [ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
  printf '%s' "$go"
}

# go_mod_replaces GO GO.MOD: the file's replace directives that point at another module, as go.mod
# lines. Replaces by a local path (into the module's own repository, like ../sdk) are left out:
# they mean nothing outside that repository.
go_mod_replaces() {
  "$1" mod edit -json "$2" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const r of JSON.parse(s).Replace ?? []) {
        if (!r.New.Version) continue;
        const old = r.Old.Version ? `${r.Old.Path} ${r.Old.Version}` : r.Old.Path;
        console.log(`replace ${old} => ${r.New.Path} ${r.New.Version}`);
      }
    });'
}

# go_build_main GO MODULE VERSION PACKAGE OUTPUT [GO.MOD LINES…]
# Progress goes to stderr: module downloads, then a count of compiled packages.
# Optional environment:
#   GO_BUILD_LDFLAGS      extra -ldflags (e.g. -X for a version variable)
#   GO_BUILD_GENERATE=1   the main package embeds files that its //go:generate directives make and
#                         a module zip lacks: its directory is copied into the throwaway module
#                         and `go generate` runs there (with the caller's environment) first
#   GO_BUILD_REPLACES_OF  modules whose own non-local replaces are repeated, each at the version
#                         the build resolves (the main module's replaces are the only ones Go obeys)
go_build_main() {
  local go=$1 module=$2 version=$3 package=$4 output=$5
  shift 5
  local work total status=0 target dir line dependency resolved replaced=""
  work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-go-build.XXXXXX")
  (
    cd "$work"
    export GOFLAGS=-mod=mod
    {
      printf 'module airlock.local/build\n\ngo 1.21\n\nrequire %s %s\n' "$module" "$version"
      for line in "$@"; do printf '\n%s\n' "$line"; done
    } >go.mod
    target=$package
    if [ -n "${GO_BUILD_GENERATE:-}" ]; then
      dir=$("$go" mod download -json "$module@$version" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
          const m = JSON.parse(s);
          if (m.Error) { console.error(m.Error); process.exit(1); }
          console.log(m.Dir);
        });')
      cp -R "$dir/${package#"$module"/}" main
      chmod -R u+w main
      target=./main
    else
      printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >tools.go
    fi
    "$go" mod tidy
    for dependency in ${GO_BUILD_REPLACES_OF:-}; do
      resolved=$("$go" list -m -f '{{.Version}}' "$dependency")
      log "repeating the replaces of $dependency@$resolved"
      while IFS= read -r line; do
        [ -n "$line" ] && printf '\n%s\n' "$line" >>go.mod && replaced=1
      done < <(go_mod_replaces "$go" "$("$go" mod download -json "$dependency@$resolved" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).GoMod));')")
    done
    [ -z "$replaced" ] || "$go" mod tidy
    if [ -n "${GO_BUILD_GENERATE:-}" ]; then
      log "go generate in $package"
      (cd main && "$go" generate .)
    fi
    total=$("$go" list -deps "$target" | wc -l)
    log "compiling $package: $total packages (cached ones are skipped)"
    "$go" build -v -o "$work/out" -ldflags "-s -w ${GO_BUILD_LDFLAGS:-}" "$target" 2>&1 |
      awk -v total="$total" -v tty="$([ -t 2 ] && echo 1 || echo 0)" '
        /^#|: / { print > "/dev/stderr"; next }
        { n++
          if (tty) printf "\r    [%d/%d] %-70.70s", n, total, $0 > "/dev/stderr"
          else if (n % 100 == 0) printf "    [%d/%d] %s\n", n, total, $0 > "/dev/stderr" }
        END { if (tty) printf "\n" > "/dev/stderr" }'
    [ "${PIPESTATUS[0]}" -eq 0 ] && [ -x "$work/out" ]
  ) || status=$?
  if [ "$status" -eq 0 ]; then
    mkdir -p "$(dirname "$output")"
    mv -f "$work/out" "$output"
  fi
  rm -rf "$work"
  return "$status"
}

# go_source_hash DIR: the first 16 hex digits of a SHA-256 over the module's go.mod, go.sum and Go
# files (names and contents), which names its cache entry: a change to the source rebuilds it.
go_source_hash() {
  (
    cd "$1"
    find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print | LC_ALL=C sort |
      while IFS= read -r file; do
        printf '%s\n' "$file"
        sha256sum <"$file"
      done
  ) | sha256sum | cut -c1-16
}

# go_build_local GO DIR OUTPUT: builds the main package of a module kept in this repository (its
# own go.mod and go.sum), fetching what it requires through the Go module proxy.
go_build_local() {
  local go=$1 dir=$2 output=$3 work status=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-go-build.XXXXXX")
  (cd "$dir" && "$go" build -mod=readonly -trimpath -o "$work/out" -ldflags "-s -w" .) || status=$?
  if [ "$status" -eq 0 ]; then
    mkdir -p "$(dirname "$output")"
    mv -f "$work/out" "$output"
  fi
  rm -rf "$work"
  return "$status"
}
