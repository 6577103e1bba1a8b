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
#   lanes     priority lanes: BENCH_LANE_BACKLOG (100000) bulk rows queued, the python
#             mock answering bulk sends after BENCH_LANE_DELAY_MS (100) ms, the worker
#             draining them; meanwhile BENCH_LANE_OTPS (200) OTPs at BENCH_LANE_RATE
#             (10)/s, one per transaction: commit->request p50/p99 in the OTP lane
#             (default priority), then the same in the bulk lane (priority => 0:
#             FIFO behind the backlog, the baseline), and the bulk sends made meanwhile.
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
PARTS=(drain hol dup backlog snapshot latency lanes enqueue)
LANE_BACKLOG=${BENCH_LANE_BACKLOG:-100000}
LANE_DELAY_MS=${BENCH_LANE_DELAY_MS:-100}
LANE_OTPS=${BENCH_LANE_OTPS:-200}
LANE_RATE=${BENCH_LANE_RATE:-10}
HOLD_PID=
HOLD_FD=

bench_positive DRAIN_ROWS DRAIN_TIMEOUT PGNET_TIMEOUT HOL_ROWS HOL_DELAY_MS DUP_ROWS DUP_KILLS \
  DUP_KILL_AT DUP_TIMEOUT BACKLOG_SMALL BACKLOG_BIG SNAP_ROWS LAT_MSGS LAT_RATE
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
  R[dup_target]=$((2 * mc))
  echo "  delivery_guarantee $(q -c 'SHOW sms_ir.delivery_guarantee' 2>/dev/null || echo '?'), batch_size" \
    "$(q -c 'SHOW sms_ir.batch_size'), max_concurrency $mc: target duplicates <= 2 x $mc = ${R[dup_target]}"
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

# lane_run PRIORITY_SQL LABEL: queue the backlog, drain it against the slow mock, send
# the OTPs through pgbench meanwhile; sets R[lane_LABEL_*]
lane_run() {
  local prio=$1 label=$2 i pg out
  worker_pause
  q -c "TRUNCATE sms_ir.outbox" >/dev/null
  q -c "SELECT count(*) FROM generate_series(1, $LANE_BACKLOG) g, sms_ir.queue_bulk('bulk ' || g, ARRAY['09121234567'])" >/dev/null
  mock_reset
  sms_mock POST /__mock/fault "{\"match\": \"/v1/send/bulk\", \"kind\": \"delay\", \"delay_ms\": $LANE_DELAY_MS, \"count\": 100000000, \"probability\": 1}" >/dev/null
  worker_conf worker_enabled=on
  sleep 2   # the backlog is draining
  cat >"$SMS_WORK/lane.sql" <<SQL
SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', to_char(extract(epoch FROM clock_timestamp()), 'FM9999999999.999999'))$prio);
SQL
  pg=$(PGHOST=$SMS_WORK PGPORT=$SMS_PGPORT PGUSER=postgres "$SMS_PGBIN/pgbench" -n -c 1 -j 1 \
    -R "$LANE_RATE" -t "$LANE_OTPS" -f "$SMS_WORK/lane.sql" postgres 2>&1) ||
    { echo "$pg" >&2; sms_die "pgbench failed"; }
  # the OTP lane drains in well under a second; the bulk lane may never, within this
  for ((i = 0; i < 20; i++)); do
    [ "$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE kind = 'verify' AND status = 'sent'")" -ge "$LANE_OTPS" ] && break
    sleep 0.1
  done
  out=$(sms_mock GET /__mock/requests | python3 -c '
import json, sys
lat, bulk = [], 0
for e in json.load(sys.stdin):
    if e["path"] == "/v1/send/bulk":
        bulk += 1
    elif e["path"] == "/v1/send/verify" and isinstance(e["body"], dict):
        try:
            lat.append((e["t"] - float(e["body"]["parameters"][0]["value"])) * 1000)
        except (KeyError, IndexError, TypeError, ValueError):
            pass
lat.sort()
def pct(p):
    return "%.1f" % lat[max(0, min(len(lat) - 1, int(p / 100.0 * len(lat) + 0.999999) - 1))] if lat else "n/a"
print(len(lat), pct(50), pct(99), bulk)
')
  worker_pause
  read -r "R[lane_${label}_n]" "R[lane_${label}_p50]" "R[lane_${label}_p99]" "R[lane_${label}_bulk]" <<<"$out"
  R[lane_${label}_left]=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE kind = 'bulk' AND status = 'queued'")
  echo "  $label: ${R[lane_${label}_n]} of $LANE_OTPS OTPs reached the mock; commit->request p50 ${R[lane_${label}_p50]} ms," \
    "p99 ${R[lane_${label}_p99]} ms; ${R[lane_${label}_bulk]} bulk requests meanwhile, ${R[lane_${label}_left]} bulk rows still queued"
  sms_mock DELETE /__mock/fault >/dev/null
  q -c "TRUNCATE sms_ir.outbox" >/dev/null
}

part_lanes() {
  echo
  echo "== lanes: $LANE_OTPS OTPs at ${LANE_RATE}/s behind $LANE_BACKLOG bulk rows, bulk sends ${LANE_DELAY_MS} ms (python mock) =="
  worker_conf batch_size=default max_concurrency=default otp_valid_for=0 base_url="$SMS_MOCK_URL"
  lane_run "" otp
  lane_run ", priority => 0::smallint" fifo
  worker_conf otp_valid_for=default
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
    line "3 duplicates after kill -9, $DUP_ROWS rows" "${R[dup_list]}" "2 x max_concurrency = ${R[dup_target]}" \
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
    line "6b OTP behind $LANE_BACKLOG bulk rows" "p50 ${R[lane_otp_p50]} ms, p99 ${R[lane_otp_p99]} ms (${R[lane_otp_n]}/$LANE_OTPS)" \
      "same lane as bulk: ${R[lane_fifo_n]}/$LANE_OTPS arrived, p50 ${R[lane_fifo_p50]} ms" "p50 <= 50 ms"
    line "  bulk requests during the OTP run" "${R[lane_otp_bulk]}" "${R[lane_fifo_bulk]}" "backlog drains meanwhile"
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
