#!/usr/bin/env bash
# Builds the Go tools the tests drive from their modules through the Go module proxy, once per
# machine, into the cache, and links them into .tools/bin of this checkout: the clients crane,
# oras and regctl; versitygw, the S3 server (posix backend) the S3 storage driver is tested on;
# kubectl-validate, which checks rendered Kubernetes manifests offline against the schemas it embeds;
# cosign, which signs images in the signature policy tests (registry-server/test/security/) with
# key pairs made there and no transparency log (its go.mod has no replace directives);
# oci-conformance, the OCI distribution-spec conformance suite (a main package since it moved off
# Ginkgo: `go build`, as its README says, rather than the deprecated `go test -c`), run against the
# server by registry-server/test/distribution/conformance-suite.test.ts; trivy (v0.74.0, built as
# its release is: GOEXPERIMENT=jsonv2, its version in app.ver), the scanner the server runs itself
# (registry-server/src/scan/trivy/); and trivy-db-fixture, a program of this repository
# (registry-server/test/fixtures/trivy-db) that writes the tests' vulnerability databases with
# Trivy's own database package, cached by a hash of its source.
# The benchmark's tools are built only when named: CNCF Distribution 3 (`distribution`, its
# cmd/registry), the anchor bench/run.sh measures against, which no test runs.
# Usage: go-tools.sh [name…]   (default: every test tool; a benchmark tool only by its name)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-build.sh"

# name  module  version  main package
TOOLS=(
  "crane github.com/google/go-containerregistry v0.20.6 github.com/google/go-containerregistry/cmd/crane"
  "oras oras.land/oras v1.2.3 oras.land/oras/cmd/oras"
  "regctl github.com/regclient/regclient v0.11.7 github.com/regclient/regclient/cmd/regctl"
  "kubectl-validate sigs.k8s.io/kubectl-validate v0.0.4 sigs.k8s.io/kubectl-validate"
  "versitygw github.com/versity/versitygw v1.8.0 github.com/versity/versitygw/cmd/versitygw"
  "cosign github.com/sigstore/cosign/v2 v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign"
  # The proxy serves this module at this pseudo-version only (the older ones are refused).
  "oci-conformance github.com/opencontainers/distribution-spec/conformance v0.0.0-20260831232431-97274622c111 github.com/opencontainers/distribution-spec/conformance"
  "trivy github.com/aquasecurity/trivy v0.74.0 github.com/aquasecurity/trivy/cmd/trivy"
)
# Built only when named, so that the test command does not spend minutes on them.
BENCH_TOOLS=(
  "distribution github.com/distribution/distribution/v3 v3.1.2 github.com/distribution/distribution/v3/cmd/registry"
)

# name  directory of a module kept in this repository (built once per content hash of its source)
LOCAL_TOOLS=(
  "trivy-db-fixture registry-server/test/fixtures/trivy-db"
)

go=$(find_go)
[ -n "$go" ] || die "Go is needed to build the test tools (crane, oras, regctl, versitygw, kubectl-validate, cosign, oci-conformance, trivy): install Go 1.26+"

mkdir -p "$AIRLOCK_TOOLS_DIR/bin"
wanted=" $* "
known=" "
for entry in "${TOOLS[@]}" "${BENCH_TOOLS[@]}" "${LOCAL_TOOLS[@]}"; do known+="${entry%% *} "; done
for name in "$@"; do
  [[ "$known" == *" $name "* ]] || die "unknown tool $name (known:$known)"
done
selected=("${TOOLS[@]}")
[ -z "${*:-}" ] || selected+=("${BENCH_TOOLS[@]}")
for entry in "${selected[@]}"; do
  read -r name module version package <<<"$entry"
  if [ -n "${*:-}" ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  binary="$AIRLOCK_CACHE_DIR/go-tools/$name-$version/bin/$name"
  if [ ! -x "$binary" ]; then
    log "building $name $version from $module (Go module proxy)"
    started=$SECONDS
    ldflags=""
    experiment=""
    case $name in
      # The suite reports the version it was built from (its main.Version; no VCS stamp in a module build).
      oci-conformance) ldflags="-X main.Version=$version" ;;
      # As Trivy's release build: encoding/json/v2 (an experiment in Go 1.25 and 1.26) and its
      # version in app.ver, which `trivy version` and the built-in scanner's metadata report.
      trivy)
        ldflags="-X github.com/aquasecurity/trivy/pkg/version/app.ver=${version#v}"
        experiment=jsonv2
        ;;
    esac
    GOEXPERIMENT=$experiment GO_BUILD_LDFLAGS=$ldflags go_build_main "$go" "$module" "$version" "$package" "$binary" || die "could not build $name from $module@$version"
    log "built $name in $((SECONDS - started))s"
  fi
  ln -sfn "$binary" "$AIRLOCK_TOOLS_DIR/bin/$name"
done
for entry in "${LOCAL_TOOLS[@]}"; do
  read -r name dir <<<"$entry"
  if [ -n "${*:-}" ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  hash=$(go_source_hash "$AIRLOCK_ROOT/$dir")
  binary="$AIRLOCK_CACHE_DIR/go-tools/$name-$hash/bin/$name"
  if [ ! -x "$binary" ]; then
    log "building $name from $dir (source $hash)"
    started=$SECONDS
    go_build_local "$go" "$AIRLOCK_ROOT/$dir" "$binary" || die "could not build $name from $dir"
    log "built $name in $((SECONDS - started))s"
  fi
  ln -sfn "$binary" "$AIRLOCK_TOOLS_DIR/bin/$name"
done
