# shellcheck shell=bash
# shellcheck disable=SC2034  # globals (API_KEY, QUEUE_MS, D_*) are read by the scripts that source this
#
# bench/lib.sh -- plumbing shared by bench/outbox_bench.sh and bench/run.sh, on
# top of scripts/lib/cluster.sh (cluster, python mock, cleanup).
#
# Which PostgreSQL: SMS_PG_CONFIG (or PG_CONFIG) names its pg_config; the build
# (SMS_IR_BUILD=1), the cluster, psql and pgbench all follow it.  Default: the
# pg_config on PATH.
#
#   q ARGS...                 psql -qAt on the bench cluster
#   bench_cleanup             EXIT trap: stop BENCH_BG_PIDS, perf, nginx, then sms_cleanup
#   bench_bg PID              have bench_cleanup kill PID (a background process)
#   bench_check_loaded PID LIB   die unless process PID mapped $pkglibdir/LIB.so
#   bench_private_pg          BENCH_PG_COPY=1: run on a private copy of that PostgreSQL
#   nginx_start               canned sms.ir verify reply on 127.0.0.1:$NGINX_PORT
#   bench_start [CONF]        nginx, the mock, the cluster (sms_ir towards nginx, fsync
#                             $FSYNC, CONF appended), CREATE EXTENSION sms_ir, one sync
#                             send through nginx; the worker idle -> R[so] (its sms_ir.so)
#   worker_conf K=V ...       ALTER SYSTEM SET sms_ir.K (V "default" resets) + reload
#   worker_pause, wait_worker_state STATE [S], worker_pid, rss_of PID, cpu_ms PID, median
#   queue_rows N              TRUNCATE the outbox, queue N verify rows (code = row
#                             number) in one transaction -> $QUEUE_MS
#   drain_timed N TIMEOUT     enable the worker, time until N more rows are sent or
#                             failed -> $D_SECS $D_SENT $D_NOTSENT $D_RATE $D_SPAN $D_SPAN_RATE
#   mock_reset                clear the mock's log, faults and state; credit for 10^9 messages
#   latency                   commit->request latency at LAT_RATE/s (python mock) -> R[lat_*]
#   perf_start PID / perf_stop   BENCH_PERF=1: profile PID

if [ -n "${SMS_PG_CONFIG:-}" ]; then
  # cluster.sh reads PG_CONFIG; exported, the Makefile (PG_CONFIG ?=) follows it too
  export PG_CONFIG=$SMS_PG_CONFIG
elif [ -n "${PG_CONFIG:-}" ]; then
  export PG_CONFIG
fi
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/cluster.sh"

API_KEY=test-key
NGINX_PID=
NGINX_PORT=
PERF_PID=
PERF=${BENCH_PERF:-0}
FSYNC=${BENCH_FSYNC:-on}
LAT_MSGS=${BENCH_LAT_MSGS:-1000}
LAT_RATE=${BENCH_LAT_RATE:-100}
BENCH_BG_PIDS=()
# results, by name, for the summaries
declare -A R=()

# bench_positive NAME...: each $NAME (from BENCH_NAME) must be a positive integer
bench_positive() {
  local v
  for v in "$@"; do
    case ${!v} in *[!0-9]* | '' | 0) sms_die "BENCH_$v must be a positive integer" ;; esac
  done
}

bench_bg() {
  BENCH_BG_PIDS+=("$1")
}

# bench_private_pg: copy the PostgreSQL install that $SMS_PG_CONFIG belongs to
# (the tree holding its bindir, pkglibdir, sharedir and includedir) into
# $SMS_WORK/pg and point SMS_PG_CONFIG / PG_CONFIG at the copy, so that this run
# installs sms_ir (and pg_net) into a PostgreSQL nobody else installs into
# meanwhile.  Refuses a system-wide prefix (/ or /usr).
bench_private_pg() {
  local bindir prefix
  bindir=$("$SMS_PG_CONFIG" --bindir)
  prefix=$("$SMS_PG_CONFIG" --bindir --pkglibdir --sharedir --includedir-server | awk '
    NR == 1 { n = split($0, p, "/"); next }
    { m = split($0, c, "/"); k = 0
      for (i = 1; i <= n && i <= m && p[i] == c[i]; i++) k = i
      n = k }
    END { s = ""; for (i = 2; i <= n; i++) s = s "/" p[i]; print s }')
  prefix=${prefix%/usr}
  case $prefix in '' | / | /usr) sms_die "BENCH_PG_COPY=1: $SMS_PG_CONFIG is a system install; use a relocatable copy such as /opt/pgB" ;; esac
  mkdir -p "$SMS_WORK/pg"
  cp -a "$prefix/." "$SMS_WORK/pg/"
  SMS_PG_CONFIG=$SMS_WORK/pg${bindir#"$prefix"}/pg_config
  export PG_CONFIG=$SMS_PG_CONFIG
  [ "$("$SMS_PG_CONFIG" --bindir)" = "$SMS_WORK/pg${bindir#"$prefix"}" ] ||
    sms_die "the copy of $prefix is not relocatable ($SMS_PG_CONFIG --bindir: $("$SMS_PG_CONFIG" --bindir))"
  echo "private copy of $prefix in $SMS_WORK/pg"
}

# bench_check_loaded PID LIB: PID has mapped LIB.so from $SMS_PG_CONFIG's pkglibdir;
# prints the path.
bench_check_loaded() {
  local want
  want=$(readlink -f "$("$SMS_PG_CONFIG" --pkglibdir)/$2.so")
  grep -q " $want\$" "/proc/$1/maps" 2>/dev/null ||
    sms_die "process $1 has not loaded $want (maps: $(grep -o "/[^ ]*$2\.so" "/proc/$1/maps" | sort -u | tr '\n' ' '))"
  echo "$want"
}

# --- cluster, worker, nginx, perf ---------------------------------------------

bench_cleanup() {
  local rc=$? p
  for p in "${BENCH_BG_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  BENCH_BG_PIDS=()
  if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=
  fi
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
  fi
  # sms_cleanup reads the exit status from $?
  if [ "$rc" = 0 ]; then
    sms_cleanup
  else
    bench_rc "$rc" || sms_cleanup
  fi
}

bench_rc() {
  return "$1"
}

q() {
  sms_psql -qAt "$@"
}

# Wait (at most $2 s, default 10) until the worker reports state $1.
wait_worker_state() {
  local want=$1 limit=${2:-10} i st=
  for ((i = 0; i < limit * 20; i++)); do
    st=$(q -c "SELECT state FROM sms_ir.worker_status()")
    [ "$st" = "$want" ] && return 0
    sleep 0.05
  done
  sms_die "the sms_ir worker did not reach state '$want' within ${limit}s (state: '$st')"
}

# Set worker settings (NAME=VALUE ... ; VALUE "default" resets) and reload.
worker_conf() {
  local kv args=()
  # one -c each: ALTER SYSTEM refuses to run in a multi-statement string
  for kv in "$@"; do
    if [ "${kv#*=}" = default ]; then
      args+=(-c "ALTER SYSTEM RESET sms_ir.${kv%%=*}")
    else
      args+=(-c "ALTER SYSTEM SET sms_ir.${kv%%=*} = '${kv#*=}'")
    fi
  done
  q "${args[@]}" -c "SELECT pg_reload_conf()" >/dev/null
}

worker_pause() {
  worker_conf worker_enabled=off
  wait_worker_state paused
}

worker_pid() {
  q -c "SELECT pid FROM sms_ir.worker_status()"
}

# "VmRSS_kB RssAnon_kB" of process $1
rss_of() {
  awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r + 0, a + 0 }' "/proc/$1/status"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

nginx_start() {
  local d=$SMS_WORK/nginx i
  NGINX_PORT=$(sms_free_port)
  mkdir -p "$d/logs" "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
# the sms.ir verify endpoint, canned (outbox_bench.sh)
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /v1/send/verify {
      return 200 '{"status":1,"message":"ok","data":{"messageId":89545112,"cost":1.0}}';
    }
    location / { return 404 '{"status":0,"message":"not here"}'; }
  }
}
EOF
  sms_quiet nginx-test nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" -t ||
    sms_die "nginx rejected its configuration"
  nginx -e "$d/logs/error.log" -p "$d/" -c "$d/nginx.conf" -g 'daemon off;' \
    >"$d/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for ((i = 0; i < 100; i++)); do
    if curl -sf --max-time 2 -X POST -d '{}' "http://127.0.0.1:$NGINX_PORT/v1/send/verify" \
      >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$d/logs/error.log" "$d/logs/stdout.log" >&2 2>/dev/null || true
  sms_die "nginx did not start"
}

perf_start() {
  [ "$PERF" = 1 ] || return 0
  command -v perf >/dev/null 2>&1 || { echo "  (perf not found; no profile)"; return 0; }
  # DWARF unwinding: Debian's postgres is built without frame pointers
  perf record -F 499 --call-graph dwarf,16384 -p "$1" -o "$SMS_WORK/perf.data" \
    >"$SMS_WORK/perf.log" 2>&1 &
  PERF_PID=$!
  sleep 0.5
}

perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=
  local f=$SMS_WORK/perf.data
  if [ -n "${BENCH_PERF_DATA:-}" ]; then
    cp "$f" "$BENCH_PERF_DATA" && echo "  (perf data copied to $BENCH_PERF_DATA)"
  fi
  echo "  perf profile of the worker during this drain:"
  echo "  - self time by library:"
  perf report -i "$f" --stdio --no-children --sort dso -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -n 8 | sed 's/^/      /' || true
  echo "  - self time by symbol (>= 1%; postgres has no debug symbols: static functions show as addresses):"
  perf report -i "$f" --stdio --no-children --sort dso,sym -g none --percent-limit 1 2>/dev/null |
    grep -E '^ +[0-9]' | head -n 25 | sed 's/^/      /' || true
  echo "  - time including callees, for the worker's steps and a few telling callees:"
  perf report -i "$f" --stdio --children --sort sym -g none --percent-limit 0.5 2>/dev/null |
    grep -E '^ +[0-9].*\] (run_batch|claim|send_rows|http_run|record|judge|next_due_ms|smsir_[a-z_]+|sms_payload_to_args|curl_multi_perform|curl_multi_poll|tuplesort_[a-z]+|ExecSort|ExecScan|ExecInsertIndexTuples|heap_update|jsonb_in|CommitTransactionCommand|XLogFlush|SPI_execute_with_args)( |$)' |
    awk '!seen[$0]++' | head -n 25 | sed 's/^/      /' || true
}

# utime + stime of process $1, in ms
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null ||
    echo 0
}


bench_start() {
  nginx_start
  sms_mock_start
  sms_cluster_start "sms_ir.base_url = 'http://127.0.0.1:$NGINX_PORT'
sms_ir.api_key = 'file:$(sms_secret_file api_key "$API_KEY")'
sms_ir.line_number = '30004505000017'
sms_ir.database_name = 'postgres'
# the drains queue thousands of codes to one mobile: no OTP throttle here
# (bench/enqueue_bench.sh measures what the throttle costs)
sms_ir.recipient_limit = '0'
fsync = $FSYNC
synchronous_commit = on
track_wal_io_timing = on
${1:-}"
  q -c "CREATE EXTENSION sms_ir"
  # the canned nginx reply must parse as a successful sms.ir send
  [ "$(q -c "SELECT message_id FROM sms_ir.sms_send_verify('09121234567', 123456, '{\"code\":\"1\"}')")" = 89545112 ] ||
    sms_die "sms_send_verify through nginx did not return the canned messageId"
  wait_worker_state idle
  R[so]=$(bench_check_loaded "$(worker_pid)" sms_ir)
}

# queue_rows N: worker paused, TRUNCATE the outbox, queue N verify rows in one
# transaction, code = row number (unique per row) -> $QUEUE_MS
queue_rows() {
  local out
  q -c "TRUNCATE sms_ir.outbox"
  out=$(q <<SQL
SELECT set_config('bench.q0', extract(epoch FROM clock_timestamp())::text, false);
SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', g::text)))
  FROM generate_series(1, $1) g;
SELECT round((extract(epoch FROM clock_timestamp()) - current_setting('bench.q0')::float8)::numeric * 1000);
SQL
  )
  QUEUE_MS=$(tail -n1 <<<"$out")
}

# drain_timed N TIMEOUT: enable the worker, then poll every 20 ms (at most
# TIMEOUT s) until its sent + failed counters (bumped right after each result
# transaction commits; cheaper to poll than count(*), which competes for the 2
# cores) grew by N.  The poller COMMITs after each poll, so it holds no snapshot
# (no xmin) during the drain.  count(*) and sent_at are checked afterwards.
drain_timed() {
  local n=$1 timeout=$2 out
  q -c "ALTER SYSTEM SET sms_ir.worker_enabled = on"
  out=$(q <<SQL
SELECT set_config('bench.s0', (sent + failed)::text, false) FROM sms_ir.worker_status();
SELECT set_config('bench.t0', extract(epoch FROM clock_timestamp())::text, false), pg_reload_conf();
DO \$\$
DECLARE
  n bigint;
BEGIN
  FOR i IN 1 .. $timeout * 50 LOOP
    SELECT sent + failed - current_setting('bench.s0')::bigint INTO n FROM sms_ir.worker_status();
    EXIT WHEN n >= $n;
    COMMIT;
    PERFORM pg_sleep(0.02);
  END LOOP;
  PERFORM set_config('bench.t1', extract(epoch FROM clock_timestamp())::text, false);
END
\$\$;
SELECT round((current_setting('bench.t1')::float8 - current_setting('bench.t0')::float8)::numeric, 3);
SELECT count(*) FILTER (WHERE status = 'sent') || ' ' || count(*) FILTER (WHERE status <> 'sent')
       || ' ' || coalesce(round(extract(epoch FROM max(sent_at) - min(sent_at))::numeric, 3), 0)
       || ' ' || count(*) FILTER (WHERE sent_at > (SELECT min(sent_at) FROM sms_ir.outbox))
  FROM sms_ir.outbox;
SQL
  )
  D_SECS=$(sed -n 3p <<<"$out")
  read -r D_SENT D_NOTSENT D_SPAN D_AFTER_FIRST <<<"$(sed -n 4p <<<"$out")"
  D_RATE=$(awk -v n="$D_SENT" -v t="$D_SECS" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  D_SPAN_RATE=$(awk -v n="$D_AFTER_FIRST" -v t="$D_SPAN" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  if [ "$D_SENT" != "$n" ]; then
    echo "  WARNING: $D_SENT of $n rows sent within ${timeout}s;" \
      "statuses: $(outbox_status_counts); errors: $(outbox_errors)"
  fi
}

mock_reset() {
  sms_mock POST /__mock/reset '{}' >/dev/null
  # the mock's sms.ir account starts with 10,000 credits; a bench sends more
  sms_mock POST /__mock/credit '{"credit": 1000000000}' >/dev/null
}

# outbox_errors: the commonest last_error of rows not sent, if any
outbox_errors() {
  q -c "SELECT string_agg(c || ' x ' || e, '; ') FROM (
          SELECT left(coalesce(last_error, '(none)'), 100) AS e, count(*) AS c FROM sms_ir.outbox
           WHERE status <> 'sent' GROUP BY 1 ORDER BY 2 DESC LIMIT 3) s"
}

# outbox_status_counts: "sent=N failed=M ..." for every status with rows
outbox_status_counts() {
  q -c "SELECT coalesce(string_agg(status || '=' || count, ' '), 'none') FROM sms_ir.outbox_stats WHERE count > 0"
}

# --- commit -> request latency (python mock) ---------------------------------

latency() {
  local i n pg lat
  echo
  echo "== commit->request latency: $LAT_MSGS messages at ~$LAT_RATE/s (python mock) =="
  worker_conf worker_enabled=off batch_size=default max_concurrency=default base_url="$SMS_MOCK_URL"
  wait_worker_state paused
  q -c "TRUNCATE sms_ir.outbox"
  worker_conf worker_enabled=on
  wait_worker_state idle
  # warm-up: the worker's keep-alive connection to the mock
  q -c "SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"warm\"}') FROM generate_series(1, 5)" >/dev/null
  for ((i = 0; i < 200; i++)); do
    [ "$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'")" = 5 ] && break
    sleep 0.05
  done
  q -c "TRUNCATE sms_ir.outbox" -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
  mock_reset

  cat >"$SMS_WORK/lat.sql" <<'SQL'
SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', to_char(extract(epoch FROM clock_timestamp()), 'FM9999999999.999999')));
SQL
  # --log: one line per transaction with the time it completed (commit acknowledged)
  pg=$(PGHOST=$SMS_WORK PGPORT=$SMS_PGPORT PGUSER=postgres "$SMS_PGBIN/pgbench" -n -c 1 -j 1 \
    -R "$LAT_RATE" -t "$LAT_MSGS" --log --log-prefix="$SMS_WORK/lat" \
    -f "$SMS_WORK/lat.sql" postgres 2>&1) ||
    { echo "$pg" >&2; sms_die "pgbench failed"; }
  for ((i = 0; i < 600; i++)); do
    n=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE status IN ('sent', 'failed', 'unknown')")
    [ "$n" -ge "$LAT_MSGS" ] && break
    sleep 0.05
  done
  echo "  pgbench (1 client, -R $LAT_RATE, Poisson arrivals): $(awk '/^tps = / { printf "%.1f tx/s", $3 }' <<<"$pg"); $(grep -E '^latency average' <<<"$pg" | sed 's/ = / /'); $(grep -E '^rate limit schedule lag' <<<"$pg" | sed 's/ = / /')"
  R[lat_walsync]=$(q -c "SELECT coalesce(round((wal_sync_time / nullif(wal_sync, 0))::numeric, 2)::text || ' ms', 'n/a') FROM pg_stat_wal")
  echo "  WAL syncs during the run: $(q -c "SELECT wal_sync FROM pg_stat_wal"), avg ${R[lat_walsync]} each" \
    "(client commits, the worker's claim and result commits)"

  cat "$SMS_WORK"/lat.[0-9]* >"$SMS_WORK/lat.log" 2>/dev/null || : >"$SMS_WORK/lat.log"
  lat=$(sms_mock GET /__mock/requests | python3 -c '
import json, sys

# request arrivals at the mock, with the stamp carried in the parameter
arrivals = []
for e in json.load(sys.stdin):
    if e["path"] != "/v1/send/verify" or not isinstance(e["body"], dict):
        continue
    try:
        stamp = float(e["body"]["parameters"][0]["value"])
    except (KeyError, IndexError, TypeError, ValueError):
        continue
    arrivals.append((stamp, e["t"]))
arrivals.sort()
# pgbench --log: client_id tx_no latency_us script_no epoch_s epoch_us [lag]; one
# client, so the i-th transaction carries the i-th stamp
done = []
with open(sys.argv[1]) as f:
    for line in f:
        p = line.split()
        if len(p) >= 6:
            done.append((int(p[1]), int(p[4]) + int(p[5]) / 1e6))
done = [t for _, t in sorted(done)]

def stats(xs):
    xs = sorted(xs)
    if not xs:
        return ["nan"] * 5
    def pct(p):
        k = max(0, min(len(xs) - 1, int(p / 100.0 * len(xs) + 0.999999) - 1))
        return xs[k]
    return ["%.2f" % v for v in (pct(50), pct(90), pct(99), xs[-1], sum(xs) / len(xs))]

a = [(t - s) * 1000 for s, t in arrivals]
if len(done) == len(arrivals):
    b = [(t - d) * 1000 for (s, t), d in zip(arrivals, done)]
    c = [(d - s) * 1000 for (s, t), d in zip(arrivals, done)]
else:
    b, c = [], []
print(len(arrivals), len(done), *stats(a), *stats(b), *stats(c))
' "$SMS_WORK/lat.log")
  read -r n i "R[lat_p50]" "R[lat_p90]" "R[lat_p99]" "R[lat_max]" "R[lat_avg]" \
    "R[ack_p50]" "R[ack_p90]" "R[ack_p99]" "R[ack_max]" "R[ack_avg]" \
    "R[cmt_p50]" "R[cmt_p90]" "R[cmt_p99]" "R[cmt_max]" "R[cmt_avg]" <<<"$lat"
  echo "  requests received by the mock: $n of $LAT_MSGS (pgbench logged $i transactions)"
  printf '  %-44s p50 %6s  p90 %6s  p99 %6s  max %6s  mean %6s\n' \
    "stamp before COMMIT -> request arrives (ms):" "${R[lat_p50]}" "${R[lat_p90]}" "${R[lat_p99]}" "${R[lat_max]}" "${R[lat_avg]}" \
    "COMMIT acknowledged -> request arrives (ms):" "${R[ack_p50]}" "${R[ack_p90]}" "${R[ack_p99]}" "${R[ack_max]}" "${R[ack_avg]}" \
    "stamp before COMMIT -> COMMIT acknowledged:" "${R[cmt_p50]}" "${R[cmt_p90]}" "${R[cmt_p99]}" "${R[cmt_max]}" "${R[cmt_avg]}"
  echo "  worker side, created_at (txn start) -> sent_at (result recorded) (ms): $(q -c "
    SELECT 'p50 ' || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY d))::numeric, 2)
        || '  p99 ' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY d))::numeric, 2)
      FROM (SELECT extract(epoch FROM sent_at - created_at) * 1000 AS d
              FROM sms_ir.outbox WHERE status = 'sent') s")"
  cat <<EOF
  method: each message's parameter is clock_timestamp() taken in its transaction just before
  COMMIT; the mock logs time.time() when it starts handling the request (same clock).  The
  first line is the issue's figure: it includes the client's own commit (its WAL fsync,
  fsync = $FSYNC), the commit-time wake-up, the worker's claim transaction (another commit
  and WAL fsync, before any request), libcurl and the mock's HTTP parsing.  The second line
  starts when pgbench got the COMMIT reply (its --log completion time), so the client's
  fsync is out of it; it can be below zero, since the worker is woken before the reply
  reaches the client.  The third line is that commit itself, as the client sees it.
EOF
}
