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

# go_build_main GO MODULE VERSION PACKAGE OUTPUT [GO.MOD LINES…]
# Progress goes to stderr: module downloads, then a count of compiled packages.
go_build_main() {
  local go=$1 module=$2 version=$3 package=$4 output=$5
  shift 5
  local work total status=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-go-build.XXXXXX")
  (
    cd "$work"
    export GOFLAGS=-mod=mod
    {
      printf 'module airlock.local/build\n\ngo 1.21\n\nrequire %s %s\n' "$module" "$version"
      for line in "$@"; do printf '\n%s\n' "$line"; done
    } >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >tools.go
    "$go" mod tidy
    total=$("$go" list -deps "$package" | wc -l)
    log "compiling $package: $total packages (cached ones are skipped)"
    "$go" build -v -o "$work/out" -ldflags "-s -w ${GO_BUILD_LDFLAGS:-}" "$package" 2>&1 |
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
