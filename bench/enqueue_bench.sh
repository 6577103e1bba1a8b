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
# per run, -M prepared) on one statement, to a random Iranian mobile per row
# (the same expression in every variant, so all do the same work):
#
#   \set m random(0, 9999999)
#   INSERT INTO orders(mobile, otp) VALUES ('0912' || lpad(:m::text, 7, '0'), '1234');
#
# A fixed mobile would be refused by sms_ir's default throttle after 5 rows
# (sms_ir.recipient_limit '5/10min', SQLSTATE 53400); 10^7 numbers make a repeat
# within 10 minutes negligible at these rates.  The variants, alternating for
# BENCH_ROUNDS (3) rounds, odd rounds in this order and even rounds in reverse
# (a, b, c, c0, cp, cp, c0, c, b, a, a, b, ...: a steady drift of the shared
# machine's speed during a round then favours no variant):
#
#   (a)  plain:  orders has no trigger;
#   (b)  diy:    an AFTER INSERT ... FOR EACH ROW plpgsql trigger inserts a
#                hand-written outbox row: diy_outbox(id bigserial PRIMARY KEY,
#                mobile text, template_id int, params jsonb, status text DEFAULT
#                'queued', created_at timestamptz DEFAULT now()) with the index a
#                worker needs to find due rows, CREATE INDEX ON diy_outbox
#                (created_at) WHERE status = 'queued' -- partial, like sms_ir's own
#                outbox_due_idx, so both tables maintain the same number of
#                indexes per row (a non-partial (status, created_at) index is a
#                little dearer: wider keys, text comparisons);
#   (c)  sms_ir with the default throttles: the same trigger calls
#                PERFORM sms_ir.queue_verify(NEW.mobile, 123456, jsonb_build_object('code', NEW.otp))
#                with sms_ir.recipient_limit at its default ('5/10min': a
#                shared-memory LWLock and hash entry per row, and a transaction
#                callback to give the count back on rollback) and
#                sms_ir.prefix_limit at its default ('0', off);
#   (c0) as (c) with sms_ir.recipient_limit = '0': no throttle at all;
#   (cp) as (c) with both throttles: recipient_limit at its default and
#                sms_ir.prefix_limit = BENCH_PREFIX_LIMIT ('1000000/10min', far
#                more than a run queues per 7-digit range, so it never refuses
#                and only its cost shows).
#
# The throttles are sighup settings: before each run the script sets them with
# ALTER SYSTEM (DEFAULT for the defaults) + pg_reload_conf(), waits until a new
# session SHOWs the intended values, and SHOWs them again after the run (the
# round lines print them).  (a), (b) and (d) run with the defaults.
# (BENCH_DIRECT=1 adds (d): the trigger does the documented plain
# INSERT INTO sms_ir.outbox (kind, payload); default throttles, which count
# such rows too.)  Every run starts from empty tables (TRUNCATE, CHECKPOINT);
# the throttle's counts live in shared memory and are not emptied, so later
# runs find its table full of other numbers, as a busy server would.
#
# Errors: a refused row (53400) or any other error aborts a pgbench client and
# would only show as lower tps.  After each run the script checks pgbench's exit
# status, its failed-transaction count and "aborted" lines, the ERRORs the
# server logged during the run (with their SQLSTATE: log_line_prefix has %e),
# and that orders and the outbox hold one row per transaction; a run that fails
# a check is flagged on its round line and on stderr, the summary ends with
# "enqueue: WARNING: ..." lines, and the script exits with status 1.
#
# The figure per variant is the median tps (and server CPU per transaction) of
# its rounds; the script prints c/b (the issue's target: >= 100%: sms_ir with
# the default throttles vs the hand-written outbox), c0/b, b/a, c/c0 (what the
# default throttle costs) and cp/c0 (what both throttles cost).
#
# Durability: by default fsync = off and synchronous_commit = off, so the run
# measures CPU per transaction, which is what the trigger adds; with a WAL fsync
# per commit every variant waits for the disk and the ratios say little
# (BENCH_FSYNC=on BENCH_SYNC_COMMIT=on to measure that anyway).
# BENCH_PERF=1 profiles pgbench's backends (perf record -p, DWARF call graphs:
# Debian's postgres has no frame pointers) during the first (c) run and prints
# the top symbols (BENCH_PERF_VARIANT=a|b|c0|cp|d profiles another variant);
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
PERF_VARIANT=${BENCH_PERF_VARIANT:-c}
DIRECT=${BENCH_DIRECT:-0}
PREFIX_LIMIT=${BENCH_PREFIX_LIMIT:-1000000/10min}
# sms_ir.recipient_limit's default (read from the server)
RECIPIENT_DEFAULT=

for v in CLIENTS SECONDS_PER_RUN ROUNDS; do
  case ${!v} in *[!0-9]* | '' | 0) sms_die "$v must be a positive integer" ;; esac
done
case $FSYNC in on | off) ;; *) sms_die "BENCH_FSYNC must be on or off" ;; esac
case $SYNC_COMMIT in on | off) ;; *) sms_die "BENCH_SYNC_COMMIT must be on or off" ;; esac
case $PERF_VARIANT in a | b | c | c0 | cp | d) ;; *) sms_die "BENCH_PERF_VARIANT must be a, b, c, c0, cp or d" ;; esac
case $PREFIX_LIMIT in *[!0-9a-z/]* | '' | 0) sms_die "BENCH_PREFIX_LIMIT must be a throttle such as 1000000/10min" ;; esac

q() {
  sms_psql -qAt "$@"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

pct() {
  awk -v x="$1" -v y="$2" 'BEGIN { if (y > 0) printf "%.1f", 100 * x / y; else print "n/a" }'
}

# diff X Y: X - Y, signed, one decimal
diff1() {
  awk -v x="$1" -v y="$2" 'BEGIN { printf "%+.1f", x - y }'
}

label() {
  case $1 in
    a) echo "plain INSERT" ;;
    b) echo "+ trigger, hand-written outbox row" ;;
    c) echo "+ trigger, queue_verify, default throttles" ;;
    c0) echo "+ trigger, queue_verify, no throttle" ;;
    cp) echo "+ trigger, queue_verify, both throttles" ;;
    d) echo "+ trigger, INSERT INTO sms_ir.outbox" ;;
  esac
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
-- (c), (c0), (cp) sms_ir
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
  # a random mobile per row, the same expression in every variant
  cat >"$SMS_WORK/insert.sql" <<'EOF'
\set m random(0, 9999999)
INSERT INTO orders(mobile, otp) VALUES ('0912' || lpad(:m::text, 7, '0'), '1234');
EOF
  chown postgres:postgres "$SMS_WORK/insert.sql"
  RECIPIENT_DEFAULT=$(q -c "SELECT boot_val FROM pg_settings WHERE name = 'sms_ir.recipient_limit'")
  case $RECIPIENT_DEFAULT in '' | 0) sms_die "sms_ir.recipient_limit has no default throttle ('$RECIPIENT_DEFAULT'): nothing to compare" ;;
  esac
}

# the throttles VARIANT runs with, as SHOW prints them: "RECIPIENT PREFIX"
throttles_wanted() {
  case $1 in
    c0) echo "0 0" ;;
    cp) echo "$RECIPIENT_DEFAULT $PREFIX_LIMIT" ;;
    *) echo "$RECIPIENT_DEFAULT 0" ;;
  esac
}

# the throttles a new session sees
throttles_shown() {
  q -c "SHOW sms_ir.recipient_limit" -c "SHOW sms_ir.prefix_limit" | paste -sd' '
}

# set_throttles VARIANT: ALTER SYSTEM + reload, then wait until a new session
# SHOWs the intended values (pgbench's backends, started later, see them too)
set_throttles() {
  local want rec=DEFAULT pfx=DEFAULT i
  want=$(throttles_wanted "$1")
  [ "$(throttles_shown)" = "$want" ] && return 0
  case $1 in
    c0) rec="'0'" ;;
    cp) pfx="'$PREFIX_LIMIT'" ;;
  esac
  q -c "ALTER SYSTEM SET sms_ir.recipient_limit = $rec" -c "ALTER SYSTEM SET sms_ir.prefix_limit = $pfx" \
    -c "SELECT pg_reload_conf()" >/dev/null
  for ((i = 0; i < 100; i++)); do
    [ "$(throttles_shown)" = "$want" ] && return 0
    sleep 0.05
  done
  sms_die "variant ($1): SHOW sms_ir.recipient_limit, sms_ir.prefix_limit say '$(throttles_shown)' after the reload, not '$want'"
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
  echo "  perf, variant ($PERF_VARIANT), pgbench's backends, self time by symbol (>= 0.7%):"
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

# run VARIANT -> RUN_TPS, RUN_CPU (us of server CPU per transaction),
# RUN_ROWS (outbox rows), RUN_SHOWN (the throttles SHOWn), RUN_ERR (what went
# wrong, empty if nothing).  Not in a subshell: sms_die stops the script.
RUN_TPS='' RUN_CPU='' RUN_ROWS='' RUN_SHOWN='' RUN_ERR=''
run() {
  local v=$1 pg c0 c1 n pgb rc=0 logpos failed aborted orders lerr shown errs=()
  set_throttles "$v"
  RUN_SHOWN=$(throttles_shown)
  q -c "SET client_min_messages = warning" -c "DROP TRIGGER IF EXISTS orders_otp ON orders" >/dev/null
  case $v in
    b) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_diy_otp()" ;;
    c | c0 | cp) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_queue_otp()" ;;
    d) q -c "CREATE TRIGGER orders_otp AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_insert_otp()" ;;
  esac
  q -c "TRUNCATE orders, diy_outbox, sms_ir.outbox RESTART IDENTITY" -c "VACUUM ANALYZE" \
    -c "CHECKPOINT" >/dev/null
  wait_reaped
  c0=$(reaped_cpu_ms)
  logpos=$(stat -c %s "$SMS_WORK/postgres.log")
  (cd "$SMS_WORK" && exec runuser -u postgres -- "$SMS_PGBIN/pgbench" -h "$SMS_WORK" -p "$SMS_PGPORT" \
    -U postgres -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" \
    -f "$SMS_WORK/insert.sql" postgres >"$SMS_WORK/pgbench.out" 2>&1) &
  pgb=$!
  if [ "$v" = "$PERF_VARIANT" ] && [ "$PERF" = 1 ] && [ ! -f "$SMS_WORK/perf.txt" ] &&
    [ "$SECONDS_PER_RUN" -ge 3 ]; then
    sleep 1
    perf_record "$((SECONDS_PER_RUN - 2))" >"$SMS_WORK/perf.txt"
  fi
  wait "$pgb" || rc=$?
  pg=$(cat "$SMS_WORK/pgbench.out")
  wait_reaped
  c1=$(reaped_cpu_ms)
  n=$(awk '/^number of transactions actually processed: / { print $NF }' <<<"$pg")
  case $v in
    b) RUN_ROWS=$(q -c "SELECT count(*) FROM diy_outbox") ;;
    c | c0 | cp | d) RUN_ROWS=$(q -c "SELECT count(*) FROM sms_ir.outbox WHERE status = 'queued'") ;;
    *) RUN_ROWS=- ;;
  esac
  orders=$(q -c "SELECT count(*) FROM orders")

  # did anything go wrong?  (a refused row aborts its pgbench client)
  [ "$rc" = 0 ] || errs+=("pgbench exit status $rc")
  failed=$(awk '/^number of failed transactions: / { print $5 }' <<<"$pg")
  [ -z "$failed" ] || [ "$failed" = 0 ] || errs+=("$failed failed transactions")
  aborted=$(grep -c 'aborted' <<<"$pg" || true)
  [ "$aborted" = 0 ] || errs+=("$aborted pgbench 'aborted' lines")
  # the server's log since the run started: ERRORs by SQLSTATE (log_line_prefix %e)
  lerr=$(tail -c "+$((logpos + 1))" "$SMS_WORK/postgres.log" |
    grep -oE ' [0-9A-Z]{5} (ERROR|FATAL|PANIC): ' | sort | uniq -c |
    awk '{ printf "%s%s %s x%d", (NR > 1 ? ", " : ""), $2, $3, $1 }' || true)
  [ -z "$lerr" ] || errs+=("server logged $lerr")
  [ -n "$n" ] || errs+=("no transaction count from pgbench")
  [ -z "$n" ] || [ "$orders" = "$n" ] || errs+=("$orders orders rows for $n transactions")
  [ -z "$n" ] || [ "$RUN_ROWS" = - ] || [ "$RUN_ROWS" = "$n" ] ||
    errs+=("$RUN_ROWS outbox rows for $n transactions")
  shown=$(throttles_shown)
  [ "$shown" = "$RUN_SHOWN" ] || errs+=("throttles changed during the run: '$RUN_SHOWN' -> '$shown'")
  RUN_ERR=
  if [ "${#errs[@]}" -gt 0 ]; then
    RUN_ERR=$(printf '%s; ' "${errs[@]}")
    RUN_ERR=${RUN_ERR%; }
    {
      echo "${0##*/}: ERRORS in a run of variant ($v): $RUN_ERR"
      grep -E 'error|aborted|ERROR|DETAIL' <<<"$pg" | head -n 6 | sed 's/^/    pgbench: /'
      tail -c "+$((logpos + 1))" "$SMS_WORK/postgres.log" | grep -E ' (ERROR|FATAL|PANIC|DETAIL): ' |
        head -n 4 | sed 's/^/    server: /'
    } >&"$SMS_STDERR" || true
  fi
  RUN_TPS=$(awk '/^tps = / { printf "%.1f", $3 }' <<<"$pg")
  [ -n "$RUN_TPS" ] || RUN_TPS=0
  RUN_CPU=$(awk -v c="$((c1 - c0))" -v n="${n:-0}" 'BEGIN { printf "%.1f", (n > 0 ? 1000 * c / n : 0) }')
}

main() {
  local t0 r v label_v flag nerr=0 variants=(a b c c0 cp)
  t0=$(date +%s)
  trap sms_cleanup EXIT
  trap sms_interrupted INT TERM
  [ "$DIRECT" = 1 ] && variants+=(d)
  case " ${variants[*]} " in *" $PERF_VARIANT "*) ;; *) sms_die "BENCH_PERF_VARIANT=$PERF_VARIANT is not run (d needs BENCH_DIRECT=1)" ;; esac

  sms_workdir sms_ir_enqueue_bench
  if [ "${SMS_IR_BUILD:-0}" = 1 ]; then
    sms_build
  fi
  [ -f "$("$SMS_PG_CONFIG" --pkglibdir)/sms_ir.so" ] ||
    sms_die "sms_ir is not installed in $("$SMS_PG_CONFIG" --pkglibdir): run 'make && make install' (or SMS_IR_BUILD=1)"
  sms_cluster_start "sms_ir.database_name = 'postgres'
sms_ir.worker_enabled = off
fsync = $FSYNC
synchronous_commit = $SYNC_COMMIT
full_page_writes = $FSYNC
log_line_prefix = '%m [%p] %e '"
  q -c "CREATE EXTENSION sms_ir"
  setup

  echo "enqueue_bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$SMS_PGBIN/postgres" -V) in $SMS_PGBIN; pgbench $CLIENTS clients x ${SECONDS_PER_RUN}s x $ROUNDS rounds," \
    "-M prepared; fsync $FSYNC, synchronous_commit $SYNC_COMMIT; worker paused;" \
    "a random mobile 0912xxxxxxx per row"
  for v in "${variants[@]}"; do : >"$SMS_WORK/tps.$v"; : >"$SMS_WORK/cpu.$v"; done
  : >"$SMS_WORK/errors"
  local order=("${variants[@]}") reversed=() i
  for ((i = ${#variants[@]} - 1; i >= 0; i--)); do reversed+=("${variants[i]}"); done
  for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=("${variants[@]}"); else order=("${reversed[@]}"); fi
    for v in "${order[@]}"; do
      run "$v"
      echo "$RUN_TPS" >>"$SMS_WORK/tps.$v"
      echo "$RUN_CPU" >>"$SMS_WORK/cpu.$v"
      label_v=$(label "$v")
      flag=
      case $v in c | c0 | cp | d) flag="  [SHOW: $RUN_SHOWN]" ;; esac
      if [ -n "$RUN_ERR" ]; then
        flag="$flag  <-- ERRORS: $RUN_ERR"
        echo "round $r ($v): $RUN_ERR" >>"$SMS_WORK/errors"
        nerr=$((nerr + 1))
      fi
      printf '  round %d  (%-2s) %-42s %9s tps  %6s us server CPU/txn  (%s outbox rows)%s\n' \
        "$r" "$v" "$label_v" "$RUN_TPS" "$RUN_CPU" "$RUN_ROWS" "$flag"
    done
  done
  [ -f "$SMS_WORK/perf.txt" ] && cat "$SMS_WORK/perf.txt"

  declare -A T=() C=()
  for v in "${variants[@]}"; do
    T[$v]=$(median <"$SMS_WORK/tps.$v")
    C[$v]=$(median <"$SMS_WORK/cpu.$v")
  done
  echo "total time: $(($(date +%s) - t0))s (numbers are printed, not asserted; a shared machine is noisy:"
  echo "  tps moves with whatever else runs, server CPU per transaction much less; ratios by CPU are"
  echo "  the CPU-per-transaction ratio inverted, i.e. the throughput ratio a machine of its own would see)"
  echo "enqueue: median of $ROUNDS rounds, pgbench $CLIENTS clients x ${SECONDS_PER_RUN}s, fsync $FSYNC, synchronous_commit $SYNC_COMMIT, worker paused, a random mobile per row"
  echo "enqueue: throttles (sms_ir.recipient_limit / sms_ir.prefix_limit): (c) $(throttles_wanted c | sed 's| | / |')," \
    "(c0) $(throttles_wanted c0 | sed 's| | / |'), (cp) $(throttles_wanted cp | sed 's| | / |')"
  sum() {
    printf 'enqueue: %-4s %-50s %9s tps %7s us CPU/txn\n' "($1)" "$2" "${T[$1]}" "${C[$1]}"
  }
  sum a "plain INSERT"
  sum b "+ trigger writing a hand-written row"
  sum c "+ trigger calling queue_verify, default throttles"
  sum c0 "+ trigger calling queue_verify, no throttle"
  sum cp "+ trigger calling queue_verify, both throttles"
  [ "$DIRECT" = 1 ] && sum d "+ trigger INSERT INTO sms_ir.outbox"
  printf 'enqueue: c/b %s%% by tps, %s%% by CPU (target >= 100%%; sms_ir with default throttles vs the hand-written outbox); c0/b %s%% by tps, %s%% by CPU; b/a %s%% by tps, %s%% by CPU\n' \
    "$(pct "${T[c]}" "${T[b]}")" "$(pct "${C[b]}" "${C[c]}")" \
    "$(pct "${T[c0]}" "${T[b]}")" "$(pct "${C[b]}" "${C[c0]}")" \
    "$(pct "${T[b]}" "${T[a]}")" "$(pct "${C[a]}" "${C[b]}")"
  printf 'enqueue: c/c0 %s%% by tps, %s%% by CPU (the default recipient throttle'"'"'s cost: %s us CPU/txn)\n' \
    "$(pct "${T[c]}" "${T[c0]}")" "$(pct "${C[c0]}" "${C[c]}")" "$(diff1 "${C[c]}" "${C[c0]}")"
  printf 'enqueue: cp/c0 %s%% by tps, %s%% by CPU (both throttles'"'"' cost: %s us CPU/txn)\n' \
    "$(pct "${T[cp]}" "${T[c0]}")" "$(pct "${C[c0]}" "${C[cp]}")" "$(diff1 "${C[cp]}" "${C[c0]}")"
  if [ "$nerr" -gt 0 ]; then
    echo "enqueue: WARNING: $nerr of $((ROUNDS * ${#variants[@]})) runs had errors; their tps and CPU are not comparable:"
    sed 's/^/enqueue: WARNING:   /' "$SMS_WORK/errors"
    exit 1
  fi
}

main "$@"
