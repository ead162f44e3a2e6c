#!/usr/bin/env bash
# The Python tools the tests run with, in .venv-serve (not the system's Python): PyPI's
# tritonclient[http] for tests/serve_tritonclient.py. Idempotent; fails if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-serve
if [[ -x $venv/bin/python ]] && $venv/bin/python -c "import tritonclient.http, numpy" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check 'tritonclient[http]' numpy
"$venv/bin/python" -c "import tritonclient.http, numpy"
