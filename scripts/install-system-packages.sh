#!/usr/bin/env bash
# Debian packages the project needs, installed only when missing:
#   tesseract-ocr           OCR of scanned PDFs and images (runtime)
#   chromium, chromium-driver   browser tests (tests only; pass --tests)
set -euo pipefail
wanted=(tesseract:tesseract-ocr)
if [[ "${1:-}" == "--tests" ]]; then
  wanted+=(chromium:chromium chromedriver:chromium-driver)
fi
missing=()
for pair in "${wanted[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian packages: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
