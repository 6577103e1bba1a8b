#!/usr/bin/env bash
# Installs what sms_ir needs to build, test, demo and benchmark on Debian 12.
# Run as root.  Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (it uses apt-get)" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential pkg-config clang \
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron \
  libcurl4-openssl-dev libjson-c-dev libxml2-dev \
  libipc-run-perl perl \
  python3 curl ca-certificates openssl nginx-light \
  prometheus-postgres-exporter \
  debhelper postgresql-server-dev-all git unzip >/dev/null
# Debian starts a "main" cluster on install; the tests use their own.
