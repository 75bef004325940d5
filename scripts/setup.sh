#!/usr/bin/env bash
# Installs what sidecar needs on a fresh Debian machine, then the workspace's packages.
#   bash scripts/setup.sh          pnpm + node_modules (enough for the demo)
#   bash scripts/setup.sh --test   also redis-server and the PostgreSQL server binaries the tests start,
#                                  and Debian's chromium (the dashboard's browser test)
# Idempotent: a second run only checks and exits in a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
# The newest installed PostgreSQL major (15 on Debian 12, 17 on Debian 13); empty when none is.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

say() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  say "need root for: $*"; exit 1; fi; }

if [ "$(pnpm -v 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  say "installing pnpm $PNPM_VERSION"
  as_root npm install -g "pnpm@$PNPM_VERSION" --silent
fi

if [ "${1:-}" = "--test" ]; then
  missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ] || missing+=(postgresql)
  command -v ip >/dev/null || missing+=(iproute2)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} (apt)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

say "installing workspace packages"
if [ -n "${CI:-}" ]; then pnpm install --frozen-lockfile --reporter=append-only; else pnpm install --reporter=append-only; fi

say "building (the sidecar command runs from packages/cli/dist)"
pnpm build
