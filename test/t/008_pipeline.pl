# The worker is a pipeline, not a batch barrier: while some requests are
# stalled, the others keep completing and are recorded (a stalled request
# holds one slot, never the outbox), and after a kill -9 mid-drain the
# duplicate requests are at most the requests in flight plus those
# finished since the last record commit (each at most max_concurrency).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
# default batch_size (200) and max_concurrency (16); a timeout far beyond
# the stall below
my $concurrency = 16;
my $node = new_sms_node('pipeline', $mock,
	"sms_ir.timeout = '60s'\nrestart_after_crash = on\n");

sub sql { return query_retry($node, 'postgres', $_[0]); }

my $code_sql = "payload->'parameters'->0->>'value'";

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker reaches idle');

# 1. Head-of-line: the first 4 requests stall for 12 s.  The other 196
# rows (all in the first claim with the old batch barrier, which recorded
# nothing until its slowest request came back) are sent and recorded while
# the 4 are still in flight.
mock_reset($mock);
my $stalled = 4;
mock_fault($mock,
	{ kind => 'delay', delay_ms => 12000, count => $stalled, match => '/v1/send/verify' });
queue_numbered($node, 'h', 200);
ok( wait_until(
		sub { count_numbered($node, 'h', 'sent') == 200 - $stalled && count_numbered($node, 'h', 'sending') == $stalled },
		10),
	'h: 196 rows sent and recorded while 4 requests are stalled');
is(sql('SELECT in_flight FROM sms_ir.worker_status()'), $stalled,
	'h: the worker reports exactly the stalled requests in flight');
my $log = mock_requests($mock, '/v1/send/verify');
my @stalled_codes = map { request_code($_) } grep { $_->{seq} <= $log->[0]{seq} + $stalled - 1 } @$log;
is(scalar(@$log), 200, 'h: one request per row so far');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE status = 'sending' AND $code_sql IN ("
		  . join(',', map { "'$_'" } @stalled_codes) . ')'),
	$stalled, 'h: the rows still sending are the first requests, the stalled ones');
# The claim reads the due-rows index from just after the last row it
# claimed (so a held snapshot's dead entries are not read again on every
# claim); a row due before that point, queued now with a send_after in the
# past, is still found: by a claim from the first due row, at most a
# second later, while the stalled requests are still in flight.
my $past = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"hpast"}', send_after => '2020-01-01')});
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $past") eq 'sent' }, 5),
	'h: a row due before the claim cursor is sent while the stall goes on');
is(count_numbered($node, 'h', 'sending'), $stalled + 0, 'h: ... and the stalled rows are still in flight');
ok(wait_until(sub { count_numbered($node, 'h', 'sent') == 201 }, 30), 'h: the stalled rows are sent too');
my $seen = mock_codes($mock, 'h');
is(scalar(grep { $_ == 1 } values %$seen), 201, 'h: each row reached the provider exactly once');

# 2. kill -9 of the worker mid-drain.  The first request stalls (20 s),
# the others take 30 ms, so the drain goes on around the stalled one.  The
# old batch barrier had the whole claimed batch finished but unrecorded
# behind that one request, and re-sent all of it after the crash; the
# pipeline re-sends at most the requests in flight plus one record window.
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 20000, count => 1, match => '/v1/send/verify' });
mock_fault($mock, { kind => 'delay', delay_ms => 30, count => -1, match => '/v1/send/verify' });
my $n = 1000;
my $pid = worker_pid($node);
queue_numbered($node, 'k', $n);
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/verify') }) >= 400 }, 60),
	'k: 400 requests made around the stalled one');
my $reported = sql('SELECT in_flight FROM sms_ir.worker_status()');
is(kill(9, $pid), 1, 'k: kill -9 the worker');
mock_clear_faults($mock);
ok( wait_until(
		sub {
			my ($rc, $out) = $node->psql('postgres',
				"SELECT count(*) FROM sms_ir.outbox WHERE $code_sql LIKE 'k%' AND status IN ('queued', 'sending')");
			return $rc == 0 && $out eq '0';
		},
		120),
	'k: every row final after the crash restart');
is(count_numbered($node, 'k', 'sent'), $n, "k: all $n rows sent");
$seen = mock_codes($mock, 'k');
is(scalar(grep { $seen->{"k$_"} } 1 .. $n), $n, 'k: every message reached the provider');
my $dups = 0;
$dups += $_ - 1 for values %$seen;
note("k: $dups duplicate requests; the worker reported $reported in flight just before the kill");
cmp_ok($reported, '<=', $concurrency, 'k: never more than max_concurrency in flight');
cmp_ok($dups, '<=', 2 * $concurrency,
	'k: duplicates at most the requests in flight plus one record window');

stop_mock($mock);
$node->stop;
done_testing();
