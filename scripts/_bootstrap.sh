# Sourced by scripts/test and scripts/demo: make .venv and install the project into it, once,
# and again whenever pyproject.toml changes. Needs only python3 (3.11+) and git.
set -euo pipefail
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "smartcart needs Python 3.11 or newer (found $("$PY" --version))" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.smartcart-installed
want="$(cat pyproject.toml | sha256sum | cut -c1-16)-${SMARTCART_EXTRAS}"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${SMARTCART_EXTRAS}]"
  echo "$want" > "$stamp"
fi
