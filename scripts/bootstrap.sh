# Sourced by run.sh and test.sh: make .venv match pyproject.toml, installing only when it changed.
python_bin=${PYTHON:-python3}
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.installed-from 2>/dev/null)" != "$wanted" ]; then
  echo "==> Installing dependencies into .venv (first run, or pyproject.toml changed)…"
  [ -x .venv/bin/python ] || "$python_bin" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
  echo "$wanted" > .venv/.installed-from
fi
export PATH="$PWD/.venv/bin:$PATH"
