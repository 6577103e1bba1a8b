# shellcheck shell=bash
#
# scripts/lib/cluster.sh -- shared helpers for scripts/demo.sh and bench/*.sh:
# a throw-away PostgreSQL cluster and the local mock provider, both cleaned up
# by sms_cleanup (install it with `trap sms_cleanup EXIT`).
#
# Source it, then:
#   sms_workdir NAME          temp dir /tmp/NAME.XXXXXX owned by postgres -> $SMS_WORK
#   sms_quiet LABEL CMD...    run CMD with its output in $SMS_WORK/LABEL.log;
#                             on failure print the log's tail and return its status
#   sms_build                 make -s && make -s install in the repository (quiet)
#   sms_cluster_start [CONF]  initdb + start as "postgres"; unix socket only, in
#                             $SMS_WORK; sms_ir preloaded; CONF lines appended
#                             to postgresql.conf.  Sets $SMS_PGPORT.
#   sms_psql ARGS...          psql -X as the postgres superuser on that cluster,
#                             database $SMS_PGDATABASE (default postgres)
#   sms_mock_start            start test/mock --quiet on a free port
#                             -> $SMS_MOCK_PORT, $SMS_MOCK_URL, $SMS_MOCK_PID
#   sms_mock GET|POST PATH [BODY]   call the mock's control API, print the reply
#   sms_cleanup               stop the cluster, kill the mock, remove $SMS_WORK
#
# PostgreSQL refuses to run as root: the cluster runs as Debian's "postgres"
# user; psql, curl and the mock run as the caller (root).

SMS_REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
SMS_PG_CONFIG=${PG_CONFIG:-pg_config}
SMS_PGBIN=
SMS_WORK=
SMS_PGPORT=
SMS_MOCK_PID=
SMS_MOCK_PORT=
SMS_MOCK_URL=
SMS_CLUSTER_UP=0
SMS_PGDATABASE=postgres
# The caller's stderr, for messages from traps that may fire while a command's
# output is redirected to a log (sms_quiet).
exec {SMS_STDERR}>&2

sms_die() {
  echo "${0##*/}: $*" >&"$SMS_STDERR"
  exit 1
}

sms_workdir() {
  [ "$(id -u)" = 0 ] || sms_die "run as root (the cluster runs as the postgres user)"
  id postgres >/dev/null 2>&1 || sms_die "no 'postgres' user: run scripts/install-deps.sh"
  SMS_WORK=$(mktemp -d "/tmp/${1:-sms_ir}.XXXXXX")
  chown postgres:postgres "$SMS_WORK"
}

sms_quiet() {
  local label=$1 rc=0
  shift
  "$@" >"$SMS_WORK/$label.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "${0##*/}: '$*' failed (exit $rc); last lines of its output:" >&2
    tail -n 40 "$SMS_WORK/$label.log" >&2
  fi
  return "$rc"
}

sms_build() {
  sms_quiet build make -s -C "$SMS_REPO" &&
    sms_quiet install make -s -C "$SMS_REPO" install
}

# A free TCP port on 127.0.0.1 (for the cluster it only names the socket file).
sms_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sms_as_postgres() {
  (cd "$SMS_WORK" && runuser -u postgres -- "$@")
}

sms_cluster_start() {
  SMS_PGBIN=$("$SMS_PG_CONFIG" --bindir)
  [ -x "$SMS_PGBIN/initdb" ] || sms_die "no initdb in $SMS_PGBIN: run scripts/install-deps.sh"
  SMS_PGPORT=$(sms_free_port)
  sms_quiet initdb sms_as_postgres "$SMS_PGBIN/initdb" -D "$SMS_WORK/data" \
    -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync || return 1
  cat >>"$SMS_WORK/data/postgresql.conf" <<EOF

# throw-away cluster of ${0##*/}
port = $SMS_PGPORT
listen_addresses = ''
unix_socket_directories = '$SMS_WORK'
shared_preload_libraries = 'sms_ir'
fsync = off
log_min_messages = warning
${1:-}
EOF
  SMS_CLUSTER_UP=1
  sms_quiet pg_ctl sms_as_postgres "$SMS_PGBIN/pg_ctl" -D "$SMS_WORK/data" \
    -l "$SMS_WORK/postgres.log" -w -t 60 start || {
    echo "--- postgres.log" >&2
    tail -n 20 "$SMS_WORK/postgres.log" >&2 2>/dev/null
    return 1
  }
}

# sms_secret_file NAME VALUE: a secret file only the server's user can read
# (for sms_ir.* = 'file:...'); prints its path.
sms_secret_file() {
  local dir="$SMS_WORK/secrets"
  mkdir -p "$dir"
  printf '%s\n' "$2" > "$dir/$1"
  chown -R postgres:postgres "$dir"
  chmod 700 "$dir"
  chmod 600 "$dir/$1"
  echo "$dir/$1"
}

sms_psql() {
  PGCLIENTENCODING=UTF8 "$SMS_PGBIN/psql" -X -h "$SMS_WORK" -p "$SMS_PGPORT" \
    -U postgres -d "$SMS_PGDATABASE" -v ON_ERROR_STOP=1 "$@"
}

sms_mock_start() {
  python3 "$SMS_REPO/test/mock" --port 0 --quiet \
    >"$SMS_WORK/mock.out" 2>"$SMS_WORK/mock.err" &
  SMS_MOCK_PID=$!
  local _
  for _ in $(seq 200); do
    grep -q '^READY ' "$SMS_WORK/mock.out" 2>/dev/null && break
    kill -0 "$SMS_MOCK_PID" 2>/dev/null || break
    sleep 0.05
  done
  SMS_MOCK_PORT=$(awk '/^READY / {print $2}' "$SMS_WORK/mock.out")
  if [ -z "$SMS_MOCK_PORT" ]; then
    echo "${0##*/}: the mock provider did not start:" >&2
    cat "$SMS_WORK/mock.err" >&2
    return 1
  fi
  SMS_MOCK_URL="http://127.0.0.1:$SMS_MOCK_PORT"
}

sms_mock() {
  local method=$1 path=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -sSf --max-time 10 -X "$method" -H 'Content-Type: application/json' \
      --data-binary "$body" "$SMS_MOCK_URL$path"
  else
    curl -sSf --max-time 10 -X "$method" "$SMS_MOCK_URL$path"
  fi
}

sms_mock_count() {
  sms_mock GET /__mock/count | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}

sms_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" != 0 ]; then
    echo "${0##*/}: stopped with exit status $rc; cleaning up" >&"$SMS_STDERR"
  fi
  if [ "$SMS_CLUSTER_UP" = 1 ] && [ -n "$SMS_PGBIN" ]; then
    sms_as_postgres "$SMS_PGBIN/pg_ctl" -D "$SMS_WORK/data" -m immediate -w stop \
      >/dev/null 2>&1 || true
    SMS_CLUSTER_UP=0
  fi
  if [ -n "$SMS_MOCK_PID" ]; then
    kill "$SMS_MOCK_PID" 2>/dev/null || true
    wait "$SMS_MOCK_PID" 2>/dev/null || true
    SMS_MOCK_PID=
  fi
  if [ -n "$SMS_WORK" ] && [ -d "$SMS_WORK" ]; then
    rm -rf "$SMS_WORK"
  fi
  return "$rc"
}

# `trap sms_cleanup EXIT; trap sms_interrupted INT TERM` in the caller.
sms_interrupted() {
  exit 130
}
