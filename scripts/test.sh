#!/usr/bin/env bash
# The whole sms_ir test suite, as root on Debian 12:
#   installs dependencies, builds with -Wall -Wextra -Werror, installs, then
#   runs pg_regress (test/sql/ + test/expected/) and the TAP tests (test/t/*.pl) as the
#   unprivileged "postgres" user against the local mock provider.
# SMS_IR_SKIP_DEPS=1 skips the apt-get step (for quick local runs);
# PROVE_TESTS='test/t/001_outbox.pl' runs some TAP tests only.
# SMS_PG_CONFIG (or PG_CONFIG) names another PostgreSQL install's pg_config
# (a relocatable copy such as /opt/pgB/usr/lib/postgresql/15/bin/pg_config):
# the build, the install and every cluster then use it, not the system's.
set -euo pipefail
cd "$(dirname "$0")/.."
# Provider replies are Persian: clusters are created UTF-8 whatever the caller's locale.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
src=$(pwd)
if [ -n "${SMS_PG_CONFIG:-}" ]; then
  export PG_CONFIG=$SMS_PG_CONFIG
elif [ -n "${PG_CONFIG:-}" ]; then
  export PG_CONFIG
fi

if [ "${SMS_IR_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install-deps.sh
fi

# Warnings are errors.  PostgreSQL's own headers trip -Wunused-parameter,
# so that one (and only that one) stays a warning-free no-op.
make -s clean >/dev/null
make -s COPT='-Wall -Wextra -Werror -Wno-unused-parameter'
make -s install >/dev/null

# Replay the fuzz corpus through the reply parsers under ASan/UBSan/LSan.
make -s -C fuzz replay

# PostgreSQL refuses to run as root: run everything from a copy owned by postgres.
work=$(mktemp -d /tmp/sms_ir_test.XXXXXX)
# SMS_IR_KEEP_WORK=1 keeps it (results/, tmp_check/log/) for a look afterwards.
[ "${SMS_IR_KEEP_WORK:-0}" = 1 ] && echo "test work directory: $work" || trap 'rm -rf "$work"' EXIT
cp -a "$src/." "$work/"
rm -rf "$work/.git"
chown -R postgres:postgres "$work"

runuser -u postgres -- bash -s "$work" <<'INNER'
set -uo pipefail
cd "$1"
status=0

# The mocks check themselves first (test/mock/selftest.py, under a second).
if ! python3 test/mock/selftest.py; then
  status=1
fi
# README's provider table says what the registry's capability matrix says.
if ! python3 scripts/check_readme_capabilities.py; then
  status=1
fi

# pg_regress suites talk to a mock provider on a free port.
python3 test/mock --port 0 --quiet > mock.out 2> mock.err &
mock_pid=$!
for _ in $(seq 100); do grep -q READY mock.out 2>/dev/null && break; sleep 0.05; done
port=$(awk '/READY/ {print $2}' mock.out)
sed -i "s|127.0.0.1:57411|127.0.0.1:$port|" test/regress.conf
# secrets by reference: a file only the server's user can read
mkdir -p secrets && chmod 700 secrets
(umask 077 && printf 'test-key\n' > secrets/api_key)
sed -i "s|@SECRETS@|$PWD/secrets|" test/regress.conf
if ! make -s installcheck REGRESS_INSTANCE=temp; then
  status=1
  [ -f regression.diffs ] && head -n 300 regression.diffs
fi
kill "$mock_pid" 2>/dev/null

# TAP tests start their own clusters and mock providers.
if ls test/t/*.pl >/dev/null 2>&1; then
  if ! make -s tapcheck PROVE_FLAGS='--timer'; then
    status=1
    for f in tmp_check/log/regress_log_*; do
      [ -f "$f" ] && { echo "=== $f (tail)"; tail -n 60 "$f"; }
    done
  fi
fi
exit $status
INNER
