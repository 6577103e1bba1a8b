# A slow provider: rows arrive at a steady 200/s; for a period the provider
# answers 10x slower than that (200 ms a request, 4 in flight: 20/s), with
# two stalls past sms_ir.timeout in it, then it is fast again.
#  - the backlog grows during the slow period and everything drains after:
#    every row sent, none lost, none over max_attempts;
#  - no cascade of timeouts: the rows whose request timed out (the mock saw
#    their code twice) are at most the requests in flight at each stall
#    (max_concurrency a stall), not the rows that waited behind them;
#  - the claim's cost stays flat with the backlog: the worker's claim query
#    (pg_stat_statements, track = all) is timed at a small and at a large
#    backlog, and the drain rate once the provider is fast again is
#    compared with a baseline drain.  Printed, not asserted.
# Default: a 10 s slow period (a backlog of about 1,800 rows), about 40 s
# in all.  SMS_IR_CHAOS_LONG=1: the issue's 60 s (about 10,800 rows).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SmsIrTest;
use SmsIrFault;

my $long = chaos_long();
my $slow_secs = $long ? 60 : 10;
my $arrival = 200;    # rows/s
my $concurrency = 4;
my $slow_ms = 200;    # a request while slow: 4 / 0.2 s = 20/s, arrival / 10
my $stall_ms = 3000;  # past sms_ir.timeout (2 s, new_sms_node)
my $max_attempts = 10;

my $mock = start_mock();
my $node = new_sms_node('slow', $mock, qq{
sms_ir.max_concurrency = $concurrency
sms_ir.max_attempts = $max_attempts
pg_stat_statements.track = all
}, preload => 'sms_ir,pg_stat_statements');

sub sql { return query_retry($node, 'postgres', $_[0]); }

sql('CREATE EXTENSION pg_stat_statements');
ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# The worker's claim query in pg_stat_statements: "calls mean_ms".
sub claim_stats
{
	my $r = sql("SELECT coalesce(sum(calls), 0) || ' ' || coalesce(round((sum(total_exec_time) / nullif(sum(calls), 0))::numeric, 3), 0)"
		  . " FROM pg_stat_statements WHERE query LIKE 'WITH due AS%'");
	return split / /, $r;
}

sub backlog { return sql("SELECT count(*) FROM sms_ir.outbox WHERE status IN ('queued', 'sending')"); }

my $queued = 0;
# Queue rows so that $arrival a second have arrived since $since.
sub arrive
{
	my ($since) = @_;
	my $due = int((time() - $since) * $arrival) - $queued;
	return if $due <= 0;
	sql("SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'w' || g)))"
		  . " FROM generate_series($queued + 1, $queued + $due) g");
	$queued += $due;
}

# Keep rows arriving for $secs seconds; calls $each->() now and then.
sub arrive_for
{
	my ($start, $secs, $each) = @_;
	my $end = time() + $secs;
	while (time() < $end)
	{
		arrive($start);
		$each->() if $each;
		sleep(0.05);
	}
}

# ---- baseline: a drain of a batch, the provider fast ---------------------------
fault_reset($mock);
my $n_base = 2000;
note_load('before the baseline drain');
queue_numbered($node, 'b', $n_base);
my $tb = time();
ok(wait_drained($node, 'b', 120), "baseline: $n_base rows drained");
my $base_rate = $n_base / (time() - $tb);
note(sprintf('baseline drain: %d rows at %.0f rows/s', $n_base, $base_rate));

# ---- steady arrivals, fast provider ------------------------------------------
fault_reset($mock);
sql('SELECT pg_stat_statements_reset()');
my $start = time();
arrive_for($start, 3);
my ($calls_small, $mean_small) = claim_stats();
my $backlog_small = backlog();
note("steady arrivals at $arrival/s, provider fast: backlog $backlog_small, $calls_small claims of $mean_small ms");

# ---- the slow period ---------------------------------------------------------
my $slow_from = time();
my $slow_until = $slow_from + $slow_secs;
my $for_ms = sub { return int(1000 * ($slow_until - time())); };
mock_fault($mock, { kind => 'delay', delay_ms => $slow_ms, count => -1, for_ms => $for_ms->(), match => '/v1/send/verify' });
my @stall_at = map { $slow_from + $slow_secs * $_ } (0.3, 0.6);
my $stalls = 0;
my $max_backlog = 0;
sql('SELECT pg_stat_statements_reset()');
my $retried0 = sql('SELECT retried FROM sms_ir.worker_status()');
arrive_for(
	$start,
	$slow_secs,
	sub {
		if ($stalls < @stall_at && time() >= $stall_at[$stalls])
		{
			# the next $concurrency requests stall past the timeout (the
			# first matching fault applies: the stall goes before the delay)
			mock_clear_faults($mock);
			mock_fault($mock,
				[
					{ kind => 'delay', delay_ms => $stall_ms, count => $concurrency, match => '/v1/send/verify' },
					{ kind => 'delay', delay_ms => $slow_ms, count => -1, for_ms => $for_ms->(), match => '/v1/send/verify' }
				]);
			$stalls++;
		}
	});
my $backlog_large = backlog();
my ($calls_large, $mean_large) = claim_stats();
note(sprintf('after %d s of a provider 10x slower than arrivals: backlog %d rows, %d claims of %s ms (%s ms at backlog %d)',
	$slow_secs, $backlog_large, $calls_large, $mean_large, $mean_small, $backlog_small));
cmp_ok($backlog_large, '>', $backlog_small + $arrival * $slow_secs / 4, 'the backlog grew while the provider was slow');
is($stalls, 2, 'two stalls injected');

# ---- fast again: arrivals go on for 3 s, then the backlog drains ------------
mock_clear_faults($mock);
sql('SELECT pg_stat_statements_reset()');
my $fast_from = time();
arrive_for($start, 3);
my $t_drain = time();
ok(wait_drained($node, 'w', 300), 'everything drains once the provider is fast again');
my $drained = time();
my ($calls_after, $mean_after) = claim_stats();
my $drain_rate = ($backlog_large + 3 * $arrival) / ($drained - $fast_from);
note(sprintf('fast again: backlog of %d drained in %.1f s (%.0f rows/s with %d/s still arriving for 3 s;'
		  . ' baseline %.0f rows/s); %d claims of %s ms while draining',
		$backlog_large, $drained - $fast_from, $drain_rate, $arrival, $base_rate, $calls_after, $mean_after));

my $c = status_counts($node, 'w');
note('rows: ' . join(', ', map { "$_ $c->{$_}" } sort keys %$c));
is($c->{sent} // 0, $queued, "all $queued rows sent");
is(lost_rows($node, 'w', $queued), '0', 'no row lost');
my $max = max_attempts_used($node, 'w');
cmp_ok($max, '<=', $max_attempts, "no row over max_attempts ($max at most)");
my $seen = mock_codes($mock, 'w');
is(scalar(grep { $seen->{"w$_"} } 1 .. $queued), $queued, 'every message reached the provider');
my $timed_out = grep { $_ > 1 } values %$seen;
my $retried = sql('SELECT retried FROM sms_ir.worker_status()') - $retried0;
note("rows whose request timed out: $timed_out (the worker retried $retried); $stalls stalls of $concurrency requests");
cmp_ok($timed_out, '>=', 1, 'the stalls timed out');
cmp_ok($timed_out, '<=', $stalls * $concurrency, 'no cascade: timeouts at most the requests in flight at each stall');
note_load('after the drain');
is(scalar(crash_lines($node)), 0, 'no server process crashed');

stop_mock($mock);
$node->stop;
done_testing();
