#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium for the browser tests.
#
# The browser suite drives an unmodified twilio-video client in a real Chromium through
# playwright-core, which by design ships no browser. We use the distribution's package rather
# than Playwright's download: it comes from the same apt mirrors as everything else on the
# machine and needs no extra network access.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

fail() {
  echo "ensure-chromium: $*" >&2
  echo "ensure-chromium: install Chromium yourself (Debian/Ubuntu: apt-get install chromium) so that $CHROMIUM exists, then rerun." >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available on this machine."

# apt needs root; use sudo only when we are not root already and it can run without a password.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "$CHROMIUM is missing and installing it needs root (run as root or with passwordless sudo)."
  fi
fi

echo "ensure-chromium: installing Debian's chromium package (one-off)..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null || fail "apt-get update failed."
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null \
  || fail "apt-get install chromium failed."

[ -x "$CHROMIUM" ] || fail "the chromium package was installed but $CHROMIUM does not exist."
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")" >&2
