#!/usr/bin/env bash
# PostgreSQL's server binaries (Debian's package) for CI's PostgreSQL pass and the agency
# benchmark's throwaway cluster. Does nothing when they are already installed.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL is not installed; as root: apt-get install postgresql" >&2
  exit 1
fi
echo "==> installing PostgreSQL (Debian's package)"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
