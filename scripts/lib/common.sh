# Shared by the project's scripts: where things live, how to report, and the one environment
# every Node.js and Pulumi command of this project runs in. Source it; it changes nothing on disk.

AIRLOCK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Built tools are cached once per machine, outside any work tree, keyed by version.
AIRLOCK_CACHE_DIR=${AIRLOCK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/airlock}
# Per-checkout links to the cached tools, plus the shims that must sit beside the Pulumi CLI.
AIRLOCK_TOOLS_DIR="$AIRLOCK_ROOT/.tools"
AIRLOCK_PULUMI_BIN="$AIRLOCK_TOOLS_DIR/pulumi/bin"
# The embedded default stack's secrets passphrase. It is public: fit for a laptop only.
AIRLOCK_LOCAL_PASSPHRASE="airlock-local-stack-laptop-only"

log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# The environment for node, npm and pulumi: the pinned Node.js first on PATH (so npm scripts,
# tests and the Pulumi language host all run it), the project's Pulumi CLI, a file backend in
# the project, and nothing fetched from the internet by Pulumi itself.
airlock_env() {
  export PATH="$AIRLOCK_PULUMI_BIN:$AIRLOCK_ROOT/node_modules/.bin:$PATH"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$AIRLOCK_ROOT/.pulumi-state}"
  mkdir -p "$AIRLOCK_ROOT/.pulumi-state"
}

# Only the `local` stack gets the public passphrase, and only when the caller set none.
airlock_local_passphrase() {
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE="$AIRLOCK_LOCAL_PASSPHRASE"
  fi
}
