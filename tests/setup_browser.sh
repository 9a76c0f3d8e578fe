#!/bin/sh
# Test setup for the browser tests (tests/browser.py): Debian's chromium and a font with Chinese
# glyphs (WenQuanYi Zen Hei), from Debian's own packages. Playwright never downloads a browser here.
# Idempotent: does nothing when chromium and the font are already there. Needs root (or sudo) to install.
#   sh tests/setup_browser.sh
set -eu
if [ -x /usr/bin/chromium ] && dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing chromium and fonts-wqy-zenhei (Debian packages) for the browser tests" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-zenhei
