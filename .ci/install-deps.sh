#!/usr/bin/env bash
# Installs every Debian package espfab needs to build, test and run (Debian 12). It sits under
# .ci/ because the top level of the repository is fixed (DESIGN.md §2); the README runs it too.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  libncurses-dev libserialport-dev libmbedtls-dev libqrencode-dev libcsv-dev zlib1g-dev \
  libpng-dev libjansson-dev libinih-dev libcups2-dev libsqlite3-dev libcmocka-dev \
  openssl tmux zbar-tools clang libclang-rt-14-dev python3 >/dev/null

# Printing test (tests/integration/test_cups_print.sh): a private cupsd with a cups-pdf queue,
# pdftoppm to rasterise the PDF it prints.
$SUDO apt-get install -y -qq --no-install-recommends \
  cups printer-driver-cups-pdf poppler-utils >/dev/null
