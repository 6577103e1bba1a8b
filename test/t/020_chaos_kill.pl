# Chaos: kill -9 at random moments of a drain, alternately of the sms_ir
# worker (the postmaster restarts everything after the crash) and of the
# postmaster (then the node is started again).  Afterwards every row is
# final and sent (count by status = N), none lost, every message reached
# the provider at least once, and each kill cost at most max_concurrency
# duplicate requests: a row's request is sent-but-not-recorded only while
# it is in flight or finished and not yet recorded, and a finished request
# keeps its slot until its record commits (worker_pipeline.c hands slots
# out only after the store cycle), so the two together never pass
# max_concurrency.  pg_amcheck --heapallindexed then finds the outbox and
# its indexes intact.
#
# Default run: 10 kills during a 5,000-message drain (about a minute; the
# mock delays every reply 30 ms so the drain outlasts the kills).
# SMS_IR_CHAOS_LONG=1: the full size, 20 kills during a 20,000-message
# drain.  SMS_IR_CHAOS_SEED=N replays the kill moments of a run (the seed
# is printed).
#
# Printed: each kill (what, at which request, seconds until a new worker),
# the duplicates owed to each kill, the time to drain.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmsIrTest;
use SmsIrChaos;

my $long = ($ENV{SMS_IR_CHAOS_LONG} // '') eq '1';
my $n = $long ? 20000 : 5000;
my $kills = $long ? 20 : 10;
my $concurrency = 8;
my $delay_ms = 30;
my $seed = $ENV{SMS_IR_CHAOS_SEED} // (time() ^ $$) % 1_000_000;
srand($seed);
note("chaos: $kills kills during a $n-message drain, max_concurrency $concurrency, seed $seed");

my $mock = start_mock();
# a timeout far beyond the mock's delay (no retry but for the kills);
# attempts lost to the kills (rows claimed, not yet started) must not
# exhaust max_attempts
my $node = new_sms_node('chaos', $mock,
	"sms_ir.max_concurrency = $concurrency\nsms_ir.timeout = '60s'\n"
	  . "sms_ir.max_attempts = 100\nrestart_after_crash = on\n");
ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker reaches idle');

mock_reset($mock);
# credit for every message and its duplicates (the mock's default runs out
# before the long run's 20,000)
mock_control($mock, 'POST', '/__mock/credit', { credit => 10 * $n });
mock_fault($mock, { kind => 'delay', delay_ms => $delay_ms, count => -1, match => '/v1/send/verify' });
my $log = log_new($mock);

# the kill moments: random request counts between 5% and 90% of the drain
my @at = sort { $a <=> $b } map { int($n * (0.05 + 0.85 * rand())) } 1 .. $kills;

my $t0 = time();
queue_numbered($node, 'c', $n);
my ($pid) = worker_started_at($node, undef, 60);
my @boundaries;
my $life_from = 0;
for my $k (1 .. $kills)
{
	my $what = $k % 2 ? 'worker' : 'postmaster';
	# mid-drain: the request count passed the kill moment, and the worker
	# of this life has sent a few rounds of requests (not still recovering)
	my $target = $at[ $k - 1 ] > $life_from + 2 * $concurrency ? $at[ $k - 1 ] : $life_from + 2 * $concurrency;
	my $reached = wait_until(sub { mock_count($mock) >= $target }, 120);
	ok($reached, "kill $k: the drain reached request $target") or last;
	my $in_flight = (($node->psql('postgres', 'SELECT in_flight FROM sms_ir.worker_status()'))[1]) // '?';
	my $sent_before = mock_count($mock);
	my $down = time();
	my $children_s = 0;
	my $after_kill;
	if ($what eq 'worker')
	{
		kill9_worker($node);
		$after_kill = mock_count($mock);
	}
	else
	{
		($children_s) = kill9_postmaster($node);
		$after_kill = mock_count($mock);
		$node->start;
	}
	my ($new_pid, $start, $waited) = worker_started_at($node, $pid, 120);
	push @boundaries, $start;
	note(sprintf("kill %2d: %-10s at request %5d (target %5d; %d once it was gone), %s in flight, new worker after %.1f s%s",
		$k, $what, $sent_before, $target, $after_kill, $in_flight,
		time() - $down, $what eq 'postmaster' ? sprintf(' (children gone in %.1f s)', $children_s) : ''));
	$pid = $new_pid;
	$life_from = mock_count($mock);
	log_sync($log);
}

# the kills are over: the rest drains at full speed
mock_clear_faults($mock);
ok( wait_until(
		sub {
			my ($rc, $out) = $node->psql('postgres',
				"SELECT count(*) FROM sms_ir.outbox WHERE status IN ('queued', 'sending')");
			return $rc == 0 && $out eq '0';
		},
		600),
	'every row reaches a final status');
my $drain_s = time() - $t0;
my %by_status = map { split /\|/ } split /\n/,
  $node->safe_psql('postgres', 'SELECT status, count(*) FROM sms_ir.outbox GROUP BY status');
my $total = 0;
$total += $_ for values %by_status;
note('rows by status: ' . join(', ', map { "$_ $by_status{$_}" } sort keys %by_status));
is($total, $n, "count by status = $n: no row lost, none added");
is($by_status{sent} // 0, $n, "all $n rows sent");
note('most attempts of a row: ' . $node->safe_psql('postgres', 'SELECT max(attempts) FROM sms_ir.outbox'));

log_sync($log);
my $codes = log_codes($log, 'c');
is(scalar(grep { $codes->{"c$_"} } 1 .. $n), $n, 'every message reached the provider at least once');
is(scalar(grep { !/^c(\d+)$/ || $1 < 1 || $1 > $n } keys %$codes), 0, 'and no other message did');
my ($dups, $unowed, $made) = dups_by_kill($log, 'c', \@boundaries);
note('requests made by each worker life: ' . join(' ', @$made));
my $dup_total = 0;
$dup_total += $_ for @$dups;
diag(sprintf("duplicate requests per kill (%s): %s; total %d of %d requests; drain of %d messages with %d kills took %.1f s",
	join('/', map { $_ % 2 ? 'w' : 'p' } 1 .. $kills), join(' ', @$dups), $dup_total,
	$log->{requests}, $n, $kills, $drain_s));
is($unowed, 0, 'no duplicate without a kill');
is(scalar(grep { $dups->[$_] > $concurrency } 0 .. $#$dups), 0,
	"no kill cost more than max_concurrency ($concurrency) duplicate requests")
  or diag("duplicates per kill: @$dups");

my ($rc, $out, $indexes, $checked) = outbox_amcheck($node);
note("pg_amcheck --heapallindexed sms_ir.outbox (indexes: $indexes)");
is($rc, 0, 'pg_amcheck exits 0') or diag($out);
is($out, '', 'pg_amcheck finds no corruption in the outbox or its indexes');
is($checked, $indexes, 'pg_amcheck checked every index of the outbox');

stop_mock($mock);
$node->stop;
done_testing();
