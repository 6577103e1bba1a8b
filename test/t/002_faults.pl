# Retries and back-off under faults injected at the mock provider: HTTP 500
# at random, 429 with Retry-After, connection resets, a stall past the
# timeout (at_least_once and at_most_once), a permanent 400, max_attempts
# exhausted, and a garbage 200 reply.  Each scenario queues its own rows
# (tagged by their "code" parameter) after a mock reset.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('faults', $mock);

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Queue one verify row per code; returns the ids (in one transaction).
sub queue_codes
{
	my (@codes) = @_;
	my $list = join(',', map { "'$_'" } @codes);
	return split /\n/,
	  sql(  "SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', c))"
		  . " FROM unnest(ARRAY[$list]) WITH ORDINALITY AS u(c, n) ORDER BY n");
}

sub ids_in { return 'id IN (' . join(',', @_) . ')'; }

# Wait until every row of @ids is in a final state.
sub wait_final
{
	my ($secs, @ids) = @_;
	my $where = ids_in(@ids);
	return wait_until(
		sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE $where"
				  . " AND status IN ('queued', 'sending')") == 0;
		},
		$secs);
}

sub row { my ($id, $col) = @_; return sql("SELECT $col FROM sms_ir.outbox WHERE id = $id"); }

# Verify requests whose code starts with $prefix.
sub verify_requests
{
	my ($prefix) = @_;
	return [ grep { (request_code($_) // '') =~ /^\Q$prefix\E/ }
		  @{ mock_requests($mock, '/v1/send/verify') } ];
}

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker reaches idle');

# (a) 30% of verify requests fail with HTTP 500: every row is sent in the
# end, within max_attempts, and each 500 costs exactly one more request.
# With max_attempts = 10 a row fails only after 10 straight 500s (p = 6e-6).
worker_conf($node, max_attempts => 10);
mock_reset($mock);
mock_fault($mock,
	{ kind => 'status', status => 500, probability => 0.3, count => -1, match => '/v1/send/verify' });
my @a = queue_codes(map { "a$_" } 1 .. 100);
ok(wait_final(120, @a), '(a) all 100 rows final under 30% HTTP 500');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE " . ids_in(@a) . " AND status = 'sent'"),
	'100', '(a) all 100 rows sent');
is(sql("SELECT max(attempts) <= 10 FROM sms_ir.outbox WHERE " . ids_in(@a)),
	't', '(a) no row used more than max_attempts');
my $reqs = verify_requests('a');
my $n500 = grep { ($_->{reply_status} // 0) == 500 } @$reqs;
note("(a) $n500 HTTP 500 served over " . scalar(@$reqs) . " requests");
cmp_ok($n500, '>', 0, '(a) the fault was injected');
is(scalar(@$reqs), 100 + $n500, '(a) requests = 100 + number of 500s');
is(sql("SELECT sum(attempts) FROM sms_ir.outbox WHERE " . ids_in(@a)),
	scalar(@$reqs), '(a) attempts add up to the requests made');
my %seen_a;
$seen_a{ request_code($_) }++ for grep { ($_->{reply_status} // 0) == 200 } @$reqs;
is(scalar(grep { $_ == 1 } values %seen_a), 100, '(a) each message accepted exactly once');

# (b) 429 with Retry-After: 1 for the first 3 requests, sent as 3 rows in
# one transaction: each row is retried no sooner than 1 s after its 429.
worker_conf($node, max_attempts => undef);
mock_reset($mock);
mock_fault($mock,
	{
		kind => 'status',
		status => 429,
		headers => { 'Retry-After' => '1' },
		body => '{"status":20,"message":"too many requests","data":null}',
		count => 3,
		match => '/v1/send/verify'
	});
my @b = queue_codes('b1', 'b2', 'b3');
ok(wait_final(30, @b), '(b) rows final after 429');
is(sql("SELECT string_agg(status || '/' || attempts, ',' ORDER BY id) FROM sms_ir.outbox WHERE " . ids_in(@b)),
	'sent/2,sent/2,sent/2', '(b) each row sent on its second attempt');
$reqs = verify_requests('b');
is(scalar(@$reqs), 6, '(b) six requests');
for my $code ('b1', 'b2', 'b3')
{
	my @r = grep { request_code($_) eq $code } @$reqs;
	is_deeply([ map { $_->{reply_status} } @r ], [ 429, 200 ], "(b) $code: 429 then 200");
	cmp_ok($r[1]{t} - $r[0]{t}, '>=', 1.0, "(b) $code retried at least 1 s (Retry-After) later");
}

# ... and one row limited three times running waits at least 1 s each time
mock_reset($mock);
mock_fault($mock,
	{
		kind => 'status',
		status => 429,
		headers => { 'Retry-After' => '1' },
		count => 3,
		match => '/v1/send/verify'
	});
my ($b4) = queue_codes('b4');
ok(wait_final(30, $b4), '(b) repeatedly limited row final');
is(row($b4, "status || '/' || attempts"), 'sent/4', '(b) sent on the fourth attempt');
$reqs = verify_requests('b4');
is_deeply([ map { $_->{reply_status} } @$reqs ], [ 429, 429, 429, 200 ], '(b) three 429 then 200');
my $gaps_ok = 1;
$gaps_ok &&= ($reqs->[$_]{t} - $reqs->[ $_ - 1 ]{t} >= 1.0) for 1 .. $#$reqs;
ok($gaps_ok, '(b) every retry came at least 1 s after the 429 before it');

# (c) the connection is reset (or closed) after the request arrived:
# under at_least_once the request is made again and the row is sent.  On
# a reused keep-alive connection libcurl itself resends it on a fresh
# connection (attempts stays 1), which at_least_once allows; otherwise the
# worker retries it (attempts 2).  Either way: two requests, row sent.
for my $kind ('reset', 'close')
{
	mock_reset($mock);
	mock_fault($mock, { kind => $kind, count => 1, match => '/v1/send/verify' });
	my ($c) = queue_codes("c-$kind");
	ok(wait_final(30, $c), "(c) $kind: row final");
	is(row($c, 'status'), 'sent', "(c) $kind: row sent after the broken connection");
	$reqs = verify_requests("c-$kind");
	is_deeply([ map { $_->{reply_status} } @$reqs ], [ 0, 200 ],
		"(c) $kind: a broken request, then a successful one");
	like(row($c, 'attempts'), qr/^[12]$/, "(c) $kind: at most two attempts");
}

# (d) a stall past sms_ir.timeout: the request went out, so the outcome is
# unknown.  at_least_once retries it; at_most_once marks it unknown after
# one request, and requeue() sends it.
worker_conf($node, timeout => '1s');
mock_reset($mock);
mock_fault($mock, { kind => 'stall', delay_ms => 3000, count => 1, match => '/v1/send/verify' });
my ($d1) = queue_codes('d1');
ok(wait_final(30, $d1), '(d) at_least_once: stalled row final');
is(row($d1, "status || '/' || attempts"), 'sent/2', '(d) at_least_once: sent on the second attempt');
is(scalar(@{ verify_requests('d1') }), 2, '(d) at_least_once: two requests');

worker_conf($node, delivery_guarantee => 'at_most_once');
mock_reset($mock);
mock_fault($mock, { kind => 'stall', delay_ms => 3000, count => 1, match => '/v1/send/verify' });
my ($d2) = queue_codes('d2');
ok(wait_final(30, $d2), '(d) at_most_once: stalled row final');
is(row($d2, 'status'), 'unknown', '(d) at_most_once: row is unknown');
like(row($d2, 'last_error'), qr/timed? ?out/i, '(d) at_most_once: last_error names the timeout');
is(row($d2, 'attempts'), '1', '(d) at_most_once: one attempt');
is(scalar(@{ verify_requests('d2') }), 1, '(d) at_most_once: exactly one request');
is(sql("SELECT sms_ir.requeue($d2)"), 't', '(d) requeue the unknown row');
ok(wait_until(sub { row($d2, 'status') eq 'sent' }, 30), '(d) requeued row sent');
is(scalar(@{ verify_requests('d2') }), 2, '(d) requeue made one more request');

# A broken connection under at_most_once is unknown too, and never resent,
# not even by libcurl's own retry on a fresh connection: the first request
# travels on the keep-alive connection of the previous requests.
for my $kind ('reset', 'close')
{
	mock_reset($mock);
	mock_fault($mock, { kind => $kind, count => 1, match => '/v1/send/verify' });
	my ($d3) = queue_codes("d3-$kind");
	ok(wait_final(30, $d3), "(d) at_most_once $kind: row final");
	is(row($d3, 'status'), 'unknown', "(d) at_most_once $kind: row is unknown");
	is(scalar(@{ verify_requests("d3-$kind") }), 1, "(d) at_most_once $kind: exactly one request");
	like(row($d3, 'last_error'), qr/connection/i, "(d) at_most_once $kind: last_error names the connection");
}

# at_most_once still sends on keep-alive connections as usual
mock_reset($mock);
my @d4 = queue_codes(map { "d4-$_" } 1 .. 20);
ok(wait_final(30, @d4), '(d) at_most_once: 20 rows final');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE " . ids_in(@d4) . " AND status = 'sent' AND attempts = 1"),
	'20', '(d) at_most_once: 20 rows sent on the first attempt');

worker_conf($node, timeout => undef, delivery_guarantee => undef);

# (e) a permanent rejection (unknown template, HTTP 400 code 113) fails at
# once, however many attempts are allowed.
worker_conf($node, max_attempts => 10);
mock_reset($mock);
my $e = sql("SELECT sms_ir.queue_verify('09121234567', 999, '{\"code\":\"e1\"}')");
ok(wait_final(30, $e), '(e) rejected row final');
is(row($e, "status || '/' || attempts"), 'failed/1', '(e) failed after one attempt');
is(scalar(@{ verify_requests('e1') }), 1, '(e) exactly one request');
like(row($e, 'last_error'), qr/113/, '(e) last_error keeps the provider code');

# (f) HTTP 500 forever with max_attempts = 3: failed after exactly 3.
worker_conf($node, max_attempts => 3);
mock_reset($mock);
mock_fault($mock, { kind => 'status', status => 500, count => -1, match => '/v1/send/verify' });
my ($f) = queue_codes('f1');
ok(wait_final(30, $f), '(f) row final');
is(row($f, "status || '/' || attempts"), 'failed/3', '(f) failed after 3 attempts');
is(scalar(@{ verify_requests('f1') }), 3, '(f) exactly 3 requests');
like(row($f, 'last_error'), qr/500/, '(f) last_error names HTTP 500');
worker_conf($node, max_attempts => undef);

# (g) HTTP 200 with a body that is not the provider's JSON: the outcome is
# unknown, so at_least_once retries, and the row is sent.
mock_reset($mock);
mock_fault($mock, { kind => 'garbage', count => 1, match => '/v1/send/verify' });
my ($g) = queue_codes('g1');
ok(wait_final(30, $g), '(g) row final');
is(row($g, "status || '/' || attempts"), 'sent/2', '(g) sent on the second attempt');
is_deeply([ map { $_->{reply_status} } @{ verify_requests('g1') } ], [ 200, 200 ],
	'(g) garbage 200, then a real 200');

is(sql("SELECT count(*) FROM sms_ir.outbox WHERE status IN ('queued', 'sending')"), '0',
	'nothing left in flight');

stop_mock($mock);
$node->stop;
done_testing();
