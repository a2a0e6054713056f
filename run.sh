#!/usr/bin/env bash
# Start everything on this machine: Redis, the sandbox upstreams, migrations, the seeded demo, then the
# web server and the worker from the Procfile. Ctrl-C stops every process it started.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
export PORTAL_MODE="${PORTAL_MODE:-demo}"
exec python -m portal.launcher
