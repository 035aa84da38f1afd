#!/usr/bin/env bash
# Makes sure Debian's Chromium (/usr/bin/chromium) and Firefox ESR (/usr/bin/firefox-esr) are
# installed for the browser tests.
#
# The browser suite drives unmodified twilio-video clients in real browsers: Chromium through
# playwright-core, Firefox through puppeteer-core over WebDriver BiDi. Neither library downloads a
# browser here; we use the distribution's packages, which come from the same apt mirrors as
# everything else on the machine and need no extra network access.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
FIREFOX=/usr/bin/firefox-esr

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
[ -x "$FIREFOX" ] || missing+=(firefox-esr)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

fail() {
  echo "ensure-browsers: $*" >&2
  echo "ensure-browsers: install them yourself (Debian: apt-get install chromium firefox-esr) so that $CHROMIUM and $FIREFOX exist, then rerun." >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "${missing[*]} missing and apt-get is not available on this machine."

# apt needs root; use sudo only when we are not root already and it can run without a password.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "${missing[*]} missing and installing needs root (run as root or with passwordless sudo)."
  fi
fi

echo "ensure-browsers: installing Debian's ${missing[*]} (one-off)..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null || fail "apt-get update failed."
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || fail "apt-get install ${missing[*]} failed."

[ -x "$CHROMIUM" ] || fail "the chromium package was installed but $CHROMIUM does not exist."
[ -x "$FIREFOX" ] || fail "the firefox-esr package was installed but $FIREFOX does not exist."
echo "ensure-browsers: $("$CHROMIUM" --version 2>/dev/null || echo chromium), $("$FIREFOX" --version 2>/dev/null || echo firefox-esr)" >&2
