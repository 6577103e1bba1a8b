#!/usr/bin/env bash
#
# bench/outbox_bench.sh -- the outbox path of sms_ir (SPEC §6, §10): drain
# throughput, commit->request latency, worker memory.  Enqueue overhead is
# bench/enqueue_bench.sh's (bench/run.sh runs both).
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
# 3. worker memory: VmRSS / RssAnon of the sms_ir worker around each drain.
#
# Numbers are printed, never asserted.  The cluster runs with fsync = on and
# synchronous_commit = on (what production has; BENCH_FSYNC=off to compare) and
# default sms_ir settings unless stated.  BENCH_PERF=1 also profiles the worker
# with `perf record` during the first drain and prints the top symbols
# (BENCH_PERF_DATA=FILE keeps the perf.data).
# Everything is removed on exit, also on error or Ctrl-C.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DRAIN_ROWS=${BENCH_DRAIN_ROWS:-20000}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-120}

bench_positive DRAIN_ROWS DRAIN_TIMEOUT LAT_MSGS LAT_RATE
case $FSYNC in on | off) ;; *) sms_die "BENCH_FSYNC must be on or off" ;; esac

# --- 1. drain ------------------------------------------------------------------

# drain LABEL KEY [batch_size max_concurrency]
drain() {
  local label=$1 key=$2 bs=${3:-default} mc=${4:-default} pid rss0 rss1
  echo
  echo "== drain: $label =="
  worker_conf worker_enabled=off batch_size="$bs" max_concurrency="$mc"
  wait_worker_state paused
  queue_rows "$DRAIN_ROWS"
  q -c "CHECKPOINT"
  pid=$(worker_pid)
  rss0=$(rss_of "$pid")
  echo "  queued $DRAIN_ROWS rows in one transaction in $QUEUE_MS ms (worker paused, pid $pid," \
    "batch_size $(q -c 'SHOW sms_ir.batch_size'), max_concurrency $(q -c 'SHOW sms_ir.max_concurrency'))"
  perf_start "$pid"
  drain_timed "$DRAIN_ROWS" "$DRAIN_TIMEOUT"
  perf_stop
  pid=$(worker_pid)
  rss1=$(rss_of "$pid")
  echo "  enable -> all recorded sent: $D_SECS s for $D_SENT sent ($D_NOTSENT not sent)" \
    "= $D_RATE messages/s"
  echo "  sent_at span (first batch recorded .. last batch recorded): $D_SPAN s," \
    "$D_AFTER_FIRST rows recorded after the first batch = $D_SPAN_RATE messages/s"
  echo "  worker RSS (VmRSS / RssAnon kB): before $rss0, after ${rss1} (pid $pid)"
  R[${key}_rate]=$D_RATE
  R[${key}_span_rate]=$D_SPAN_RATE
  R[${key}_secs]=$D_SECS
  R[${key}_rss0]=$rss0
  R[${key}_rss1]=$rss1
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
  bench_start ""
  echo "sms_ir.so loaded by the worker: ${R[so]}"

  echo "outbox_bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$SMS_PGBIN/postgres" -V); $(nginx -v 2>&1 | sed 's/.*: //') at 127.0.0.1:$NGINX_PORT;" \
    "python mock at $SMS_MOCK_URL; fsync $FSYNC, synchronous_commit on"

  drain "defaults (batch_size 200, max_concurrency 16), nginx keep-alive" d1
  PERF=0 drain "batch_size 1000, max_concurrency 32, nginx keep-alive" d2 1000 32
  latency
  R[end_rss]=$(rss_of "$(worker_pid)")
  summary "$(($(date +%s) - t_start))"
}

main "$@"
