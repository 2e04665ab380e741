#!/usr/bin/env bash
# PostgreSQL server binaries for the lifecycle tests (started per test session in a temp dir).
# From Debian's packages; installs only if no server is present.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "PostgreSQL server not found and apt-get is unavailable: install PostgreSQL 15+ (initdb, pg_ctl)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing PostgreSQL from Debian's packages (apt-get install postgresql)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb
