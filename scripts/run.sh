#!/usr/bin/env bash
# `make run`: the demo portal on this machine, with the sandbox standing in for VTEX and VARIO ERP.
# Development settings unless the environment says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export DEBUG="${DEBUG:-1}"
export WEB_BIND="${WEB_BIND:-127.0.0.1:8000}"
export SANDBOX_ENABLED=1
export SANDBOX_URL="${SANDBOX_URL:-http://127.0.0.1:8001}"
export PORTAL_WEBHOOK_BASE_URL="${PORTAL_WEBHOOK_BASE_URL:-http://${WEB_BIND}}"
# The sandbox's simulated VARIO installation (sandbox/vario/seed.py; docs/sandbox-vario.md).
export VARIO_BASE_URL="${VARIO_BASE_URL:-$SANDBOX_URL}"
export VARIO_TOKEN_URL="${VARIO_TOKEN_URL:-$SANDBOX_URL/realms/demo/protocol/openid-connect/token}"
export VARIO_CLIENT_ID="${VARIO_CLIENT_ID:-vtex-portal}"
export VARIO_CLIENT_SECRET="${VARIO_CLIENT_SECRET:-demo-client-secret-of-the-vario-sandbox}"
export VARIO_APP_IDENTIFIER="${VARIO_APP_IDENTIFIER:-3f1c2d4e-0000-4000-8000-000000000001}"
export VARIO_REFRESH_TOKEN="${VARIO_REFRESH_TOKEN:-demo-refresh-token}"

scripts/ensure_redis.sh
python manage.py migrate --noinput
python manage.py migrate --noinput --database sandbox
python manage.py demo_setup --vtex-base-url "$SANDBOX_URL"

cat <<MSG

  Portal admin:  http://${WEB_BIND}/admin/   (login printed above)
  Health:        http://${WEB_BIND}/healthz
  Sandbox:       ${SANDBOX_URL}/_sim/requests  (VTEX and VARIO simulators, docs/sandbox.md)
  Demo traffic:  orders placed in VTEX, shipped / cancelled / returned in VARIO, synced by the portal.
  Stop with Ctrl-C.

MSG
exec honcho start -f Procfile.dev
