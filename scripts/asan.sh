#!/usr/bin/env bash
# Memory safety: every pg_regress and TAP suite with sms_ir built under
# AddressSanitizer + UndefinedBehaviorSanitizer, as root:
#   bash scripts/asan.sh            (or `make asan-check`)
#
# The extension is built with gcc's -fsanitize=address,undefined into a
# private copy of the PostgreSQL install PG_CONFIG names (the system's by
# default), made under /tmp.  The server is not instrumented, but the ASan
# runtime must come first in its library list: the copy's bin/postgres
# becomes a wrapper that preloads it into the server processes only
# (initdb, pg_ctl, psql and the test drivers run without it).  A sanitizer
# report aborts the backend (halt_on_error, abort_on_error), and any
# report found in any server log fails the run.  Leak detection is off for
# the server: PostgreSQL leaves its memory to process exit by design.
# SMS_IR_ASAN_DIR names the copy's directory (default: a new mktemp dir,
# removed afterwards unless SMS_IR_KEEP_WORK=1).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
export LANG=C.UTF-8 LC_ALL=C.UTF-8

base_config=${PG_CONFIG:-pg_config}
bindir=$("$base_config" --bindir)
major=$("$base_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
suffix=usr/lib/postgresql/$major/bin
case $bindir in
  */$suffix) root=${bindir%/"$suffix"} ;;
  *) echo "asan.sh: $bindir is not a Debian-layout install (.../$suffix)" >&2; exit 1 ;;
esac

asan=${SMS_IR_ASAN_DIR:-$(mktemp -d /tmp/sms_ir_asan.XXXXXX)}
[ "${SMS_IR_KEEP_WORK:-0}" = 1 ] && echo "asan: private PostgreSQL and build in $asan" || trap 'rm -rf "$asan"' EXIT
chmod 755 "$asan"
mkdir -p "$asan/pg/usr/lib/postgresql" "$asan/pg/usr/share/postgresql" "$asan/pg/usr/include"
cp -a "$root/usr/lib/postgresql/$major" "$asan/pg/usr/lib/postgresql/"
cp -a "$root/usr/share/postgresql/$major" "$asan/pg/usr/share/postgresql/"
cp -a "$root/usr/include/postgresql" "$asan/pg/usr/include/"
pgbin=$asan/pg/$suffix
export PG_CONFIG=$pgbin/pg_config

# The sanitized build, from a copy of the tree (no sanitizer objects left in it).
SAN_FLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer'
mkdir "$asan/build"
cp -a "$src/." "$asan/build/"
rm -rf "$asan/build/.git"
make -s -C "$asan/build" clean >/dev/null
make -s -C "$asan/build" CC=gcc COPT="-Wall -Wextra -Werror -Wno-unused-parameter $SAN_FLAGS"
make -s -C "$asan/build" install >/dev/null
[[ "$(readelf -d "$("$PG_CONFIG" --pkglibdir)/sms_ir.so")" == *libasan* ]] ||
  { echo "asan.sh: sms_ir.so is not linked with the ASan runtime" >&2; exit 1; }

libasan=$(gcc -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "asan.sh: gcc has no libasan.so (install libasan8)" >&2; exit 1; }
libasan=$(readlink -f "$libasan")
# ...and the shim that lets it start inside other libraries' constructors
mkdir -p "$asan/preload"
gcc -shared -fPIC -nostdlib -O2 -o "$asan/preload/asan_preload.so" "$src/scripts/asan_preload.c"
preload="$libasan:$asan/preload/asan_preload.so"

# bin/postgres -> a wrapper that runs the real one with the runtime preloaded.
mv "$pgbin/postgres" "$pgbin/postgres.real"
# argv[0] stays the wrapper's path: the server records it in postmaster.opts,
# which `pg_ctl restart` runs again (the real binary would start without ASan).
cat > "$pgbin/postgres" <<EOF
#!/bin/bash
# sms_ir sanitizer run (scripts/asan.sh): the server with the ASan runtime first.
LD_PRELOAD="$preload\${LD_PRELOAD:+:\$LD_PRELOAD}" \\
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:disable_coredump=1:\${SMS_IR_ASAN_OPTIONS:-}" \\
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1" \\
exec -a "\$0" "\$(dirname "\$0")/postgres.real" "\$@"
EOF
chmod 755 "$pgbin/postgres"
"$pgbin/postgres" -V >/dev/null

SMS_IR_SANITIZER_CHECK=1 bash "$src/scripts/run-suites.sh" asan
