#!/usr/bin/env bash
#
# bench/run.sh -- issue 9's benchmark list in one command, each target printed
# beside its peer or baseline from the same run (SPEC §10).
#
#   bash bench/run.sh                       # as root; sms_ir installed (or SMS_IR_BUILD=1)
#   SMS_PG_CONFIG=/path/to/pg_config bash bench/run.sh   # another PostgreSQL install
#   BENCH_ONLY=drain,hol bash bench/run.sh  # some parts only
#
# One throw-away cluster (scripts/lib/cluster.sh: "postgres" user, temp dir,
# unix socket only, fsync on, synchronous_commit on, sms_ir preloaded with
# default settings, its worker in database "postgres"), a local nginx (canned
# sms.ir verify reply, keep-alive) and the python mock (test/mock), then the parts
# named in BENCH_ONLY (default: all, in this order):
#
#   drain     BENCH_DRAIN_ROWS (20000) verify rows queued in one transaction with
#             the worker paused, then enabled; msg/s against nginx (after an
#             untimed 1000-row warm-up drain).  Peer: pg_net
#             (BENCH_PGNET_TARBALL, default ../shared/peers/pg_net-*.tar.gz) built
#             into the same PostgreSQL and preloaded; the same number of
#             net.http_post calls (same URL, headers and JSON body) queued in one
#             transaction, timed from COMMIT until net._http_response has them all.
#             BENCH_PGNET=0 skips the peer.
#   hol       head-of-line: BENCH_HOL_ROWS (2000) rows against the python mock, with
#             no fault, then with 2% of requests delayed 3 s (BENCH_HOL_PROB,
#             BENCH_HOL_DELAY_MS); drain times and requests the mock received.
#   dup       BENCH_DUP_KILLS (3) rounds: BENCH_DUP_ROWS (20000) rows (code = row
#             number) draining against the mock, kill -9 of the sms_ir worker once
#             the mock has BENCH_DUP_KILL_AT (5000) requests; after the crash
#             restart and the drain: requests - distinct rows = duplicates.
#   backlog   BENCH_BACKLOG_SMALL (20000) vs BENCH_BACKLOG_BIG (200000) queued rows
#             against nginx: rates, ratio, worker RssAnon before/after each.
#   snapshot  BENCH_SNAP_ROWS (50000) rows against nginx, free and with another
#             session idle in a REPEATABLE READ transaction that holds a snapshot.
#   latency   commit->request p50/p99 at BENCH_LAT_RATE (100) msg/s, python mock
#             (BENCH_LAT_MSGS, 1000 messages; as outbox_bench.sh).
#   lanes     priority lanes (SPEC §11.3): BENCH_LANES_ROWS (100000) one-mobile bulk
#             rows queued in one transaction, the python mock delaying every bulk
#             send BENCH_LANES_DELAY_MS ms (100-200: 11 steps, one drawn per request;
#             or one value, e.g. 150), the worker enabled; while the backlog drains,
#             BENCH_LANES_OTPS (200) queue_verify calls, one per transaction at
#             BENCH_LANES_RATE (10)/s (pgbench), commit->request p50/p99 as in latency.  Baseline, same run: the same OTPs with
#             priority => 0 (the bulk rows' lane) behind a fresh backlog of the same
#             size; OTPs that reach the mock within BENCH_LANES_WAIT (60) s of the
#             last one's commit are counted.  Bulk requests during the OTP window
#             are printed (the backlog was draining).
#   enqueue   if bench/enqueue_bench.sh exists, it runs (its own cluster) and its
#             "enqueue:" summary lines are included.
#
# BENCH_PG_COPY=1 copies the PostgreSQL install of SMS_PG_CONFIG (e.g. /opt/pgB, not a
# system one) into the work dir and builds and installs sms_ir (and pg_net) there,
# so that nobody else's make install can swap the library mid-run.
# Timeouts (s): BENCH_DRAIN_TIMEOUT (300, every sms_ir drain), BENCH_PGNET_TIMEOUT
# (600), BENCH_DUP_TIMEOUT (300, per round).  Numbers are printed, never asserted.
# Everything (cluster, nginx, mock, background psql) is removed on exit, also on
# error or Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ONLY=${BENCH_ONLY:-drain,hol,dup,backlog,snapshot,latency,lanes,enqueue}
DRAIN_ROWS=${BENCH_DRAIN_ROWS:-20000}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-300}
PGNET=${BENCH_PGNET:-1}
PGNET_TIMEOUT=${BENCH_PGNET_TIMEOUT:-600}
PGNET_TARBALL=${BENCH_PGNET_TARBALL:-}
HOL_ROWS=${BENCH_HOL_ROWS:-2000}
HOL_PROB=${BENCH_HOL_PROB:-0.02}
HOL_DELAY_MS=${BENCH_HOL_DELAY_MS:-3000}
DUP_ROWS=${BENCH_DUP_ROWS:-20000}
DUP_KILLS=${BENCH_DUP_KILLS:-3}
DUP_KILL_AT=${BENCH_DUP_KILL_AT:-5000}
DUP_TIMEOUT=${BENCH_DUP_TIMEOUT:-300}
BACKLOG_SMALL=${BENCH_BACKLOG_SMALL:-20000}
BACKLOG_BIG=${BENCH_BACKLOG_BIG:-200000}
SNAP_ROWS=${BENCH_SNAP_ROWS:-50000}
# (BENCH_LANE_BACKLOG, _OTPS, _RATE, _DELAY_MS: the names of 339479f's lanes part, still read)
LANES_ROWS=${BENCH_LANES_ROWS:-${BENCH_LANE_BACKLOG:-100000}}
LANES_OTPS=${BENCH_LANES_OTPS:-${BENCH_LANE_OTPS:-200}}
LANES_RATE=${BENCH_LANES_RATE:-${BENCH_LANE_RATE:-10}}
LANES_DELAY_MS=${BENCH_LANES_DELAY_MS:-${BENCH_LANE_DELAY_MS:-100-200}}
LANES_WAIT=${BENCH_LANES_WAIT:-60}
PARTS=(drain hol dup backlog snapshot latency lanes enqueue)
HOLD_PID=
HOLD_FD=

bench_positive DRAIN_ROWS DRAIN_TIMEOUT PGNET_TIMEOUT HOL_ROWS HOL_DELAY_MS DUP_ROWS DUP_KILLS \
  DUP_KILL_AT DUP_TIMEOUT BACKLOG_SMALL BACKLOG_BIG SNAP_ROWS LAT_MSGS LAT_RATE \
  LANES_ROWS LANES_OTPS LANES_RATE LANES_WAIT
[[ $LANES_DELAY_MS =~ ^[0-9]+(-[0-9]+)?$ ]] || sms_die "BENCH_LANES_DELAY_MS must be MS or MIN-MAX (ms)"
case $FSYNC in on | off) ;; *) sms_die "BENCH_FSYNC must be on or off" ;; esac
for p in ${ONLY//,/ }; do
  [[ " ${PARTS[*]} " == *" $p "* ]] || sms_die "BENCH_ONLY: unknown part '$p' (parts: ${PARTS[*]})"
done
[ "$DUP_KILL_AT" -lt "$DUP_ROWS" ] || sms_die "BENCH_DUP_KILL_AT must be below BENCH_DUP_ROWS"

want() {
  [[ ",$ONLY," == *",$1,"* ]]
}

ratio() { # ratio A B -> A/B with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

pct() { # pct A B -> 100*A/B with 1 decimal, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'
}

# Verify requests in the mock's log: "REQUESTS DISTINCT_CODES ROWS_SENT_TWICE_OR_MORE"
mock_requests_per_row() {
  sms_mock GET /__mock/requests | python3 -c '
import collections, json, sys
n = 0
per = collections.Counter()
for e in json.load(sys.stdin):
    if e["path"] != "/v1/send/verify" or not isinstance(e["body"], dict):
        continue
    n += 1
    try:
        per[e["body"]["parameters"][0]["value"]] += 1
    except (KeyError, IndexError, TypeError):
        per[None] += 1
print(n, len(per), sum(1 for c in per.values() if c > 1))
'
}

# --- pg_net, the peer ----------------------------------------------------------

pgnet_tarball() {
  local f
  if [ -n "$PGNET_TARBALL" ]; then
    echo "$PGNET_TARBALL"
    return
  fi
  for f in "$SMS_REPO"/../shared/peers/pg_net-*.tar.gz; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  sms_die "no pg_net tarball in $SMS_REPO/../shared/peers (set BENCH_PGNET_TARBALL, or BENCH_PGNET=0)"
}

# Build pg_net from the tarball in $SMS_WORK and install it into $SMS_PG_CONFIG's PostgreSQL.
pgnet_build() {
  local tb d
  tb=$(pgnet_tarball)
  [ -f "$tb" ] || sms_die "pg_net tarball $tb not found"
  mkdir -p "$SMS_WORK/pgnet"
  tar xzf "$tb" -C "$SMS_WORK/pgnet"
  d=$(find "$SMS_WORK/pgnet" -mindepth 1 -maxdepth 1 -type d | head -n1)
  sms_quiet pgnet-build make -C "$d" PG_CONFIG="$SMS_PG_CONFIG" ||
    sms_die "pg_net did not build (needs libcurl4-openssl-dev >= 7.83)"
  sms_quiet pgnet-install make -C "$d" PG_CONFIG="$SMS_PG_CONFIG" install ||
    sms_die "pg_net did not install"
  R[pgnet_src]="${tb##*/}"
}

pgnet_drain() {
  local n=$DRAIN_ROWS out secs got url="http://127.0.0.1:$NGINX_PORT/v1/send/verify"
  echo "  -- peer: pg_net ${R[pgnet_version]}, $n net.http_post calls in one transaction, same nginx"
  R[pgnet_settings]="batch_size $(q -c 'SHOW pg_net.batch_size'), ttl $(q -c 'SHOW pg_net.ttl') (defaults)"
  echo "  pg_net settings: ${R[pgnet_settings]}; timeout_milliseconds: http_post's default (5000)"
  q -c "TRUNCATE net._http_response"
  # The same request as sms_ir's: URL, X-API-KEY / Content-Type / Accept, and the
  # verify body (pg_net sends jsonb's text form: the same JSON, other spacing).
  out=$(q <<SQL
SELECT count(net.http_post(
         url := '$url',
         body := jsonb_build_object('mobile', '09121234567', 'templateId', 123456,
                   'parameters', jsonb_build_array(jsonb_build_object('name', 'code', 'value', g::text))),
         headers := jsonb_build_object('X-API-KEY', '$API_KEY', 'Content-Type', 'application/json',
                                       'Accept', 'application/json')))
  FROM generate_series(1, $n) g;
SELECT set_config('bench.t0', extract(epoch FROM clock_timestamp())::text, false);
DO \$\$
BEGIN
  FOR i IN 1 .. $PGNET_TIMEOUT * 10 LOOP
    EXIT WHEN (SELECT count(*) FROM net._http_response) >= $n;
    COMMIT;
    PERFORM pg_sleep(0.1);
  END LOOP;
  PERFORM set_config('bench.t1', extract(epoch FROM clock_timestamp())::text, false);
END
\$\$;
SELECT round((current_setting('bench.t1')::float8 - current_setting('bench.t0')::float8)::numeric, 3);
SELECT count(*) FROM net._http_response;
SELECT coalesce(string_agg(k || '=' || c, ' '), 'none') FROM (
  SELECT coalesce(status_code::text, CASE WHEN timed_out THEN 'timed_out' ELSE 'error' END) AS k,
         count(*) AS c FROM net._http_response GROUP BY 1 ORDER BY 1) s;
SELECT count(*) FROM net.http_request_queue;
SQL
  )
  secs=$(sed -n 3p <<<"$out")
  got=$(sed -n 4p <<<"$out")
  R[pgnet_rate]=$(awk -v n="$got" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  R[pgnet_secs]=$secs
  echo "  COMMIT -> $got responses in net._http_response: $secs s = ${R[pgnet_rate]} messages/s" \
    "(replies: $(sed -n 5p <<<"$out"); still queued: $(sed -n 6p <<<"$out"))"
  [ "$got" = "$n" ] || echo "  WARNING: only $got of $n pg_net responses within ${PGNET_TIMEOUT}s"
  q -c "TRUNCATE net._http_response"
}

# --- parts ---------------------------------------------------------------------

# use_provider URL: pause the worker, point it at URL, default batch_size / max_concurrency
use_provider() {
  worker_conf worker_enabled=off base_url="$1" batch_size=default max_concurrency=default
  wait_worker_state paused
}

part_drain() {
  echo
  echo "== 1. drain: $DRAIN_ROWS verify rows queued in one transaction, default settings, nginx =="
  use_provider "http://127.0.0.1:$NGINX_PORT"
  # warm-up (untimed): the worker's connections, caches and the outbox's first pages
  queue_rows 1000
  drain_timed 1000 "$DRAIN_TIMEOUT"
  worker_pause
  queue_rows "$DRAIN_ROWS"
  q -c "CHECKPOINT"
  echo "  -- sms_ir: queued in $QUEUE_MS ms (worker paused; batch_size $(q -c 'SHOW sms_ir.batch_size')," \
    "max_concurrency $(q -c 'SHOW sms_ir.max_concurrency'))"
  drain_timed "$DRAIN_ROWS" "$DRAIN_TIMEOUT"
  R[drain_rate]=$D_RATE
  R[drain_secs]=$D_SECS
  echo "  enable -> all recorded sent: $D_SECS s for $D_SENT sent = $D_RATE messages/s" \
    "(sent_at span: $D_SPAN s, $D_SPAN_RATE messages/s)"
  if [ "$PGNET" = 1 ]; then
    pgnet_drain
    R[drain_ratio]=$(ratio "${R[drain_rate]}" "${R[pgnet_rate]}")
    echo "  sms_ir / pg_net: ${R[drain_ratio]}x"
  fi
}

part_hol() {
  local mode
  echo
  echo "== 2. head-of-line: $HOL_ROWS rows against the python mock, no fault vs" \
    "$(pct "$HOL_PROB" 1 | sed 's/\.0%/%/') of requests delayed ${HOL_DELAY_MS} ms =="
  use_provider "$SMS_MOCK_URL"
  for mode in free stall; do
    mock_reset
    if [ "$mode" = stall ]; then
      sms_mock POST /__mock/fault "{\"kind\":\"delay\",\"match\":\"/v1/send/verify\",\"probability\":$HOL_PROB,\"delay_ms\":$HOL_DELAY_MS,\"count\":-1}" >/dev/null
    fi
    queue_rows "$HOL_ROWS"
    drain_timed "$HOL_ROWS" "$DRAIN_TIMEOUT"
    read -r "R[hol_${mode}_req]" "R[hol_${mode}_rows]" "R[hol_${mode}_dup]" <<<"$(mock_requests_per_row)"
    R[hol_${mode}_secs]=$D_SECS
    if [ "$mode" = stall ]; then
      R[hol_delayed]=$(sms_mock GET /__mock/fault | python3 -c 'import json,sys; print(sum(f["applied"] for f in json.load(sys.stdin)))')
      sms_mock DELETE /__mock/fault >/dev/null
    fi
    printf '  %-22s %8s s = %6s msg/s; mock: %s requests, %s distinct rows, %s rows sent more than once%s\n' \
      "$([ "$mode" = free ] && echo "no fault:" || echo "with delays:")" "$D_SECS" "$D_RATE" \
      "${R[hol_${mode}_req]}" "${R[hol_${mode}_rows]}" "${R[hol_${mode}_dup]}" \
      "$([ "$mode" = stall ] && echo "; ${R[hol_delayed]} delayed")"
    worker_pause
  done
}

# Wait up to $1 s until the server answers and every outbox row is final.
# Prints "SECONDS_WAITED OK|TIMEOUT".
wait_all_final() {
  local limit=$1 t0 n
  t0=$EPOCHREALTIME
  while :; do
    n=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE status IN ('queued', 'sending')" 2>/dev/null) || n=
    if [ "$n" = 0 ]; then
      awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f OK\n", b - a }'
      return
    fi
    if awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
      awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f TIMEOUT\n", b - a }'
      return
    fi
    sleep 0.2
  done
}

part_dup() {
  local k n t_end wpid waited st mc
  echo
  echo "== 3. duplicates after kill -9 of the worker: $DUP_KILLS rounds of $DUP_ROWS rows" \
    "(code = row number) against the python mock, kill at ~$DUP_KILL_AT requests =="
  use_provider "$SMS_MOCK_URL"
  mc=$(q -c "SHOW sms_ir.max_concurrency")
  R[dup_target]=$mc   # in flight + finished-unrecorded share the max_concurrency slots
  echo "  delivery_guarantee $(q -c 'SHOW sms_ir.delivery_guarantee' 2>/dev/null || echo '?'), batch_size" \
    "$(q -c 'SHOW sms_ir.batch_size'), max_concurrency $mc: target duplicates <= max_concurrency = ${R[dup_target]}"
  R[dup_list]=
  for ((k = 1; k <= DUP_KILLS; k++)); do
    worker_pause
    mock_reset
    queue_rows "$DUP_ROWS"
    wpid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'")
    [ -n "$wpid" ] || sms_die "no 'sms_ir worker' in pg_stat_activity"
    worker_conf worker_enabled=on
    n=0
    t_end=$((SECONDS + DUP_TIMEOUT))
    while ((SECONDS < t_end)); do
      n=$(sms_mock_count)
      [ "$n" -ge "$DUP_KILL_AT" ] && break
      sleep 0.01
    done
    kill -9 "$wpid"
    read -r waited st <<<"$(wait_all_final "$DUP_TIMEOUT")"
    read -r "R[dup${k}_req]" "R[dup${k}_rows]" "R[dup${k}_twice]" <<<"$(mock_requests_per_row)"
    R[dup${k}]=$((${R[dup${k}_req]} - ${R[dup${k}_rows]}))
    R[dup${k}_status]=$(outbox_status_counts)
    R[dup_list]+="${R[dup_list]:+ / }${R[dup${k}]}"
    printf '  round %d: kill -9 pid %s once the mock had %s requests; all rows final %s s later (%s);' \
      "$k" "$wpid" "$n" "$waited" "$st"
    printf ' mock: %s requests, %s distinct rows -> %s duplicates (%s rows more than once); rows: %s\n' \
      "${R[dup${k}_req]}" "${R[dup${k}_rows]}" "${R[dup${k}]}" "${R[dup${k}_twice]}" "${R[dup${k}_status]}"
    [[ ${R[dup${k}_status]} == "sent=$DUP_ROWS" ]] || echo "  rows not sent: $(outbox_errors)"
    wait_worker_state idle 30
  done
}

part_backlog() {
  local n pid rss0 rss1 key
  echo
  echo "== 4. backlog: $BACKLOG_SMALL vs $BACKLOG_BIG queued rows, default settings, nginx =="
  use_provider "http://127.0.0.1:$NGINX_PORT"
  for n in "$BACKLOG_SMALL" "$BACKLOG_BIG"; do
    key=backlog_$n
    worker_pause
    queue_rows "$n"
    q -c "CHECKPOINT"
    pid=$(worker_pid)
    rss0=$(rss_of "$pid")
    drain_timed "$n" "$DRAIN_TIMEOUT"
    pid=$(worker_pid)
    rss1=$(rss_of "$pid")
    R[${key}_rate]=$D_RATE
    R[${key}_anon0]=${rss0#* }
    R[${key}_anon1]=${rss1#* }
    R[${key}_growth]=$((${rss1#* } - ${rss0#* }))
    printf '  %7d rows: queued in %6s ms; drained in %7s s = %6s msg/s; worker RssAnon %s -> %s kB (%+d kB), VmRSS %s -> %s kB\n' \
      "$n" "$QUEUE_MS" "$D_SECS" "$D_RATE" "${rss0#* }" "${rss1#* }" "${R[${key}_growth]}" "${rss0% *}" "${rss1% *}"
  done
  R[backlog_ratio]=$(pct "${R[backlog_${BACKLOG_BIG}_rate]}" "${R[backlog_${BACKLOG_SMALL}_rate]}")
  echo "  rate at $BACKLOG_BIG / rate at $BACKLOG_SMALL: ${R[backlog_ratio]}"
}

hold_start() {
  local i st
  mkfifo "$SMS_WORK/hold.fifo"
  sms_psql -qAt <"$SMS_WORK/hold.fifo" >"$SMS_WORK/hold.log" 2>&1 &
  HOLD_PID=$!
  bench_bg "$HOLD_PID"
  exec {HOLD_FD}>"$SMS_WORK/hold.fifo"
  printf '%s\n' "SET application_name = 'bench_hold';" \
    "BEGIN ISOLATION LEVEL REPEATABLE READ;" "SELECT 1 FROM sms_ir.outbox LIMIT 1;" >&"$HOLD_FD"
  for ((i = 0; i < 200; i++)); do
    st=$(q -c "SELECT state || ' xmin ' || backend_xmin FROM pg_stat_activity
                WHERE application_name = 'bench_hold' AND backend_xmin IS NOT NULL")
    [[ $st == "idle in transaction"* ]] && break
    sleep 0.05
  done
  [[ $st == "idle in transaction"* ]] || sms_die "the snapshot-holding session did not start ($(cat "$SMS_WORK/hold.log"))"
  R[hold_state]=$st
}

hold_stop() {
  [ -n "$HOLD_PID" ] || return 0
  exec {HOLD_FD}>&-
  wait "$HOLD_PID" 2>/dev/null || true
  HOLD_PID=
}

part_snapshot() {
  local mode held size
  echo
  echo "== 5. held snapshot: $SNAP_ROWS rows, nginx, free vs another session idle in a" \
    "REPEATABLE READ transaction =="
  use_provider "http://127.0.0.1:$NGINX_PORT"
  for mode in free held; do
    worker_pause
    queue_rows "$SNAP_ROWS"
    q -c "CHECKPOINT"
    held=
    if [ "$mode" = held ]; then
      hold_start
      held=${R[hold_state]}
    fi
    drain_timed "$SNAP_ROWS" "$DRAIN_TIMEOUT"
    R[snap_${mode}_rate]=$D_RATE
    size=$(q -c "SELECT pg_size_pretty(pg_total_relation_size('sms_ir.outbox'))")
    printf '  %-5s drained in %7s s = %6s msg/s; outbox with indexes after: %s%s\n' \
      "$mode:" "$D_SECS" "$D_RATE" "$size" "${held:+ (holder: $held)}"
    hold_stop
  done
  R[snap_ratio]=$(pct "${R[snap_held_rate]}" "${R[snap_free_rate]}")
  echo "  held / free: ${R[snap_ratio]}"
}

part_enqueue() {
  local s=$SMS_REPO/bench/enqueue_bench.sh
  echo
  echo "== 7. enqueue: bench/enqueue_bench.sh =="
  if [ ! -f "$s" ]; then
    echo "  (bench/enqueue_bench.sh not present: skipped)"
    return
  fi
  # its own cluster; already built
  if SMS_IR_BUILD=0 bash "$s" >"$SMS_WORK/enqueue.log" 2>&1; then
    sed 's/^/  /' "$SMS_WORK/enqueue.log"
  else
    sed 's/^/  /' "$SMS_WORK/enqueue.log"
    echo "  WARNING: bench/enqueue_bench.sh failed"
  fi
  grep '^enqueue:' "$SMS_WORK/enqueue.log" >"$SMS_WORK/enqueue.summary" || true
}

part_latency() {
  latency
}

# lanes_faults: the mock's delay faults for every bulk send, LANES_DELAY_MS ms, or
# MIN-MAX: 11 delays spread evenly, each request taking one of them with equal
# chance (the mock tries its faults in order: the k-th of n applies with
# probability 1/(n-k), the last always), so the requests' ends do not come in waves
lanes_faults() {
  python3 -c '
import json, sys
lo, _, hi = sys.argv[1].partition("-")
lo = int(lo)
hi = int(hi or lo)
n = 1 if hi <= lo else 11
print(json.dumps([{"kind": "delay", "match": "/v1/send/bulk", "count": -1,
                   "delay_ms": lo + (hi - lo) * k / max(n - 1, 1), "probability": 1.0 / (n - k)}
                  for k in range(n)]))
' "$LANES_DELAY_MS"
}

# lanes_round lane|fifo: a backlog of LANES_ROWS bulk rows draining against the
# mock (every bulk send delayed LANES_DELAY_MS), LANES_OTPS OTPs queued meanwhile
# by pgbench at LANES_RATE/s, in the OTP lane (priority by kind) or in the bulk
# rows' (priority => 0) -> R[lanes_<mode>_*]
lanes_round() {
  local mode=$1 out maxid n t_end pg prio_arg='' mc got
  [ "$mode" = fifo ] && prio_arg=', priority => 0::smallint'
  worker_pause
  q -c "TRUNCATE sms_ir.outbox"
  mock_reset
  sms_mock POST /__mock/fault "$(lanes_faults)" >/dev/null
  # one transaction of queue_bulk calls, one mobile each: one row (one request) per call
  out=$(q <<SQL
SELECT set_config('bench.q0', extract(epoch FROM clock_timestamp())::text, false);
SELECT count(*) FROM generate_series(1, $LANES_ROWS) g,
       LATERAL sms_ir.queue_bulk('bench lanes backlog ' || g, ARRAY['0912' || lpad((g % 10000000)::text, 7, '0')]) AS r(id);
SELECT round((extract(epoch FROM clock_timestamp()) - current_setting('bench.q0')::float8)::numeric * 1000);
SELECT coalesce(max(id), 0) FROM sms_ir.outbox;
SELECT string_agg(kind || ' priority ' || priority || ': ' || c, ', ') FROM (
  SELECT kind, priority, count(*) AS c FROM sms_ir.outbox GROUP BY 1, 2 ORDER BY 1, 2) s;
SQL
  )
  maxid=$(sed -n 4p <<<"$out")
  echo "  [$mode] queued $(sed -n 2p <<<"$out") bulk rows in $(sed -n 3p <<<"$out") ms (worker paused): $(sed -n 5p <<<"$out")"
  q -c "CHECKPOINT"
  # enable; the OTPs start once the backlog is in full flow (4 x max_concurrency requests at the mock)
  mc=$(q -c "SHOW sms_ir.max_concurrency")
  worker_conf worker_enabled=on
  t_end=$((SECONDS + 30))
  while n=$(sms_mock_count) && [ "$n" -lt $((4 * mc)) ] && ((SECONDS < t_end)); do
    sleep 0.05
  done
  cat >"$SMS_WORK/lanes_$mode.sql" <<SQL
SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', to_char(extract(epoch FROM clock_timestamp()), 'FM9999999999.999999'))$prio_arg);
SQL
  rm -f "$SMS_WORK"/lanes_"$mode"_log.*
  # --log: one line per transaction with the time its COMMIT was acknowledged
  pg=$(PGHOST=$SMS_WORK PGPORT=$SMS_PGPORT PGUSER=postgres "$SMS_PGBIN/pgbench" -n -c 1 -j 1 \
    -R "$LANES_RATE" -t "$LANES_OTPS" --log --log-prefix="$SMS_WORK/lanes_${mode}_log" \
    -f "$SMS_WORK/lanes_$mode.sql" postgres 2>&1) ||
    { echo "$pg" >&2; sms_die "pgbench failed"; }
  # every OTP gets LANES_WAIT s from the last one's commit (the OTP rows are the ids above maxid)
  t_end=$(awk -v t="$EPOCHREALTIME" -v w="$LANES_WAIT" 'BEGIN { printf "%.3f", t + w }')
  while :; do
    got=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE id > $maxid AND status NOT IN ('queued', 'sending')")
    [ "$got" -ge "$LANES_OTPS" ] && break
    awk -v a="$EPOCHREALTIME" -v b="$t_end" 'BEGIN { exit !(a >= b) }' && break
    sleep 0.2
  done
  R[lanes_${mode}_otp_rows]=$(q -c "SELECT coalesce(string_agg(status || '=' || c, ' '), 'none') FROM (
    SELECT status, count(*) AS c FROM sms_ir.outbox WHERE id > $maxid GROUP BY 1 ORDER BY 1) s")
  R[lanes_${mode}_otp_prio]=$(q -c "SELECT string_agg(DISTINCT priority::text, ',') FROM sms_ir.outbox WHERE id > $maxid")
  R[lanes_${mode}_bulk_left]=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE id <= $maxid AND status = 'queued'")
  cat "$SMS_WORK"/lanes_"$mode"_log.[0-9]* >"$SMS_WORK/lanes_$mode.log" 2>/dev/null || : >"$SMS_WORK/lanes_$mode.log"
  out=$(sms_mock GET /__mock/requests | python3 -c '
import bisect, json, sys

otp = []   # (stamp, arrival) of each OTP request
bulk = []  # arrivals of the bulk requests
for e in json.load(sys.stdin):
    if e["path"].startswith("/v1/send/bulk"):
        bulk.append(e["t"])
    elif e["path"].startswith("/v1/send/verify") and isinstance(e["body"], dict):
        try:
            otp.append((float(e["body"]["parameters"][0]["value"]), e["t"]))
        except (KeyError, IndexError, TypeError, ValueError):
            pass
otp.sort()
# pgbench --log: client_id tx_no latency_us script_no epoch_s epoch_us [lag]
done = []
with open(sys.argv[1]) as f:
    for line in f:
        p = line.split()
        if len(p) >= 6:
            done.append(int(p[4]) + int(p[5]) / 1e6)
done.sort()

def stats(xs):
    xs = sorted(xs)
    if not xs:
        return ["n/a"] * 4
    def pct(p):
        k = max(0, min(len(xs) - 1, int(p / 100.0 * len(xs) + 0.999999) - 1))
        return xs[k]
    return ["%.2f" % v for v in (pct(50), pct(90), pct(99), xs[-1])]

lat = [(t - s) * 1000 for s, t in otp]
# the OTP window: first to last OTP commit acknowledged; bulk requests that
# reached the mock in it, and before it (where the backlog stood)
w0 = done[0] if done else 0
w1 = done[-1] if done else 0
inwin = sum(1 for t in bulk if w0 <= t <= w1)
rate = inwin / (w1 - w0) if w1 > w0 else 0
before = sum(1 for t in bulk if t < w0)
# where an OTP waits: bulk requests that started between its commit stamp and its own
# request (rows sent ahead of it), and from its stamp to the next bulk request (a slot
# freeing up: with every slot held by a bulk send, the earliest an OTP can go)
bulk.sort()
ahead, slot = [], []
for s, t in otp:
    i = bisect.bisect_right(bulk, s)
    ahead.append(bisect.bisect_left(bulk, t) - i)
    if i < len(bulk):
        slot.append((bulk[i] - s) * 1000)
print(len(otp), *stats(lat), inwin, "%.1f" % (w1 - w0), "%.0f" % rate, before, len(bulk),
      *stats(ahead)[0:4:2], *stats(slot)[0:4:2])
' "$SMS_WORK/lanes_$mode.log")
  read -r "R[lanes_${mode}_n]" "R[lanes_${mode}_p50]" "R[lanes_${mode}_p90]" "R[lanes_${mode}_p99]" \
    "R[lanes_${mode}_max]" "R[lanes_${mode}_bulk_win]" "R[lanes_${mode}_win_s]" "R[lanes_${mode}_bulk_rate]" \
    "R[lanes_${mode}_bulk_before]" "R[lanes_${mode}_bulk_all]" \
    "R[lanes_${mode}_ahead_p50]" "R[lanes_${mode}_ahead_p99]" "R[lanes_${mode}_slot_p50]" "R[lanes_${mode}_slot_p99]" <<<"$out"
  # what FIFO costs: the bulk rows ahead of the first OTP / the bulk rate
  R[lanes_${mode}_fifo_est]=$(awk -v r="${R[lanes_${mode}_bulk_rate]}" \
    -v a="$((LANES_ROWS - ${R[lanes_${mode}_bulk_before]}))" 'BEGIN { if (r > 0) printf "%.0f", a / r; else print "n/a" }')
  echo "  [$mode] pgbench (1 client, -R $LANES_RATE): $(awk '/^tps = / { printf "%.1f tx/s", $3 }' <<<"$pg");" \
    "$(grep -E '^latency average' <<<"$pg" | sed 's/ = / /'); OTP rows: priority ${R[lanes_${mode}_otp_prio]}," \
    "${R[lanes_${mode}_otp_rows]}"
  printf '  [%s] %s of %s OTPs reached the mock within %s s of the last commit; stamp before COMMIT -> request (ms): p50 %s  p90 %s  p99 %s  max %s\n' \
    "$mode" "${R[lanes_${mode}_n]}" "$LANES_OTPS" "$LANES_WAIT" "${R[lanes_${mode}_p50]}" "${R[lanes_${mode}_p90]}" \
    "${R[lanes_${mode}_p99]}" "${R[lanes_${mode}_max]}"
  [ "${R[lanes_${mode}_n]}" -gt 0 ] &&
    echo "  [$mode] per OTP: bulk requests started between its commit and its request p50 ${R[lanes_${mode}_ahead_p50]}," \
      "p99 ${R[lanes_${mode}_ahead_p99]}; its commit -> the next bulk request (a slot frees) p50 ${R[lanes_${mode}_slot_p50]} ms," \
      "p99 ${R[lanes_${mode}_slot_p99]} ms"
  echo "  [$mode] bulk requests at the mock: ${R[lanes_${mode}_bulk_before]} before the first OTP commit," \
    "${R[lanes_${mode}_bulk_win]} in the ${R[lanes_${mode}_win_s]} s OTP window (${R[lanes_${mode}_bulk_rate]}/s)," \
    "${R[lanes_${mode}_bulk_all]} in all; bulk rows still queued at the end: ${R[lanes_${mode}_bulk_left]}" \
    "(a row behind all of them waits ~${R[lanes_${mode}_fifo_est]} s at that rate)"
  worker_pause
  q -c "TRUNCATE sms_ir.outbox"
  sms_mock DELETE /__mock/fault >/dev/null
}

part_lanes() {
  echo
  echo "== 6b. lanes: $LANES_OTPS OTPs at ~$LANES_RATE/s while $LANES_ROWS bulk rows drain against the" \
    "python mock (every bulk send delayed $LANES_DELAY_MS ms); OTP lane vs priority => 0 =="
  use_provider "$SMS_MOCK_URL"
  # queued OTPs must not expire during the run
  worker_conf otp_valid_for=0
  echo "  batch_size $(q -c 'SHOW sms_ir.batch_size'), max_concurrency $(q -c 'SHOW sms_ir.max_concurrency')," \
    "otp_valid_for $(q -c 'SHOW sms_ir.otp_valid_for')"
  lanes_round lane
  lanes_round fifo
  worker_conf otp_valid_for=default
  cat <<EOF
  method: as latency: each OTP's code is clock_timestamp() taken in its transaction just
  before COMMIT; the mock logs when it starts handling the request (same clock).  So the
  figure includes the client's commit, the wake-up, the worker's claim commit and the wait
  for a request slot (all max_concurrency slots are held by slow bulk sends).  [lane]:
  queue_verify's default priority (10, by kind); [fifo]: priority => 0, the bulk rows'
  lane, behind the backlog in due order.
EOF
}

# --- summary -------------------------------------------------------------------

line() { # line LABEL VALUE BASELINE TARGET
  printf '%-38s %-28s %-40s %s\n' "$@"
}

summary() {
  local k
  echo
  echo "==================== bench/run.sh summary ===================="
  echo "$(date -u '+%F %T UTC'); $(nproc) cores, load average at start ${R[load0]}, now $(cut -d' ' -f1-3 /proc/loadavg);" \
    "${R[pg]}; fsync $FSYNC, synchronous_commit on"
  echo "sms_ir.so: ${R[so]}${R[pgnet_so]:+; pg_net.so: ${R[pgnet_so]}}"
  line "part" "sms_ir" "peer / baseline (same run)" "target"
  if want drain; then
    line "1 drain $DRAIN_ROWS, defaults, nginx" "${R[drain_rate]} msg/s" \
      "$([ "$PGNET" = 1 ] && echo "pg_net ${R[pgnet_rate]} msg/s (sms_ir ${R[drain_ratio]}x)" || echo "(pg_net skipped)")" \
      "sms_ir >= 12000 msg/s"
    if [ "$PGNET" = 1 ]; then
      line "  pg_net settings" "" "${R[pgnet_settings]}" ""
      line "  drain time" "${R[drain_secs]} s" "${R[pgnet_secs]} s" ""
    fi
  fi
  if want hol; then
    line "2 head-of-line $HOL_ROWS, mock" "${R[hol_stall_secs]} s with delays" \
      "${R[hol_free_secs]} s without" "<= 10 s with stalls"
    line "  mock requests (distinct rows)" "${R[hol_stall_req]} (${R[hol_stall_rows]})" \
      "${R[hol_free_req]} (${R[hol_free_rows]})" "no duplicates"
  fi
  if want dup; then
    line "3 duplicates after kill -9, $DUP_ROWS rows" "${R[dup_list]}" "max_concurrency = ${R[dup_target]}" \
      "<= ${R[dup_target]}"
    for ((k = 1; k <= DUP_KILLS; k++)); do
      line "  round $k final rows" "${R[dup${k}_status]}" "" ""
    done
  fi
  if want backlog; then
    line "4 backlog $BACKLOG_BIG vs $BACKLOG_SMALL" "${R[backlog_${BACKLOG_BIG}_rate]} msg/s" \
      "${R[backlog_${BACKLOG_SMALL}_rate]} msg/s; ${R[backlog_ratio]}" ">= 90%"
    line "  worker RssAnon growth (kB)" "${R[backlog_${BACKLOG_BIG}_growth]} kB" \
      "${R[backlog_${BACKLOG_SMALL}_growth]} kB" "< 10240 kB"
  fi
  if want snapshot; then
    line "5 held snapshot, $SNAP_ROWS rows" "${R[snap_held_rate]} msg/s held" \
      "${R[snap_free_rate]} msg/s free; ${R[snap_ratio]}" ">= 70%"
  fi
  if want latency; then
    line "6 commit->request at ~$LAT_RATE msg/s" "p50 ${R[lat_p50]} ms, p99 ${R[lat_p99]} ms" \
      "ack->request p50 ${R[ack_p50]} ms" "p50 <= 2 ms"
    line "  WAL sync avg during the run" "${R[lat_walsync]}" "" ""
  fi
  if want lanes; then
    line "6b lanes: OTP behind $LANES_ROWS bulk" "p50 ${R[lanes_lane_p50]} ms, p99 ${R[lanes_lane_p99]} ms" \
      "priority 0: ${R[lanes_fifo_n]}/$LANES_OTPS within ${LANES_WAIT}s" "p50 <= 50 ms"
    line "  OTPs at the mock; FIFO figures" "${R[lanes_lane_n]}/$LANES_OTPS" \
      "p50 ${R[lanes_fifo_p50]}$([ "${R[lanes_fifo_p50]}" = n/a ] || echo ' ms'); FIFO wait ~${R[lanes_fifo_fifo_est]} s" ""
    line "  bulk delay at the mock (ms)" "$LANES_DELAY_MS" "$LANES_DELAY_MS" ""
    line "  bulk sent in the OTP window" "${R[lanes_lane_bulk_win]} (${R[lanes_lane_bulk_rate]}/s)" \
      "${R[lanes_fifo_bulk_win]} (${R[lanes_fifo_bulk_rate]}/s)" "backlog draining"
  fi
  if want enqueue; then
    if [ -s "$SMS_WORK/enqueue.summary" ]; then
      echo "7 enqueue (bench/enqueue_bench.sh):"
      sed 's/^/  /' "$SMS_WORK/enqueue.summary"
    else
      line "7 enqueue" "(no bench/enqueue_bench.sh, or no 'enqueue:' lines from it)" "" ""
    fi
  fi
  echo "total time: $1 s (numbers are printed, not asserted; the machine is shared and noisy)"
}

main() {
  local t_start preload=sms_ir p
  t_start=$(date +%s)
  R[load0]=$(cut -d' ' -f1-3 /proc/loadavg)
  trap bench_cleanup EXIT
  trap sms_interrupted INT TERM

  want drain || PGNET=0
  sms_workdir sms_ir_bench_run
  if [ "${BENCH_PG_COPY:-0}" = 1 ]; then
    bench_private_pg
    sms_build
  elif [ "${SMS_IR_BUILD:-0}" = 1 ]; then
    sms_build
  fi
  [ -f "$("$SMS_PG_CONFIG" --pkglibdir)/sms_ir.so" ] ||
    sms_die "sms_ir is not installed in $("$SMS_PG_CONFIG" --pkglibdir): make install (or SMS_IR_BUILD=1)"
  command -v nginx >/dev/null 2>&1 || sms_die "nginx not found (apt-get install nginx-light)"
  if [ "$PGNET" = 1 ]; then
    pgnet_build
    preload=sms_ir,pg_net
  fi
  bench_start "shared_preload_libraries = '$preload'
pg_net.database_name = 'postgres'"
  R[pg]=$("$SMS_PGBIN/postgres" -V)
  if [ "$PGNET" = 1 ]; then
    q -c "CREATE EXTENSION pg_net" -c "SELECT net.wait_until_running()" >/dev/null
    R[pgnet_version]=$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_net'")
    R[pgnet_so]=$(bench_check_loaded "$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'pg_net%'")" pg_net)
  fi
  echo "bench/run.sh: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${R[pg]};" \
    "$(nginx -v 2>&1 | sed 's/.*: //') at 127.0.0.1:$NGINX_PORT; python mock at $SMS_MOCK_URL;" \
    "fsync $FSYNC, synchronous_commit on; parts: $ONLY"
  echo "sms_ir.so loaded by the worker: ${R[so]}${R[pgnet_so]:+; pg_net.so (${R[pgnet_src]}): ${R[pgnet_so]}}"

  for p in "${PARTS[@]}"; do
    want "$p" || continue
    "part_$p"
  done
  summary "$(($(date +%s) - t_start))"
}

main "$@"
