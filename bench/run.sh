#!/usr/bin/env bash
# The benchmark's one command: installs what is missing (Debian's docker-registry, wrk, ab, curl,
# openssl and the PostgreSQL server), builds CNCF Distribution 3 and versitygw from their Go modules
# once per machine (scripts/tools/go-tools.sh, cached under ~/.cache/airlock), then runs
# bench/run.ts with the repository's pinned Node.js. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v ab >/dev/null 2>&1 || need+=(apache2-utils)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The replicas' column runs a throwaway cluster with the server's own initdb and pg_ctl.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2; then
    "${sudo[@]}" apt-get update >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
  fi
fi

# Distribution 3, the anchor, and the S3 server of the replicas' column: built only if missing.
bash scripts/tools/go-tools.sh distribution versitygw

node=node_modules/.bin/node
if [ ! -x "$node" ]; then
  echo "bench: $node is missing: run npm ci first" >&2
  exit 1
fi
exec "$node" bench/run.ts "$@"
