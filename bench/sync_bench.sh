#!/usr/bin/env bash
#
# bench/sync_bench.sh -- synchronous call latency of sms_ir versus plain curl
# (SPEC §10; issue target: extension <= 1.5 x curl).
#
#   make && make install          # as root, first (or set SMS_IR_BUILD=1)
#   bash bench/sync_bench.sh
#
# Starts the local mock of sms.ir (test/mock --quiet) on a free port
# of 127.0.0.1 and a throw-away PostgreSQL cluster (as the "postgres" user, temp
# dir, unix socket only; the extension is created in a database of its own so
# that the outbox worker, which runs in sms_ir.database_name, stays idle), then,
# 3 times, alternating:
#   extension: one psql session, a DO block runs 50 warm-up calls, then times
#              1000 sequential sms_ir.sms_send_verify('09121234567', 123456,
#              '{"code":"4821"}') calls with clock_timestamp() inside the session;
#   curl:      one curl process sends the identical request 1000 times (same
#              headers, same body, keep-alive, `next` entries of a -K config),
#              output discarded; timed with date around the process (so curl's
#              process start and config parsing are included), and also as the
#              sum of each transfer's %{time_total} (a stricter baseline).
# Prints the median of each, the ratio, and per run the number of requests the
# mock received (and how many got HTTP 200) and the TCP connections opened
# (new client ports to the mock seen by `ss`, including TIME_WAIT).
#
# Environment: SMS_IR_BUILD=1 builds and installs first; BENCH_CALLS (1000),
# BENCH_WARMUP (50) and BENCH_RUNS (3, odd) change the fixed counts.
# Everything stays on 127.0.0.1 and is removed on exit.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cluster.sh
. "$(dirname "$0")/../scripts/lib/cluster.sh"

CALLS=${BENCH_CALLS:-1000}
WARMUP=${BENCH_WARMUP:-50}
RUNS=${BENCH_RUNS:-3}
API_KEY=test-key
BODY='{"mobile":"09121234567","templateId":123456,"parameters":[{"name":"code","value":"4821"}]}'

# Client ports of TCP sockets to the mock (any state, TIME_WAIT included).
client_ports() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -tanH "( dport = :$SMS_MOCK_PORT )" | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u
}

# Start a run: empty mock log, remember the client ports already seen.
run_begin() {
  sms_mock POST /__mock/reset '{}' >/dev/null
  client_ports >"$SMS_WORK/ports.before"
}

# End a run: print "requests=N ok=M conns=C" for what the mock saw.
run_end() {
  local conns='?'
  if command -v ss >/dev/null 2>&1; then
    client_ports >"$SMS_WORK/ports.after"
    # the control calls' own connections are outside the two snapshots
    conns=$(comm -13 "$SMS_WORK/ports.before" "$SMS_WORK/ports.after" | wc -l)
  fi
  sms_mock GET /__mock/requests | python3 -c '
import json, sys
log = json.load(sys.stdin)
print("requests=%d ok=%d" % (len(log), sum(1 for e in log if e["reply_status"] == 200)), end="")
'
  echo " conns=$conns"
}

# Milliseconds for $CALLS sms_send_verify calls in one session (after $WARMUP).
run_extension() {
  sms_psql -qAt <<SQL
DO \$\$
DECLARE
  t0 timestamptz;
BEGIN
  FOR i IN 1..$WARMUP LOOP
    PERFORM * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code":"4821"}');
  END LOOP;
  t0 := clock_timestamp();
  FOR i IN 1..$CALLS LOOP
    PERFORM * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"code":"4821"}');
  END LOOP;
  PERFORM set_config('bench.ms',
                     (extract(epoch FROM clock_timestamp() - t0) * 1000)::text, false);
END
\$\$;
SELECT round(current_setting('bench.ms')::numeric, 1);
SQL
}

# A curl -K config with $1 transfers of the extension's exact request.
write_curl_config() {
  local n=$1 file=$2 body_q i
  body_q=${BODY//\\/\\\\}
  body_q=${body_q//\"/\\\"}
  {
    echo 'silent'
    echo 'show-error'
    for ((i = 1; i <= n; i++)); do
      echo "url = \"$SMS_MOCK_URL/v1/send/verify\""
      echo "header = \"X-API-KEY: $API_KEY\""
      echo 'header = "Accept: application/json"'
      echo 'header = "Content-Type: application/json"'
      echo 'user-agent = "sms_ir/0.1"'
      echo "data-binary = \"$body_q\""
      echo 'output = "/dev/null"'
      # shellcheck disable=SC2028  # the \n is for curl, not for echo
      echo 'write-out = "%{time_total}\n"'
      if [ "$i" -lt "$n" ]; then echo 'next'; fi
    done
  } >"$file"
}

# "WALL XFER": milliseconds of one curl process sending the requests of config
# $1 (wall clock, process start included) and the sum of its transfers' own
# time_total (%{time_total} per transfer: no process start, no config parsing).
run_curl() {
  local t0 t1
  t0=$(date +%s%N)
  curl -K "$1" >"$SMS_WORK/curl.times"
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" '{ s += $1 } END { printf "%.1f %.1f\n", (b - a) / 1e6, s * 1000 }' \
    "$SMS_WORK/curl.times"
}

median() {
  sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

main() {
  trap sms_cleanup EXIT
  trap sms_interrupted INT TERM
  case $RUNS in *[!0-9]* | '' | 0) sms_die "BENCH_RUNS must be a positive integer" ;; esac

  sms_workdir sms_ir_bench
  if [ "${SMS_IR_BUILD:-0}" = 1 ]; then
    sms_build
  fi
  [ -f "$("$SMS_PG_CONFIG" --pkglibdir)/sms_ir.so" ] ||
    sms_die "sms_ir is not installed: run 'make && make install' (or SMS_IR_BUILD=1)"
  sms_mock_start
  sms_cluster_start "sms_ir.base_url = '$SMS_MOCK_URL'
sms_ir.api_key = 'file:$(sms_secret_file api_key "$API_KEY")'
sms_ir.line_number = '30004505000017'
sms_ir.recipient_limit = '0'"
  # Not in sms_ir.database_name (postgres): the outbox worker stays idle there
  # instead of competing with the benchmark for the CPU.
  sms_psql -q -c 'CREATE DATABASE sms_ir_bench'
  # shellcheck disable=SC2034  # read by sms_psql
  SMS_PGDATABASE=sms_ir_bench
  sms_psql -q -c 'CREATE EXTENSION sms_ir'

  write_curl_config "$CALLS" "$SMS_WORK/curl.cfg"
  write_curl_config 1 "$SMS_WORK/curl1.cfg"

  echo "sync_bench: $CALLS sequential sms_send_verify calls per run (+$WARMUP warm-up for the" \
    "extension) vs $CALLS keep-alive POSTs by one curl process; $RUNS runs each, alternating"
  echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$SMS_PGBIN/postgres" -V); $(curl -V | head -n1 | cut -d' ' -f1-2); mock at $SMS_MOCK_URL"

  local r ms xfer info
  : >"$SMS_WORK/ext.ms"
  : >"$SMS_WORK/curl.ms"
  for ((r = 1; r <= RUNS; r++)); do
    run_begin
    ms=$(run_extension)
    info=$(run_end)
    echo "$ms" >>"$SMS_WORK/ext.ms"
    printf 'run %d  extension %9s ms   mock: %s\n' "$r" "$ms" "$info"

    run_begin
    read -r ms xfer < <(run_curl "$SMS_WORK/curl.cfg")
    info=$(run_end)
    echo "$ms" >>"$SMS_WORK/curl.ms"
    echo "$xfer" >>"$SMS_WORK/xfer.ms"
    printf 'run %d  curl      %9s ms   mock: %s   (transfers alone: %s ms)\n' \
      "$r" "$ms" "$info" "$xfer"
  done
  run_begin
  read -r ms xfer < <(run_curl "$SMS_WORK/curl1.cfg")
  echo "curl process start + 1 request (part of each curl wall-clock figure): $ms ms"

  local ext cu cx
  ext=$(median <"$SMS_WORK/ext.ms")
  cu=$(median <"$SMS_WORK/curl.ms")
  cx=$(median <"$SMS_WORK/xfer.ms")
  echo
  awk -v e="$ext" -v c="$cu" -v x="$cx" -v n="$CALLS" 'BEGIN {
    printf "extension: %.0f ms for %d calls (%.0f µs/call)\n", e, n, e * 1000 / n
    printf "curl: %.0f ms for %d calls (%.0f µs/call)\n", c, n, c * 1000 / n
    printf "ratio extension/curl: %.2f (target ≤ 1.5)\n", e / c
    printf "stricter, against curl'"'"'s transfers alone (%.0f µs/call): %.2f\n", x * 1000 / n, e / x
  }'
}

main "$@"
