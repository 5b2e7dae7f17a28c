#!/usr/bin/env bash
# `make run`: the demo portal on this machine. Development settings unless the environment says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export DEBUG="${DEBUG:-1}"
export WEB_BIND="${WEB_BIND:-127.0.0.1:8000}"

scripts/ensure_redis.sh
python manage.py migrate --noinput
python manage.py demo_setup

cat <<MSG

  Portal admin:  http://${WEB_BIND}/admin/   (login printed above)
  Health:        http://${WEB_BIND}/healthz
  Stop with Ctrl-C.

MSG
exec honcho start -f Procfile
