#!/usr/bin/env bash
# Makes sure Debian's Chromium is there for the browser tests (tests/browser), which drive
# /usr/bin/chromium through Playwright (Playwright's own browser download is not used).
# Present: exits at once. Missing as root: installs it with apt-get, quietly. Missing otherwise:
# one line of notice and exit 0; the browser tests then skip and say why.
set -euo pipefail

chromium=/usr/bin/chromium
[ -x "$chromium" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "notice: $chromium missing, the browser tests will be skipped (install it: sudo scripts/ensure_chromium.sh)." >&2
  exit 0
fi

echo "Installing Debian's chromium for the browser tests ..."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: installing chromium with apt-get failed (output above)." >&2
  exit 1
fi
