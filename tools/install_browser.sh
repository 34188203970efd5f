#!/usr/bin/env bash
# Install headless Chromium and its driver (Debian packages) for the browser test, where possible.
# The browser test itself skips with a plain message when they are missing (and fails under CI=true).
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver for the browser test ..."
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; then
    echo "Installed: $(chromium --version 2>/dev/null)"
    exit 0
  fi
  echo "Could not install chromium/chromium-driver with apt-get."
else
  echo "chromium and chromedriver are not installed and this user cannot install them"
  echo "(Debian/Ubuntu: sudo apt-get install chromium chromium-driver). The browser test will be skipped."
fi
exit 0
