#!/usr/bin/env bash
#
# scripts/demo.sh -- sms_ir end to end in one command, as root on Debian 12:
#
#   bash scripts/demo.sh
#
# 1. installs the dependencies (scripts/install-deps.sh; skip with SMS_IR_SKIP_DEPS=1),
# 2. builds and installs the extension (make && make install),
# 3. starts a throw-away PostgreSQL 15 cluster (as the "postgres" user, in a temp
#    dir, unix socket only, sms_ir in shared_preload_libraries) and the local mock
#    of the sms.ir API (test/mock) on a free port of 127.0.0.1,
# 4. configures sms_ir with ALTER SYSTEM + pg_reload_conf() and CREATE EXTENSION,
# 5. sends an OTP and a bulk text, reads a delivery report and the credit, echoing
#    each SQL statement before its result,
# 6. prints what the provider received (method, path, body; never the API key),
# 7. the queued path: a trigger on an orders table queues an OTP in the same
#    transaction; a rolled-back update sends nothing, a committed one is sent by
#    the background worker; shows the outbox row and the worker's status.
#
# Nothing is sent to the real sms.ir.  Everything (cluster, mock, temp dir) is
# removed on exit, also on error or Ctrl-C; running it again starts from scratch.
#
# Adding a section: write a demo_<name>() function below and call it from main().
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/cluster.sh
. "$(dirname "$0")/lib/cluster.sh"

# The last SQL result (psql's aligned output) of demo_sql.
SQL_OUT=

# Print a section title.
demo_title() {
  printf '\n== %s ==\n' "$*"
}

# Echo one SQL statement as typed at a psql prompt, run it, print its result.
demo_sql() {
  printf '\npostgres=# %s\n' "$1"
  SQL_OUT=$(sms_psql -c "$1")
  printf '%s\n' "$SQL_OUT"
}

# Value of the first column of the first row of $SQL_OUT (aligned psql output).
demo_first_value() {
  awk -F'|' 'NR == 3 { gsub(/^ +| +$/, "", $1); print $1; exit }' <<<"$SQL_OUT"
}

# What the mock received after request number $1 (default: everything):
# method, path, reply status and JSON body.  Headers (the API key) are not shown.
demo_provider_requests() {
  local since=${1:-0}
  sms_mock GET "/__mock/requests?since=$since" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print("%s %s  -> HTTP %s" % (e["method"], e["path"], e["reply_status"]))
    if e["body"] is not None:
        print("    " + json.dumps(e["body"], ensure_ascii=False, separators=(",", ":")))
'
}

# --- sections ----------------------------------------------------------------

demo_setup() {
  sms_workdir sms_ir_demo
  if [ "${SMS_IR_SKIP_DEPS:-0}" != 1 ]; then
    sms_quiet deps bash "$SMS_REPO/scripts/install-deps.sh"
  fi
  sms_build
  sms_cluster_start ""
  sms_mock_start
  echo "sms_ir demo: PostgreSQL $("$SMS_PGBIN/postgres" -V | awk '{print $3}') on socket" \
    "$SMS_WORK (port $SMS_PGPORT), mock sms.ir API at $SMS_MOCK_URL"
}

demo_configure() {
  local key_file
  demo_title "configure (as a superuser would; the key by file reference, readable by the server's user only)"
  key_file=$(sms_secret_file api_key test-key)
  demo_sql "ALTER SYSTEM SET sms_ir.base_url = '$SMS_MOCK_URL';"
  demo_sql "ALTER SYSTEM SET sms_ir.api_key = 'file:$key_file';"
  demo_sql "ALTER SYSTEM SET sms_ir.line_number = '30004505000017';"
  demo_sql "SELECT pg_reload_conf();"
  demo_sql "CREATE EXTENSION sms_ir;"
}

demo_sync() {
  local mark verify_id
  demo_title "synchronous sends: one HTTP request each, errors raise"
  mark=$(sms_mock_count)
  demo_sql "SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{\"code\":\"4821\"}');"
  verify_id=$(demo_first_value)
  [ -n "$verify_id" ] || sms_die "no message_id in the sms_send_verify result"
  demo_sql "SELECT * FROM sms_ir.sms_send_bulk('Sale ends tonight', ARRAY['09121234567','+989351234567']);"
  demo_sql "SELECT * FROM sms_ir.sms_delivery_status('$verify_id');"
  demo_sql "SELECT sms_ir.sms_credit();"

  demo_title "what the provider received"
  demo_provider_requests "$mark"
}

demo_queued() {
  local mark id status
  demo_title "queued path: a trigger queues in the business transaction, the worker sends after COMMIT"
  mark=$(sms_mock_count)
  demo_sql "CREATE TABLE orders (id int PRIMARY KEY, mobile text, status text);"
  demo_sql "CREATE FUNCTION notify_shipped() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF NEW.status = 'shipped' AND OLD.status IS DISTINCT FROM 'shipped' THEN
    PERFORM sms_ir.queue_verify(NEW.mobile, 100200, jsonb_build_object('order', NEW.id::text),
                                now(), 'order:' || NEW.id || ':shipped');
  END IF;
  RETURN NEW;
END \$\$;"
  demo_sql "CREATE TRIGGER orders_shipped AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION notify_shipped();"
  demo_sql "INSERT INTO orders VALUES (42, '09121234567', 'paid'), (43, '09351234567', 'paid');"
  demo_sql "BEGIN; UPDATE orders SET status = 'shipped' WHERE id = 43; ROLLBACK;"
  demo_sql "UPDATE orders SET status = 'shipped' WHERE id = 42;"
  for _ in $(seq 100); do
    status=$(sms_psql -Atc "SELECT string_agg(status::text, ',') FROM sms_ir.outbox")
    [ "$status" = sent ] && break
    sleep 0.1
  done
  demo_sql "SELECT id, kind, status, attempts, dedupe_key, result FROM sms_ir.outbox;"
  demo_sql "SELECT status, count FROM sms_ir.outbox_stats WHERE count > 0;"
  demo_sql "SELECT pid IS NOT NULL AS running, state, sent, failed FROM sms_ir.worker_status();"
  [ "$status" = sent ] || sms_die "the queued message was not sent (outbox: $status)"

  demo_title "what the provider received (the rolled-back order 43 sent nothing)"
  demo_provider_requests "$mark"
}

main() {
  trap sms_cleanup EXIT
  trap sms_interrupted INT TERM
  demo_setup
  demo_configure
  demo_sync
  demo_queued
  echo
}

main "$@"
