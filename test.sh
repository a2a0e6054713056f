#!/usr/bin/env bash
# Install what is missing, then lint, type-check and run the whole suite (Playwright included).
# Extra arguments go to pytest, e.g. ./test.sh tests/test_tenancy.py -x
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> Installing Debian's Chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's chromium package (the browser tests need it)." >&2
    exit 1
  fi
fi
echo "==> ruff"
ruff check .
ruff format --check .
echo "==> mypy"
mypy
echo "==> import contracts (lint-imports)"
lint-imports
echo "==> pytest"
pytest "$@"
