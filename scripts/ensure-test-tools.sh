#!/usr/bin/env bash
# Makes sure what the test suites run is installed: Debian's Chromium (/usr/bin/chromium) and
# Firefox ESR (/usr/bin/firefox-esr) for the browser tests, and Debian's ffmpeg (/usr/bin/ffprobe),
# which checks every recorded file.
#
# The browser suite drives unmodified twilio-video clients in real browsers: Chromium through
# playwright-core, Firefox through puppeteer-core over WebDriver BiDi. Neither library downloads a
# browser here; we use the distribution's packages, which come from the same apt mirrors as
# everything else on the machine and need no extra network access.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
FIREFOX=/usr/bin/firefox-esr
FFPROBE=/usr/bin/ffprobe

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
[ -x "$FIREFOX" ] || missing+=(firefox-esr)
[ -x "$FFPROBE" ] || missing+=(ffmpeg)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

fail() {
  echo "ensure-test-tools: $*" >&2
  echo "ensure-test-tools: install them yourself (Debian: apt-get install chromium firefox-esr ffmpeg) so that $CHROMIUM, $FIREFOX and $FFPROBE exist, then rerun." >&2
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

echo "ensure-test-tools: installing Debian's ${missing[*]} (one-off)..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null || fail "apt-get update failed."
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || fail "apt-get install ${missing[*]} failed."

[ -x "$CHROMIUM" ] || fail "the chromium package was installed but $CHROMIUM does not exist."
[ -x "$FIREFOX" ] || fail "the firefox-esr package was installed but $FIREFOX does not exist."
[ -x "$FFPROBE" ] || fail "the ffmpeg package was installed but $FFPROBE does not exist."
echo "ensure-test-tools: $("$CHROMIUM" --version 2>/dev/null || echo chromium), $("$FIREFOX" --version 2>/dev/null || echo firefox-esr), $("$FFPROBE" -version 2>/dev/null | head -n 1 || echo ffprobe)" >&2
