# A session idle in transaction holding an old snapshot (REPEATABLE READ,
# after a read) during a drain: the rows the worker claims and records
# cannot be cleaned up behind it, so every claim meets their dead versions
# unless it reads past them (the claim cursor, src/outbox_store.c).
#  - the drain finishes all the same: every row sent, none lost;
#  - the session holding the snapshot is untouched: same backend, still
#    idle in transaction, same xmin, its snapshot still shows the outbox as
#    it was, and it commits;
#  - the rate with the snapshot held vs the same drain without it is
#    printed (bench numbers, not asserted);
#  - the outbox indexes pass amcheck afterwards.
# Default: 10,000 rows a drain (about 40 s in all).  SMS_IR_CHAOS_LONG=1:
# the issue's 50,000.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmsIrTest;
use SmsIrFault;

my $n = chaos_long() ? 50_000 : 10_000;

my $mock = start_mock();
my $node = new_sms_node('snapshot', $mock);

sub sql { return query_retry($node, 'postgres', $_[0]); }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# Queue $n rows coded $prefix*, wait for them to drain; the rate (rows/s).
sub drain
{
	my ($prefix) = @_;
	fault_reset($mock);
	note_load("before the drain '$prefix'");
	my $t0 = time();
	queue_numbered($node, $prefix, $n);
	ok(wait_drained($node, $prefix, 600), "'$prefix': $n rows drained");
	my $rate = $n / (time() - $t0);
	is(status_counts($node, $prefix)->{sent} // 0, $n, "'$prefix': all sent");
	is(lost_rows($node, $prefix, $n), '0', "'$prefix': none lost");
	return $rate;
}

my $free = drain('f');

# the snapshot holder: REPEATABLE READ, a read takes the snapshot, then idle
my $hold = $node->background_psql('postgres');
$hold->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $seen_before = $hold->query_safe('SELECT count(*) FROM sms_ir.outbox');
my $hold_pid = $hold->query_safe('SELECT pg_backend_pid()');
my $xmin = sql("SELECT backend_xmin FROM pg_stat_activity WHERE pid = $hold_pid");
like($xmin, qr/^\d+$/, "the held session has a snapshot (xmin $xmin)");
is(sql("SELECT state FROM pg_stat_activity WHERE pid = $hold_pid"), 'idle in transaction',
	'it is idle in transaction');

my $held = drain('h');

is(sql("SELECT state || ' ' || backend_xmin FROM pg_stat_activity WHERE pid = $hold_pid"),
	"idle in transaction $xmin", 'the held session is still idle in transaction with its xmin');
is($hold->query_safe('SELECT count(*) FROM sms_ir.outbox'), $seen_before,
	"its snapshot still shows the outbox as it was ($seen_before rows)");
is($hold->query_safe('SELECT pg_backend_pid()'), $hold_pid, 'same backend');
$hold->query_safe('COMMIT');
is($hold->query_safe("SELECT count(*) FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' LIKE 'h%'"),
	$n, 'it commits, and then sees the new rows');
$hold->quit;

note(sprintf('drain of %d rows: %.0f rows/s free, %.0f rows/s with a snapshot held (%.2fx)',
		$n, $free, $held, $held / $free));
is(outbox_indexes_ok($node), sql("SELECT count(*) FROM pg_index WHERE indrelid = 'sms_ir.outbox'::regclass"),
	'every outbox index passes amcheck');
is(scalar(crash_lines($node)), 0, 'no server process crashed');

stop_mock($mock);
$node->stop;
done_testing();
