#!/usr/bin/env bash
# Makes sure the Redis that REDIS_URL names (default: redis://127.0.0.1:6379/0) answers.
# A local one that is down is started; a missing redis-server is installed with apt when this
# machine can (root), otherwise the script says exactly what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
py=.venv/bin/python

endpoint() {  # host and port of the URL, never its password
  "$py" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 6379)' "$url"
}
answers() {
  "$py" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_timeout=1, socket_connect_timeout=1).ping()' "$url" >/dev/null 2>&1
}

read -r host port < <(endpoint)
if answers; then
  echo "Redis answers at $host:$port."
  exit 0
fi

case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) echo "error: Redis at $host:$port (REDIS_URL) does not answer. Start it, or unset REDIS_URL to use a local one." >&2
     exit 1 ;;
esac

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is not installed; installing it with apt-get ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "error: Redis is not installed and this script cannot install it." >&2
    echo "  Debian/Ubuntu: sudo apt-get install redis-server" >&2
    echo "  macOS:         brew install redis" >&2
    echo "  or set REDIS_URL to a Redis server you already run." >&2
    exit 1
  fi
fi

mkdir -p .run
echo "Starting redis-server on $host:$port (data not persisted, log in .run/redis.log) ..."
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir "$PWD/.run" --logfile "$PWD/.run/redis.log" --pidfile "$PWD/.run/redis.pid"
for _ in $(seq 1 100); do
  if answers; then echo "Redis answers at $host:$port."; exit 0; fi
  sleep 0.1
done
echo "error: redis-server did not answer on $host:$port; see .run/redis.log" >&2
exit 1
