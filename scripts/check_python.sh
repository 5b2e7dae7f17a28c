#!/usr/bin/env bash
# Fails early, with what to install, when the Python given cannot build the project's venv.
set -euo pipefail
python="${1:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found. Install Python 3.11 or newer (Debian: apt-get install python3 python3-venv)." >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: $("$python" --version 2>&1) is too old: Python 3.11 or newer is needed (make PYTHON=python3.11 ...)." >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "error: $python has no venv/ensurepip module. Debian/Ubuntu: apt-get install python3-venv." >&2
  exit 1
fi
