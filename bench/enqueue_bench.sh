#!/usr/bin/env bash
#
# bench/enqueue_bench.sh -- what queueing an SMS from a trigger costs (SPEC §10,
# issue 9 "Cheaper enqueue"): plain INSERT vs the same INSERT with a trigger
# writing a hand-written outbox row (the do-it-yourself baseline) vs with a
# trigger calling sms_ir.queue_verify.
#
#   make && make install          # as root, first (or set SMS_IR_BUILD=1)
#   bash bench/enqueue_bench.sh
#   SMS_PG_CONFIG=/opt/pgB/usr/lib/postgresql/15/bin/pg_config bash bench/enqueue_bench.sh
#                                 # another PostgreSQL install (PG_CONFIG works too)
#
# Starts a throw-away PostgreSQL cluster (scripts/lib/cluster.sh: the "postgres"
# user, temp dir, unix socket only, sms_ir preloaded) with the worker paused
# (sms_ir.worker_enabled = off: rows stay queued, nothing is sent, no provider
# is needed), then runs pgbench (BENCH_CLIENTS (2) clients, BENCH_SECONDS (10) s
# per run, -M prepared) on one statement,
#
#   INSERT INTO orders(mobile, otp) VALUES ('09121234567', '1234');
#
# in three variants, alternating a, b, c, a, b, c, ... for BENCH_ROUNDS (3) rounds:
#
#   (a) plain:  orders has no trigger;
#   (b) diy:    an AFTER INSERT ... FOR EACH ROW plpgsql trigger inserts a
#               hand-written outbox row: diy_outbox(id bigserial PRIMARY KEY,
#               mobile text, template_id int, params jsonb, status text DEFAULT
#               'queued', created_at timestamptz DEFAULT now()) with the index a
#               worker needs to find due rows, CREATE INDEX ON diy_outbox
#               (created_at) WHERE status = 'queued' -- partial, like sms_ir's own
#               outbox_due_idx, so both tables maintain the same number of
#               indexes per row (a non-partial (status, created_at) index is a
#               little dearer: wider keys, text comparisons);
#   (c) sms_ir: the same trigger calls
#               PERFORM sms_ir.queue_verify(NEW.mobile, 123456, jsonb_build_object('code', NEW.otp)).
#
# (BENCH_DIRECT=1 adds (d): the trigger does the documented plain
# INSERT INTO sms_ir.outbox (kind, payload).)  Every run starts from empty
# tables (TRUNCATE, CHECKPOINT).  The figure per variant is the median tps of
# its rounds; the script prints c/b (the issue's target: >= 100%) and b/a.
#
# Durability: by default fsync = off and synchronous_commit = off, so the run
# measures CPU per transaction, which is what the trigger adds; with a WAL fsync
# per commit every variant waits for the disk and the ratios say little
# (BENCH_FSYNC=on BENCH_SYNC_COMMIT=on to measure that anyway).
# BENCH_PERF=1 profiles pgbench's backends (perf record -p, DWARF call graphs:
# Debian's postgres has no frame pointers) during the first (c) run and prints
# the top symbols (BENCH_PERF_VARIANT=a|b|d profiles another variant);
# BENCH_PERF_DATA=FILE keeps the data.
#
# The last lines are a summary starting with "enqueue:" (for bench/run.sh).
# Numbers are printed, never asserted.  Everything is removed on exit, also on
# error or Ctrl-C.
set -euo pipefail

# Which PostgreSQL: SMS_PG_CONFIG (or PG_CONFIG) names its pg_config, as in
# bench/lib.sh; initdb, pg_ctl, postgres, psql, pgbench, the sms_ir.so checked
# for and the build (SMS_IR_BUILD=1: the Makefile's PG_CONFIG ?= follows the
# exported PG_CONFIG) all come from it.  Default: the pg_config on PATH.
if [ -n "${SMS_PG_CONFIG:-}" ]; then
  export PG_CONFIG=$SMS_PG_CONFIG
elif [ -n "${PG_CONFIG:-}" ]; then
  export PG_CONFIG
fi
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/cluster.sh
. "$(dirname "$0")/../scripts/lib/cluster.sh"

CLIENTS=${BENCH_CLIENTS:-2}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
FSYNC=${BENCH_FSYNC:-off}
SYNC_COMMIT=${BENCH_SYNC_COMMIT:-off}
PERF=${BENCH_PERF:-0}
DIRECT=${BENCH_DIRECT:-0}

for v in CLIENTS SECONDS_PER_RUN ROUNDS; do
  case ${!v} in *[!0-9]* | '' | 0) sms_die "$v must be a positive integer" ;; esac
done
case $FSYNC in on | off) ;; *) sms_die "BENCH_FSYNC must be on or off" ;; esac
case $SYNC_COMMIT in on | off) ;; *) sms_die "BENCH_SYNC_COMMIT must be on or off" ;; esac

q() {
  sms_psql -qAt "$@"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

pct() {
  awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.1f", 100 * x / y; else print "n/a" }'
}

setup() {
  q <<'SQL'
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  mobile text,
  otp text,
  created_at timestamptz DEFAULT now()
);
-- (b) the do-it-yourself outbox a user would write
CREATE TABLE diy_outbox (
  id bigserial PRIMARY KEY,
  mobile text,
  template_id int,
  params jsonb,
  status text DEFAULT 'queued',
  created_at timestamptz DEFAULT now()
);
CREATE INDEX diy_outbox_due ON diy_outbox (created_at) WHERE status = 'queued';
CREATE FUNCTION orders_diy_otp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO diy_outbox (mobile, template_id, params)
  VALUES (NEW.mobile, 123456, jsonb_build_object('code', NEW.otp));
  RETURN NULL;
END
$$;
-- (c) sms_ir
CREATE FUNCTION orders_queue_otp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM sms_ir.queue_verify(NEW.mobile, 123456, jsonb_build_object('code', NEW.otp));
  RETURN NULL;
END
$$;
-- (d) the documented plain INSERT into sms_ir.outbox
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
  chown postgres:postgres "$SMS_WORK/insert.sql"
}

# perf_record SECONDS: profile the cluster's client backends (pgbench's, now
# running) for SECONDS, then print the top symbols
perf_record() {
  local pm pids
  command -v perf >/dev/null 2>&1 || { echo "  (perf not found; no profile)"; return 0; }
  pm=$(head -n1 "$SMS_WORK/data/postmaster.pid")
  pids=$(pgrep -d, -P "$pm" -f '^postgres: postgres postgres \[local\]') ||
    { echo "  (no backend to profile)"; return 0; }
  perf record -p "$pids" --call-graph "${BENCH_PERF_CALLGRAPH:-dwarf,16384}" -F "${BENCH_PERF_FREQ:-499}" \
    -o "$SMS_WORK/perf.data" -- sleep "$1" >"$SMS_WORK/perf.log" 2>&1 || true
  if [ -n "${BENCH_PERF_DATA:-}" ]; then
    cp "$SMS_WORK/perf.data" "$BENCH_PERF_DATA" && echo "  (perf data copied to $BENCH_PERF_DATA)"
  fi
  echo "  perf, variant (${BENCH_PERF_VARIANT:-c}), pgbench's backends, self time by symbol (>= 0.7%):"
  perf report -i "$SMS_WORK/perf.data" --stdio --no-children \
    --sort dso,sym -g none --percent-limit 0.7 2>/dev/null |
    grep -E '^ +[0-9]' | head -n 40 | sed 's/^/      /' || true
}

# CPU time (utime + stime, ms) of the cluster's backends that have exited:
# the postmaster's cutime + cstime (it reaps them).  pgbench's backends exit
# when it ends, so the difference around a run is the CPU its transactions
# took in the server, whatever else the (shared) machine was doing.
reaped_cpu_ms() {
  local pm
  pm=$(head -n1 "$SMS_WORK/data/postmaster.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($14 + $15) * 1000 / hz }' "/proc/$pm/stat"
}

# until no client backend but the asking one is left, and a little longer
# for the postmaster to reap them
wait_reaped() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")" = 1 ] && break
    sleep 0.05
  done
  sleep 0.2
}

# run VARIANT -> "TPS CPU_US_PER_TXN OUTBOX_ROWS"
run() {
  local v=$1 pg rows c0 c1 n pgb
  q -c "SET client_min_messages = warning" -c "DROP TRIGGER IF EXISTS orders_otp ON orders" >/dev/null
  case $v in
    b) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_diy_otp()" ;;
    c) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_queue_otp()" ;;
    d) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_insert_otp()" ;;
  esac
  q -c "TRUNCATE orders, diy_outbox, sms_ir.outbox RESTART IDENTITY" -c "VACUUM ANALYZE" \
    -c "CHECKPOINT" >/dev/null
  wait_reaped
  c0=$(reaped_cpu_ms)
  (cd "$SMS_WORK" && exec runuser -u postgres -- "$SMS_PGBIN/pgbench" -h "$SMS_WORK" -p "$SMS_PGPORT" \
    -U postgres -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" \
    -f "$SMS_WORK/insert.sql" postgres >"$SMS_WORK/pgbench.out" 2>&1) &
  pgb=$!
  if [ "$v" = "${BENCH_PERF_VARIANT:-c}" ] && [ "$PERF" = 1 ] && [ ! -f "$SMS_WORK/perf.txt" ] &&
    [ "$SECONDS_PER_RUN" -ge 3 ]; then
    sleep 1
    perf_record "$((SECONDS_PER_RUN - 2))" >"$SMS_WORK/perf.txt"
  fi
  wait "$pgb" || { cat "$SMS_WORK/pgbench.out" >&2; sms_die "pgbench failed (variant $v)"; }
  pg=$(cat "$SMS_WORK/pgbench.out")
  wait_reaped
  c1=$(reaped_cpu_ms)
  n=$(awk '/^number of transactions actually processed: / { print $NF }' <<<"$pg")
  case $v in
    b) rows=$(q -c "SELECT count(*) FROM diy_outbox") ;;
    c | d) rows=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE status = 'queued'") ;;
    *) rows=0 ;;
  esac
  echo "$(awk '/^tps = / { printf "%.1f", $3 }' <<<"$pg") $(awk -v c="$((c1 - c0))" -v n="$n" 'BEGIN { printf "%.1f", (n > 0 ? 1000 * c / n : 0) }') $rows"
}

main() {
  local t0 r v tps cpu rows label variants=(a b c)
  t0=$(date +%s)
  trap sms_cleanup EXIT
  trap sms_interrupted INT TERM
  [ "$DIRECT" = 1 ] && variants+=(d)

  sms_workdir sms_ir_enqueue_bench
  if [ "${SMS_IR_BUILD:-0}" = 1 ]; then
    sms_build
  fi
  [ -f "$("$SMS_PG_CONFIG" --pkglibdir)/sms_ir.so" ] ||
    sms_die "sms_ir is not installed: run 'make && make install' (or SMS_IR_BUILD=1)"
  sms_cluster_start "sms_ir.database_name = 'postgres'
sms_ir.worker_enabled = off
fsync = $FSYNC
synchronous_commit = $SYNC_COMMIT
full_page_writes = $FSYNC"
  q -c "CREATE EXTENSION sms_ir"
  setup

  echo "enqueue_bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$SMS_PGBIN/postgres" -V) in $SMS_PGBIN; pgbench $CLIENTS clients x ${SECONDS_PER_RUN}s x $ROUNDS rounds," \
    "-M prepared; fsync $FSYNC, synchronous_commit $SYNC_COMMIT; worker paused"
  for v in "${variants[@]}"; do : >"$SMS_WORK/tps.$v"; : >"$SMS_WORK/cpu.$v"; done
  for ((r = 1; r <= ROUNDS; r++)); do
    for v in "${variants[@]}"; do
      read -r tps cpu rows <<<"$(run "$v")"
      echo "$tps" >>"$SMS_WORK/tps.$v"
      echo "$cpu" >>"$SMS_WORK/cpu.$v"
      case $v in
        a) label="plain INSERT" ;;
        b) label="+ trigger, hand-written outbox row" ;;
        c) label="+ trigger, sms_ir.queue_verify" ;;
        d) label="+ trigger, INSERT INTO sms_ir.outbox" ;;
      esac
      printf '  round %d  (%s) %-38s %9s tps  %6s us server CPU/txn  (%s outbox rows)\n' \
        "$r" "$v" "$label" "$tps" "$cpu" "$rows"
    done
  done
  [ -f "$SMS_WORK/perf.txt" ] && cat "$SMS_WORK/perf.txt"

  local a b c d= ca cb cc cd=
  a=$(median <"$SMS_WORK/tps.a")
  b=$(median <"$SMS_WORK/tps.b")
  c=$(median <"$SMS_WORK/tps.c")
  ca=$(median <"$SMS_WORK/cpu.a")
  cb=$(median <"$SMS_WORK/cpu.b")
  cc=$(median <"$SMS_WORK/cpu.c")
  if [ "$DIRECT" = 1 ]; then
    d=$(median <"$SMS_WORK/tps.d")
    cd=$(median <"$SMS_WORK/cpu.d")
  fi
  echo "total time: $(($(date +%s) - t0))s (numbers are printed, not asserted; a shared machine is noisy:"
  echo "  tps moves with whatever else runs, server CPU per transaction much less; ratios by CPU are"
  echo "  the CPU-per-transaction ratio inverted, i.e. the throughput ratio a machine of its own would see)"
  echo "enqueue: median of $ROUNDS rounds, pgbench $CLIENTS clients x ${SECONDS_PER_RUN}s, fsync $FSYNC, synchronous_commit $SYNC_COMMIT, worker paused"
  printf 'enqueue: (a) plain INSERT                         %9s tps %7s us CPU/txn\n' "$a" "$ca"
  printf 'enqueue: (b) + trigger writing a hand-written row %9s tps %7s us CPU/txn\n' "$b" "$cb"
  printf 'enqueue: (c) + trigger calling queue_verify       %9s tps %7s us CPU/txn\n' "$c" "$cc"
  [ -n "$d" ] &&
    printf 'enqueue: (d) + trigger INSERT INTO sms_ir.outbox  %9s tps %7s us CPU/txn\n' "$d" "$cd"
  printf 'enqueue: c/b %s%% by tps, %s%% by CPU (target >= 100%%); b/a %s%% by tps, %s%% by CPU\n' \
    "$(pct "$c" "$b")" "$(pct "$cb" "$cc")" "$(pct "$b" "$a")" "$(pct "$ca" "$cb")"
}

main "$@"
