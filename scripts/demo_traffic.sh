#!/usr/bin/env bash
# `make run`'s demo traffic: once the sandbox and the portal answer, register the portal's webhooks
# with the (simulated) VARIO ERP and keep a gentle stream of orders, shipments, cancellations and
# returns flowing through the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."

wait_for() {  # url, name
  for _ in $(seq 1 300); do
    if python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "error: $2 did not answer at $1" >&2
  exit 1
}

wait_for "${SANDBOX_URL}/_sim/clock" "the sandbox"
wait_for "http://${WEB_BIND}/healthz" "the portal"
python manage.py register_webhooks
# The poller imports the demo orders (VTEX → ERP); the feed only sees changes made after this.
python manage.py configure_feed demo
exec python manage.py sandbox_traffic --url "${SANDBOX_URL}" --rate "${DEMO_TRAFFIC_RATE:-2}" \
  --speed "${DEMO_TRAFFIC_SPEED:-10}" --duration "${DEMO_TRAFFIC_DURATION:-86400}" --no-erp-mirror
