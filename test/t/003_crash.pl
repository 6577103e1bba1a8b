# Crash safety of the outbox: kill -9 of the worker (crash restart) and of
# the postmaster mid-batch lose nothing, and duplicates are bounded by the
# rows that were in flight (at_least_once); a clean restart keeps queued
# rows, also mid-batch; under at_most_once the rows in flight end 'unknown'
# and are never sent twice.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmsIrTest;

my $mock = start_mock();
# batches of 50, so rows in flight are a fraction of the 200 queued; a long
# timeout, so the slow requests below never time out
my $concurrency = 16;
my $node = new_sms_node('crash', $mock,
	"sms_ir.batch_size = 50\nsms_ir.max_concurrency = $concurrency\n"
	  . "sms_ir.timeout = '60s'\nrestart_after_crash = on\n");

# Retries while the server restarts after a crash.
sub sql { return query_retry($node, 'postgres', $_[0]); }

# the code parameter, from the canonical payload [{"name":"code","value":...}]
my $code_sql = "payload->'parameters'->0->>'value'";
sub rows_where { return "$code_sql LIKE '$_[0]%'"; }

sub wait_final
{
	my ($prefix, $secs) = @_;
	return wait_until(
		sub {
			my ($rc, $out) = $node->psql('postgres',
				"SELECT count(*) FROM sms_ir.outbox WHERE " . rows_where($prefix)
				  . " AND status IN ('queued', 'sending')");
			return $rc == 0 && $out eq '0';
		},
		$secs // 120);
}


# Wait until a batch of $prefix rows is being sent: rows 'sending' and at
# least one of their requests at the mock.  Returns the 'sending' count
# seen then (batches are all batch_size rows, so however the batch moves on
# before the kill, no more rows than that are in flight).
sub wait_mid_batch
{
	my ($prefix) = @_;
	my $sending = 0;
	ok( wait_until(
			sub {
				return 0 unless scalar(keys %{ mock_codes($mock, $prefix) }) > 0;
				$sending = count_numbered($node, $prefix, 'sending');
				return $sending > 0;
			},
			60),
		"$prefix: a batch is in flight");
	return $sending;
}

# All $n rows sent, each message at the mock at least once, duplicates no
# more than the rows in flight when the server went down.
sub check_all_sent
{
	my ($prefix, $n, $in_flight) = @_;
	ok(wait_final($prefix), "$prefix: every row final");
	is(count_numbered($node, $prefix, 'sent'), $n, "$prefix: all $n rows sent");
	my $seen = mock_codes($mock, $prefix);
	is(scalar(grep { $seen->{"$prefix$_"} } 1 .. $n), $n,
		"$prefix: every message reached the provider");
	my $dups = grep { $_ > 1 } values %$seen;
	note("$prefix: $dups duplicates, $in_flight rows were in flight");
	cmp_ok($dups, '<=', $in_flight, "$prefix: duplicates only among the rows in flight");
	return;
}

# pids of the postmaster's children
sub children
{
	my ($ppid) = @_;
	my @pids = grep { /^\d+$/ } map { s/\s+//gr } `ps -o pid= --ppid $ppid`;
	return @pids;
}

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker reaches idle');

# 1. kill -9 of the worker mid-batch: the postmaster restarts everything,
# the new worker re-queues the rows that were 'sending', all are sent.
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 300, count => -1, match => '/v1/send/verify' });
my $pid = worker_pid($node);
like($pid, qr/^\d+$/, 'worker pid from pg_stat_activity');
queue_numbered($node, 'w', 200);
my $in_flight = wait_mid_batch('w');
is(kill(9, $pid), 1, 'kill -9 the worker');
mock_clear_faults($mock);
check_all_sent('w', 200, $in_flight);
ok(wait_until(sub { my $p = worker_pid($node); $p ne '' && $p ne $pid }, 60),
	'a new worker runs after the crash restart');
like(slurp_file($node->logfile), qr/sms_ir worker.*terminated by signal 9/,
	'the postmaster saw the worker killed');

# 2. kill -9 of the postmaster mid-batch, then start again.
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 300, count => -1, match => '/v1/send/verify' });
my $pm = $node->{_pid};
my @children = children($pm);
cmp_ok(scalar(@children), '>', 0, 'postmaster children listed');
my %what = map { $_ => (`ps -o args= -p $_` =~ s/\s+$//r) } @children;
queue_numbered($node, 'p', 200);
$in_flight = wait_mid_batch('p');
$node->kill9;
my $t0 = time();
my %gone_at;
ok( wait_until(
		sub {
			for my $c (@children)
			{
				$gone_at{$c} //= time() if wait_pids_gone([$c], 0);
			}
			return keys(%gone_at) == @children;
		},
		120),
	'all children of the postmaster are gone');
my ($last) = sort { $gone_at{$b} <=> $gone_at{$a} } keys %gone_at;
note(sprintf("last child to exit: %s, %.1f s after the postmaster", $what{$last} // '?', $gone_at{$last} - $t0))
  if defined $last;
# the postmaster itself must be reaped (not a zombie): a new one takes the
# lock file only once kill(pid, 0) fails
ok(wait_until(sub { !kill(0, $pm) }, 120), 'the old postmaster is reaped');
mock_clear_faults($mock);
$node->start;
check_all_sent('p', 200, $in_flight);

# 3. a clean restart keeps queued rows: paused worker, restart, resume.
worker_conf($node, worker_enabled => 'off');
mock_reset($mock);
queue_numbered($node, 'r', 20);
$node->restart;
ok(wait_until(sub { worker_state($node) eq 'paused' }, 60), 'worker paused after restart');
is(count_numbered($node, 'r', 'queued'), '20', 'queued rows survived the restart');
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 0, 'nothing sent while paused');
worker_conf($node, worker_enabled => undef);
ok(wait_final('r', 60), 'rows final after resuming');
is(count_numbered($node, 'r', 'sent'), '20', 'all 20 sent after the restart');
my $seen = mock_codes($mock, 'r');
is(scalar(grep { $_ == 1 } values %$seen), 20, 'each exactly once');

# 4. a clean (fast) restart while requests are in flight: the worker stops
# at once, nothing is lost, duplicates only among the rows in flight.
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 2000, count => -1, match => '/v1/send/verify' });
queue_numbered($node, 's', 50);
$in_flight = wait_mid_batch('s');
mock_clear_faults($mock);
$node->restart;
check_all_sent('s', 50, $in_flight);

# 5. at_most_once, kill -9 of the worker mid-drain.  The requests hang for
# 20 s.  Under at_most_once the pipeline claims only rows whose request
# starts at once, so exactly max_concurrency rows are 'sending' when the
# worker dies: those end 'unknown' and are never sent again, the other
# 200 - max_concurrency are sent, and no message reaches the provider twice.
worker_conf($node, delivery_guarantee => 'at_most_once');
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 20000, count => -1, match => '/v1/send/verify' });
$pid = worker_pid($node);
queue_numbered($node, 'm', 200);
$in_flight = wait_mid_batch('m');
# the claim may lag the first requests by a moment: wait for all slots
ok(wait_until(sub { count_numbered($node, 'm', 'sending') == $concurrency }, 30),
	"m: $concurrency rows in flight");
is(count_numbered($node, 'm', 'sending'), $concurrency, "m: no more than the $concurrency in flight are claimed");
is(kill(9, $pid), 1, 'm: kill -9 the worker');
mock_clear_faults($mock);
ok(wait_final('m'), 'm: every row final');
is(count_numbered($node, 'm', 'unknown'), $concurrency, "m: the $concurrency rows in flight are unknown");
is(count_numbered($node, 'm', 'sent'), 200 - $concurrency, 'm: all the others are sent');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE " . rows_where('m')
	  . " AND status = 'unknown' AND last_error LIKE '%in flight%'"),
	$concurrency, 'm: last_error says the row was in flight');
$seen = mock_codes($mock, 'm');
is(scalar(grep { $_ > 1 } values %$seen), 0, 'm: no message reached the provider twice');
my @sent_codes = split /\n/, sql("SELECT $code_sql FROM sms_ir.outbox WHERE "
	  . rows_where('m') . " AND status = 'sent'");
is(scalar(grep { ($seen->{$_} // 0) == 1 } @sent_codes), 200 - $concurrency,
	'm: each sent row reached it once');

# 6. at_most_once, clean restart mid-batch: requests cut short by the
# shutdown may have reached the provider, so those rows end 'unknown'; the
# rows whose request never started are sent after the restart.
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 20000, count => -1, match => '/v1/send/verify' });
queue_numbered($node, 'n', 50);
wait_mid_batch('n');
# all concurrent requests have started once the mock sees the first ones
ok(wait_until(sub { scalar(keys %{ mock_codes($mock, 'n') }) >= $concurrency }, 30),
	"n: $concurrency requests in flight");
my %before = %{ mock_codes($mock, 'n') };
mock_clear_faults($mock);
$node->restart;
ok(wait_final('n'), 'n: every row final');
$seen = mock_codes($mock, 'n');
is(scalar(grep { $_ > 1 } values %$seen), 0, 'n: no message reached the provider twice');
my @unknown = split /\n/, sql("SELECT $code_sql FROM sms_ir.outbox WHERE "
	  . rows_where('n') . " AND status = 'unknown'");
is_deeply([ sort @unknown ], [ sort keys %before ],
	'n: exactly the rows whose request was in flight are unknown');
is(count_numbered($node, 'n', 'sent'), 50 - scalar(@unknown), 'n: all the others are sent');
worker_conf($node, delivery_guarantee => undef);

stop_mock($mock);
$node->stop;
done_testing();
