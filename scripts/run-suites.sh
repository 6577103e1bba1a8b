#!/usr/bin/env bash
# Runs every suite of the tree against an installed sms_ir, as root:
#   bash scripts/run-suites.sh LABEL
# with PG_CONFIG naming the PostgreSQL install that has sms_ir installed
# (the system one with the .deb, a private copy after `make install`, or the
# sanitizer copy of scripts/asan.sh).  Nothing is built or installed here.
#
# PostgreSQL refuses to run as root: the tree is copied to a /tmp work
# directory owned by postgres, where the mock provider's self-test, the
# README check, pg_regress (a temp instance) and the TAP tests run.
# SMS_IR_SANITIZER_CHECK=1 also fails the run when any server log there
# holds an AddressSanitizer or UndefinedBehaviorSanitizer report.
# SMS_IR_KEEP_WORK=1 keeps the work directory (results/, tmp_check/log/).
# PROVE_TESTS='test/t/001_outbox.pl' runs some TAP tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
label=${1:?usage: run-suites.sh LABEL}
: "${PG_CONFIG:?run-suites.sh: PG_CONFIG must name the PostgreSQL install to test}"
export PG_CONFIG LANG=C.UTF-8 LC_ALL=C.UTF-8
src=$(pwd)

work=$(mktemp -d "/tmp/sms_ir_test.$label.XXXXXX")
[ "${SMS_IR_KEEP_WORK:-0}" = 1 ] && echo "$label: test work directory: $work" || trap 'rm -rf "$work"' EXIT
cp -a "$src/." "$work/"
rm -rf "$work/.git"
chown -R postgres:postgres "$work"
echo "== $label: suites against $("$PG_CONFIG" --bindir)"

status=0
runuser -u postgres -- env PG_CONFIG="$PG_CONFIG" ${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"} \
  bash -s "$work" <<'INNER' || status=1
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

# Server logs: pg_regress's (log/) and every TAP node's (tmp_check/, with
# any logging_collector files under the data directories).
if [ "${SMS_IR_SANITIZER_CHECK:-0}" = 1 ]; then
  reports=$(grep -rlE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' \
              "$work/log" "$work/tmp_check" 2>/dev/null || true)
  if [ -n "$reports" ]; then
    status=1
    for f in $reports; do
      echo "=== $label: sanitizer report in ${f#"$work"/}"
      { grep -nE -A 40 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" || true; } | head -n 80 || true
    done
  else
    echo "== $label: no sanitizer report in any server log"
  fi
fi
[ $status = 0 ] && echo "== $label: suites passed" || echo "== $label: suites FAILED" >&2
exit $status
