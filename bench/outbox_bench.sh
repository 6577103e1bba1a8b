#!/usr/bin/env bash
#
# bench/outbox_bench.sh -- the outbox path of sms_ir (SPEC §6, §10): drain
# throughput, commit->request latency, enqueue overhead, worker memory.
#
#   make && make install          # as root, first (or set SMS_IR_BUILD=1)
#   bash bench/outbox_bench.sh
#
# Starts a throw-away PostgreSQL cluster (as the "postgres" user, temp dir, unix
# socket only, sms_ir preloaded, its worker in database "postgres"), a local
# nginx (keep-alive, one worker process, a canned sms.ir verify reply) and the
# python mock of sms.ir (test/mock --quiet), all on 127.0.0.1, then:
#
# 1. drain: with the worker paused (sms_ir.worker_enabled = off), one transaction
#    queues BENCH_DRAIN_ROWS (20000) verify rows; the worker is enabled and timed
#    until all are sent (nginx as the provider).  Default settings, then
#    batch_size 1000 / max_concurrency 32.
# 2. commit->request latency: pgbench sends BENCH_LAT_MSGS (1000) one-statement
#    autocommit transactions at BENCH_LAT_RATE (100)/s, each queue_verify()'s
#    parameter being clock_timestamp() just before COMMIT; the python mock logs
#    each request's arrival time; latency = arrival - stamp.
# 3. enqueue overhead: pgbench, BENCH_ENQ_CLIENTS (4) clients, BENCH_ENQ_SECONDS
#    (15) s per run, worker paused: INSERT into orders without (a) and with (b)
#    an AFTER INSERT trigger calling queue_verify; a, b, a, b (BENCH_ENQ_ROUNDS).
# 4. worker memory: VmRSS / RssAnon of the sms_ir worker around each drain.
#
# Numbers are printed, never asserted.  The cluster runs with fsync = on and
# synchronous_commit = on (what production has; BENCH_FSYNC=off to compare) and
# default sms_ir settings unless stated.  BENCH_PERF=1 also profiles the worker
# with `perf record` during the first drain and prints the top symbols
# (BENCH_PERF_DATA=FILE keeps the perf.data).  BENCH_ENQ_DIRECT=1 adds a third
# enqueue variant (c): the trigger INSERTs into sms_ir.outbox itself.
# Everything is removed on exit, also on error or Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cluster.sh
. "$(dirname "$0")/../scripts/lib/cluster.sh"

DRAIN_ROWS=${BENCH_DRAIN_ROWS:-20000}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-120}
LAT_MSGS=${BENCH_LAT_MSGS:-1000}
LAT_RATE=${BENCH_LAT_RATE:-100}
ENQ_CLIENTS=${BENCH_ENQ_CLIENTS:-4}
ENQ_SECONDS=${BENCH_ENQ_SECONDS:-15}
ENQ_ROUNDS=${BENCH_ENQ_ROUNDS:-2}
FSYNC=${BENCH_FSYNC:-on}
PERF=${BENCH_PERF:-0}
API_KEY=test-key
NGINX_PID=
NGINX_PORT=
PERF_PID=
# results, by name, for the summary
declare -A R=()

for v in DRAIN_ROWS DRAIN_TIMEOUT LAT_MSGS LAT_RATE ENQ_CLIENTS ENQ_SECONDS ENQ_ROUNDS; do
  case ${!v} in *[!0-9]* | '' | 0) sms_die "BENCH_$v must be a positive integer" ;; esac
done
case $FSYNC in on | off) ;; *) sms_die "BENCH_FSYNC must be on or off" ;; esac

# --- plumbing ------------------------------------------------------------------

bench_cleanup() {
  local rc=$?
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

# --- 1. drain ------------------------------------------------------------------

# drain LABEL KEY [batch_size max_concurrency]
drain() {
  local label=$1 key=$2 bs=${3:-default} mc=${4:-default} pid rss0 rss1 out
  local elapsed rate span span_rate sent failed qms after_first
  echo
  echo "== drain: $label =="
  worker_conf worker_enabled=off batch_size="$bs" max_concurrency="$mc"
  wait_worker_state paused
  q -c "TRUNCATE sms_ir.outbox"
  qms=$(q <<SQL
SELECT set_config('bench.q0', extract(epoch FROM clock_timestamp())::text, false);
SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', g::text)))
  FROM generate_series(1, $DRAIN_ROWS) g;
SELECT round((extract(epoch FROM clock_timestamp()) - current_setting('bench.q0')::float8)::numeric * 1000);
SQL
  )
  qms=$(tail -n1 <<<"$qms")
  q -c "CHECKPOINT"
  pid=$(worker_pid)
  rss0=$(rss_of "$pid")
  echo "  queued $DRAIN_ROWS rows in one transaction in $qms ms (worker paused, pid $pid," \
    "batch_size $(q -c 'SHOW sms_ir.batch_size'), max_concurrency $(q -c 'SHOW sms_ir.max_concurrency'))"
  perf_start "$pid"

  # Enable, then poll every 20 ms (at most DRAIN_TIMEOUT s) until the worker's
  # sent + failed counters (bumped right after each batch's result transaction
  # commits; cheaper to poll than count(*), which competes for the 2 cores)
  # grew by DRAIN_ROWS.  count(*) and sent_at are checked afterwards.
  q -c "ALTER SYSTEM SET sms_ir.worker_enabled = on"
  out=$(q <<SQL
SELECT set_config('bench.s0', (sent + failed)::text, false) FROM sms_ir.worker_status();
SELECT set_config('bench.t0', extract(epoch FROM clock_timestamp())::text, false), pg_reload_conf();
DO \$\$
DECLARE
  n bigint;
BEGIN
  FOR i IN 1 .. $DRAIN_TIMEOUT * 50 LOOP
    SELECT sent + failed - current_setting('bench.s0')::bigint INTO n FROM sms_ir.worker_status();
    EXIT WHEN n >= $DRAIN_ROWS;
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
  perf_stop
  pid=$(worker_pid)
  rss1=$(rss_of "$pid")
  elapsed=$(sed -n 3p <<<"$out")
  read -r sent failed span after_first <<<"$(sed -n 4p <<<"$out")"
  rate=$(awk -v n="$sent" -v t="$elapsed" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  span_rate=$(awk -v n="$after_first" -v t="$span" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  echo "  enable -> all recorded sent: $elapsed s for $sent sent ($failed not sent)" \
    "= $rate messages/s"
  echo "  sent_at span (first batch recorded .. last batch recorded): $span s," \
    "$after_first rows recorded after the first batch = $span_rate messages/s"
  echo "  worker RSS (VmRSS / RssAnon kB): before $rss0, after ${rss1} (pid $pid)"
  [ "$sent" = "$DRAIN_ROWS" ] ||
    echo "  WARNING: only $sent of $DRAIN_ROWS rows sent within ${DRAIN_TIMEOUT}s;" \
      "statuses: $(q -c "SELECT string_agg(status || '=' || count, ' ') FROM sms_ir.outbox_stats WHERE count > 0")"
  R[${key}_rate]=$rate
  R[${key}_span_rate]=$span_rate
  R[${key}_secs]=$elapsed
  R[${key}_rss0]=$rss0
  R[${key}_rss1]=$rss1
}

# --- 2. commit -> request latency ----------------------------------------------

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
  sms_mock POST /__mock/reset '{}' >/dev/null

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

# --- 3. enqueue overhead -------------------------------------------------------

enqueue_setup() {
  q <<'SQL'
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  mobile text,
  otp text,
  created_at timestamptz DEFAULT now()
);
CREATE FUNCTION orders_queue_otp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sms_ir.queue_verify(NEW.mobile, 123456, jsonb_build_object('code', NEW.otp));
  RETURN NULL;
END
$$;
-- variant (c), BENCH_ENQ_DIRECT=1: the documented plain INSERT of kind + payload
CREATE FUNCTION orders_insert_otp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sms_ir.outbox (kind, payload)
  VALUES ('verify', jsonb_build_object('mobile', NEW.mobile, 'template_id', 123456,
                                       'parameters', jsonb_build_object('code', NEW.otp)));
  RETURN NULL;
END
$$;
SQL
  echo "INSERT INTO orders(mobile, otp) VALUES ('09121234567', '1234');" >"$SMS_WORK/insert.sql"
}

# utime + stime of process $1, in ms
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null ||
    echo 0
}

# enqueue_run a|b|c -> "TPS WORKER_CPU_MS WAL_BYTES_PER_TXN WAL_SYNC_MS ORDERS OUTBOX_ROWS"
enqueue_run() {
  local variant=$1 pg wpid c0 c1 lsn0
  q -c "DROP TRIGGER IF EXISTS orders_otp ON orders" >/dev/null 2>&1
  case $variant in
    b) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_queue_otp()" ;;
    c) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_insert_otp()" ;;
  esac
  q -c "TRUNCATE orders RESTART IDENTITY" -c "TRUNCATE sms_ir.outbox" -c "CHECKPOINT" \
    -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
  wpid=$(worker_pid)
  lsn0=$(q -c "SELECT pg_current_wal_lsn()")
  c0=$(cpu_ms "$wpid")
  pg=$(PGHOST=$SMS_WORK PGPORT=$SMS_PGPORT PGUSER=postgres "$SMS_PGBIN/pgbench" -n \
    -c "$ENQ_CLIENTS" -j "$(((ENQ_CLIENTS + 1) / 2))" -T "$ENQ_SECONDS" \
    -f "$SMS_WORK/insert.sql" postgres 2>&1) ||
    { echo "$pg" >&2; sms_die "pgbench failed"; }
  c1=$(cpu_ms "$wpid")
  echo "$(awk '/^tps = / { printf "%.1f", $3 }' <<<"$pg") $((c1 - c0)) $(q -F ' ' -c "
    SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / greatest(count(*), 1)),
           (SELECT coalesce(round((wal_sync_time / nullif(wal_sync, 0))::numeric, 2), 0) FROM pg_stat_wal),
           count(*), (SELECT count(*) FROM sms_ir.outbox)
      FROM orders")"
}

enqueue() {
  local r v tps cpu wal sync orders outbox variants=(a b) label
  [ "${BENCH_ENQ_DIRECT:-0}" = 1 ] && variants+=(c)
  echo
  echo "== enqueue overhead: pgbench $ENQ_CLIENTS clients x ${ENQ_SECONDS}s, worker paused," \
    "synchronous_commit on, fsync $FSYNC =="
  echo "  (a) INSERT INTO orders; (b) the same with an AFTER INSERT trigger calling sms_ir.queue_verify"
  [ "${BENCH_ENQ_DIRECT:-0}" = 1 ] &&
    echo "  (c) the same with an AFTER INSERT trigger doing INSERT INTO sms_ir.outbox (kind, payload)"
  echo "  worker cpu: CPU time the paused worker used in the run (each commit that queued wakes it);"
  echo "  sync avg: mean WAL fsync time (high = the run is bound by the disk, not by the CPU)"
  worker_pause
  enqueue_setup
  for v in "${variants[@]}"; do : >"$SMS_WORK/tps.$v"; done
  for ((r = 1; r <= ENQ_ROUNDS; r++)); do
    for v in "${variants[@]}"; do
      read -r tps cpu wal sync orders outbox <<<"$(enqueue_run "$v")"
      echo "$tps" >>"$SMS_WORK/tps.$v"
      case $v in
        a) label="plain insert" ;;
        b) label="insert + queue_verify" ;;
        c) label="insert + outbox INSERT" ;;
      esac
      printf '  round %d  (%s) %-22s %8s tps  worker cpu %4s ms  WAL %3s B/txn, sync avg %5s ms  %s orders, %s outbox rows\n' \
        "$r" "$v" "$label" "$tps" "$cpu" "$wal" "$sync" "$orders" "$outbox"
    done
  done
  R[enq_a]=$(median <"$SMS_WORK/tps.a")
  R[enq_b]=$(median <"$SMS_WORK/tps.b")
  R[enq_ratio]=$(awk -v a="${R[enq_a]}" -v b="${R[enq_b]}" 'BEGIN { printf "%.1f", (a > 0 ? 100 * b / a : 0) }')
  echo "  median (a) ${R[enq_a]} tps, median (b) ${R[enq_b]} tps, b/a ${R[enq_ratio]}%"
  if [ "${BENCH_ENQ_DIRECT:-0}" = 1 ]; then
    R[enq_c]=$(median <"$SMS_WORK/tps.c")
    R[enq_ratio_c]=$(awk -v a="${R[enq_a]}" -v c="${R[enq_c]}" 'BEGIN { printf "%.1f", (a > 0 ? 100 * c / a : 0) }')
    echo "  median (c) ${R[enq_c]} tps, c/a ${R[enq_ratio_c]}%"
  fi
}

# --- main --------------------------------------------------------------------

summary() {
  local t_end=$1
  echo
  echo "==================== outbox_bench summary ===================="
  echo "machine: $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg); fsync $FSYNC," \
    "synchronous_commit on"
  printf '%-54s %12s   %s\n' "drain, defaults (batch 200, concurrency 16)" "${R[d1_rate]} msg/s" \
    "target >= 5000 (sent_at span: ${R[d1_span_rate]} msg/s; ${R[d1_secs]} s for $DRAIN_ROWS)"
  printf '%-54s %12s   %s\n' "drain, batch_size 1000, max_concurrency 32" "${R[d2_rate]} msg/s" \
    "(sent_at span: ${R[d2_span_rate]} msg/s; ${R[d2_secs]} s)"
  printf '%-54s %12s   %s\n' "commit->request p50 at ~$LAT_RATE msg/s" "${R[lat_p50]} ms" "target <= 5 ms"
  printf '%-54s %12s   %s\n' "commit->request p90" "${R[lat_p90]} ms" ""
  printf '%-54s %12s   %s\n' "commit->request p99" "${R[lat_p99]} ms" "target <= 25 ms"
  printf '%-54s %12s   %s\n' "commit->request max" "${R[lat_max]} ms" ""
  printf '%-54s %12s   %s\n' "  COMMIT acknowledged->request p50 / p99" "${R[ack_p50]} / ${R[ack_p99]}" "ms (client's fsync excluded)"
  printf '%-54s %12s   %s\n' "  WAL sync avg during the latency run" "${R[lat_walsync]}" ""
  printf '%-54s %12s   %s\n' "enqueue: plain insert, median tps" "${R[enq_a]}" ""
  printf '%-54s %12s   %s\n' "enqueue: insert + trigger queue_verify, median tps" "${R[enq_b]}" ""
  printf '%-54s %12s   %s\n' "enqueue: ratio b/a" "${R[enq_ratio]}%" "target >= 90%"
  if [ -n "${R[enq_c]:-}" ]; then
    printf '%-54s %12s   %s\n' "enqueue: (c) trigger INSERTs into outbox, median tps" "${R[enq_c]}" "(c/a ${R[enq_ratio_c]}%)"
  fi
  printf '%-54s %12s   %s\n' "worker VmRSS / RssAnon before drain 1 (kB)" "${R[d1_rss0]// / \/ }" ""
  printf '%-54s %12s   %s\n' "worker VmRSS / RssAnon after drain 1 (kB)" "${R[d1_rss1]// / \/ }" ""
  printf '%-54s %12s   %s\n' "worker VmRSS / RssAnon after drain 2 (kB)" "${R[d2_rss1]// / \/ }" ""
  printf '%-54s %12s   %s\n' "worker VmRSS / RssAnon at the end (kB)" "${R[end_rss]// / \/ }" ""
  echo "total time: ${t_end}s (numbers are printed, not asserted; machine shared and noisy)"
}

main() {
  local t_start
  t_start=$(date +%s)
  trap bench_cleanup EXIT
  trap sms_interrupted INT TERM

  sms_workdir sms_ir_outbox_bench
  if [ "${SMS_IR_BUILD:-0}" = 1 ]; then
    sms_build
  fi
  [ -f "$("$SMS_PG_CONFIG" --pkglibdir)/sms_ir.so" ] ||
    sms_die "sms_ir is not installed: run 'make && make install' (or SMS_IR_BUILD=1)"
  command -v nginx >/dev/null 2>&1 || sms_die "nginx not found (apt-get install nginx-light)"
  nginx_start
  sms_mock_start
  sms_cluster_start "sms_ir.base_url = 'http://127.0.0.1:$NGINX_PORT'
sms_ir.api_key = 'file:$(sms_secret_file api_key "$API_KEY")'
sms_ir.line_number = '30004505000017'
sms_ir.database_name = 'postgres'
fsync = $FSYNC
synchronous_commit = on
track_wal_io_timing = on"
  q -c "CREATE EXTENSION sms_ir"
  # the canned nginx reply must parse as a successful sms.ir send
  [ "$(q -c "SELECT message_id FROM sms_ir.sms_send_verify('09121234567', 123456, '{\"code\":\"1\"}')")" = 89545112 ] ||
    sms_die "sms_send_verify through nginx did not return the canned messageId"
  wait_worker_state idle

  echo "outbox_bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$SMS_PGBIN/postgres" -V); $(nginx -v 2>&1 | sed 's/.*: //') at 127.0.0.1:$NGINX_PORT;" \
    "python mock at $SMS_MOCK_URL; fsync $FSYNC, synchronous_commit on"

  drain "defaults (batch_size 200, max_concurrency 16), nginx keep-alive" d1
  PERF=0 drain "batch_size 1000, max_concurrency 32, nginx keep-alive" d2 1000 32
  latency
  enqueue
  R[end_rss]=$(rss_of "$(worker_pid)")
  summary "$(($(date +%s) - t_start))"
}

main "$@"
