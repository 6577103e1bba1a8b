#!/usr/bin/env bash
# The whole sms_ir test suite, as root on Debian 12 (CI: `bash .ci/run`).
#
# Without SMS_PG_CONFIG (CI, the release check), in steps, each timed:
#   deps     apt-get the build and test dependencies (scripts/install-deps.sh)
#   build    compile with -Wall -Wextra -Werror (nothing installed from the tree)
#   deb      build postgresql-15-sms-ir with dpkg-buildpackage and install it
#            with apt-get into the system PostgreSQL
#   suites   pg_regress + TAP against the system PostgreSQL (the package)
#   asan     pg_regress + TAP again with the extension built under ASan+UBSan
#            in a private copy of that PostgreSQL (scripts/asan.sh)
#   fuzz     replay the fuzz corpora, then fuzz every target for a while
#   dist     make dist: the PGXN zip lists META.json and builds when unzipped
#
# With SMS_PG_CONFIG (or PG_CONFIG) naming another PostgreSQL install's
# pg_config (a relocatable copy such as /opt/pgB/usr/lib/postgresql/15/bin/pg_config),
# the package step is skipped: the tree is built with -Werror, installed into
# that copy and the suites run there; the corpus is replayed; asan, the timed
# fuzzing and dist run only when asked (SMS_IR_ASAN=1, SMS_IR_FUZZ_SECONDS=N,
# SMS_IR_DIST=1).
#
# SMS_IR_SKIP_DEPS=1 skips apt-get; PROVE_TESTS='test/t/001_outbox.pl' runs
# some TAP tests only; SMS_IR_KEEP_WORK=1 keeps the /tmp work directories;
# SMS_IR_FUZZ_SECONDS is per fuzz target (default 15 without SMS_PG_CONFIG);
# SMS_IR_ASAN=0 skips the sanitizer step.
set -euo pipefail
cd "$(dirname "$0")/.."
# Provider replies are Persian: clusters are created UTF-8 whatever the caller's locale.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
src=$(pwd)
SYSTEM_PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PACKAGE=postgresql-15-sms-ir
# -Wunused-parameter: PostgreSQL's own headers trip it, so that one (and only
# that one) stays off.
WARN='-Wall -Wextra -Werror -Wno-unused-parameter'

if [ -n "${SMS_PG_CONFIG:-}" ]; then
  export PG_CONFIG=$SMS_PG_CONFIG
  release=0
elif [ -n "${PG_CONFIG:-}" ]; then
  export PG_CONFIG
  release=0
else
  export PG_CONFIG=$SYSTEM_PG_CONFIG
  release=1
fi
asan=${SMS_IR_ASAN:-$release}
fuzz_seconds=${SMS_IR_FUZZ_SECONDS:-$([ $release = 1 ] && echo 15 || echo 0)}
dist=${SMS_IR_DIST:-$release}

# Steps: a failing build step stops the run, a failing test step is
# reported and the others still run; the timings are printed at the end.
status=0
timings=()
step() {
  local name=$1 fatal=$2 start rc=0
  shift 2
  start=$(date +%s)
  echo "==== step $name: start $(date -u +%H:%M:%S)"
  # a subshell outside any || or &&, so set -e holds inside the step
  set +e
  (set -e; "$@")
  rc=$?
  set -e
  timings+=("$(printf '%-8s %5ss  %s' "$name" $(($(date +%s) - start)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
  echo "==== step $name: $([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")"
  if [ $rc != 0 ]; then
    status=1
    [ "$fatal" = fatal ] && { summary; exit 1; }
  fi
  return 0
}
summary() {
  echo "==== timings (wall clock, machine load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
  printf '  %s\n' "${timings[@]}"
  echo "  total    $(($(date +%s) - t0))s"
}
t0=$(date +%s)

deps() { bash scripts/install-deps.sh; }

build() {
  make -s clean >/dev/null
  make -s COPT="$WARN"
}

install_tree() { make -s install >/dev/null; }

# The package, from a copy of the tree (dpkg-buildpackage writes to ..).
deb() {
  local d
  d=$(mktemp -d /tmp/sms_ir_deb.XXXXXX)
  mkdir "$d/sms-ir"
  cp -a "$src/." "$d/sms-ir/"
  rm -rf "$d/sms-ir/.git"
  make -s -C "$d/sms-ir" clean >/dev/null
  (cd "$d/sms-ir" && dpkg-buildpackage -us -uc -b) > "$d/build.log" 2>&1 ||
    { tail -n 60 "$d/build.log"; return 1; }
  ls "$d"/*.deb
  dpkg-deb -f "$d"/${PACKAGE}_*.deb Depends
  # --reinstall: the same version from an earlier run is replaced too
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "$d"/${PACKAGE}_*.deb
  # what the suites load is the package's
  for f in "$("$SYSTEM_PG_CONFIG" --pkglibdir)/sms_ir.so" \
           "$("$SYSTEM_PG_CONFIG" --sharedir)/extension/sms_ir.control"; do
    [ "$(dpkg -S "$f")" = "$PACKAGE: $f" ] || { echo "$f is not the package's" >&2; return 1; }
  done
  [ "${SMS_IR_KEEP_WORK:-0}" = 1 ] && echo "deb: built in $d" || rm -rf "$d"
}

suites() { bash scripts/run-suites.sh "$1"; }

sanitizers() { bash scripts/asan.sh; }

fuzz() {
  # the corpora once under ASan/UBSan/LSan, then fuzz_seconds per target
  make -s -C fuzz replay
  if [ "$fuzz_seconds" -gt 0 ]; then
    make -s -C fuzz run FUZZ_SECONDS="$fuzz_seconds" 2>&1 |
      { grep -E '^== |DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written|^==[0-9]+==' || true; }
  fi
}

# PGXN: the zip of the committed tree holds META.json and builds on its own.
dist_check() {
  local d zip listing
  git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "dist: not a git checkout, skipped"; return 0; }
  d=$(mktemp -d /tmp/sms_ir_dist.XXXXXX)
  make -s dist
  zip=$(ls sms_ir-*.zip)
  # (no grep -q in a pipe: under pipefail its early exit fails the writer)
  listing=$(unzip -Z1 "$zip")
  grep -qx "sms_ir-[0-9.]*/META.json" <<<"$listing" || { echo "$zip has no META.json" >&2; return 1; }
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["name"]=="sms_ir" and m["meta-spec"]["version"]=="1.0.0"' META.json
  unzip -q "$zip" -d "$d"
  mv "$zip" "$d/"
  make -s -C "$d"/sms_ir-*/ COPT="$WARN"
  echo "dist: $zip ($(unzip -l "$d/$zip" | tail -n 1 | awk '{print $2}') files) builds"
  [ "${SMS_IR_KEEP_WORK:-0}" = 1 ] && echo "dist: in $d" || rm -rf "$d"
}

[ "${SMS_IR_SKIP_DEPS:-0}" != 1 ] && step deps fatal deps
step build fatal build
if [ $release = 1 ]; then
  step deb fatal deb
  make -s clean >/dev/null
  step suites test suites system
else
  step install fatal install_tree
  step suites test suites private
fi
[ "$asan" = 1 ] && step asan test sanitizers
step fuzz test fuzz
[ "$dist" = 1 ] && step dist test dist_check
summary
exit $status
