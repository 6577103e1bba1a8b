# The outbox end to end: queue functions, rollback, commit wake-up, a
# 1,000-row transaction sent exactly once, dedupe, send_after, cancel,
# requeue, permanent rejection, direct INSERT, worker_status.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
# a long poll interval: anything sent promptly was woken at commit
my $node = new_sms_node('outbox', $mock, "sms_ir.poll_interval = '60s'\n");

sub sql { return $node->safe_psql('postgres', $_[0]); }

ok( wait_until(sub { sql("SELECT state FROM sms_ir.worker_status()") eq 'idle' }),
	'worker reaches idle');
is( sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'"),
	'1', 'one sms_ir worker in pg_stat_activity');

mock_reset($mock);

# rollback sends nothing
sql(  "BEGIN; SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"rolled\"}'); ROLLBACK;"
);
is(sql("SELECT count(*) FROM sms_ir.outbox"), '0', 'rolled-back row is gone');

# a committed row is sent promptly (woken by the commit, not by polling)
my $id = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"4821\"}')");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 10),
	'committed row sent without waiting for the 60 s poll');
my $reqs = mock_requests($mock, '/v1/send/verify');
is(scalar(@$reqs), 1, 'exactly one verify request');
is($reqs->[0]{body}{parameters}[0]{value}, '4821', 'request carries the parameter');
is($reqs->[0]{body}{mobile}, '09121234567', 'mobile sent in canonical form');
is(sql("SELECT result->'message_ids'->>0 IS NOT NULL AND sent_at IS NOT NULL AND attempts = 1 FROM sms_ir.outbox WHERE id = $id"),
	't', 'result, sent_at and attempts recorded');
ok(!grep({ $_->{body} && $_->{body}{parameters} && $_->{body}{parameters}[0]{value} eq 'rolled' } @$reqs),
	'the rolled-back message never reached the provider');

# 1,000 rows in one transaction: all sent, each exactly once
mock_reset($mock);
sql(  "SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', g::text)) FROM generate_series(1, 1000) g"
);
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'") == 1001 }, 60),
	'1,000 queued rows all sent');
my %seen;
$seen{ $_->{body}{parameters}[0]{value} }++ for @{ mock_requests($mock, '/v1/send/verify') };
is(scalar(keys %seen), 1000, '1,000 distinct messages reached the provider');
is(scalar(grep { $_ != 1 } values %seen), 0, 'none of them twice');

# queue_bulk splits into rows of 100 and sends each
mock_reset($mock);
my $bulk_ids = sql("SELECT count(*) FROM sms_ir.queue_bulk('Sale', array_fill('09351234567'::text, ARRAY[250]))");
is($bulk_ids, '3', 'queue_bulk made three rows for 250 mobiles');
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/bulk') }) == 3 }, 10),
	'three bulk requests');
is_deeply([ sort map { scalar @{ $_->{body}{mobiles} } } @{ mock_requests($mock, '/v1/send/bulk') } ],
	[ 100, 100, 50 ], 'bulk requests of 100, 100 and 50 mobiles');

# dedupe: the same key returns the same id and queues nothing new
my $d1 = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"d\"}', now(), 'order:1:shipped')");
my $d2 = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"d\"}', now(), 'order:1:shipped')");
is($d1, $d2, 'dedupe_key returns the existing id');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE dedupe_key = 'order:1:shipped'"), '1', 'one row for the key');

# send_after: not before its time, then sent
mock_reset($mock);
my $later = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"later\"}', now() + interval '2 seconds')");
sleep(1);
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $later"), 'queued', 'not sent before send_after');
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $later") eq 'sent' }, 10),
	'sent once send_after passed');
is(sql("SELECT sent_at >= send_after FROM sms_ir.outbox WHERE id = $later"), 't', 'sent_at after send_after');

# cancel a queued row; cancel refuses rows that are not queued
my $c = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"c\"}', now() + interval '1 hour')");
is(sql("SELECT sms_ir.cancel($c)"), 't', 'cancel a queued row');
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $c"), 'cancelled', 'row is cancelled');
is(sql("SELECT sms_ir.cancel($c)"), 'f', 'cancel again is false');
is(sql("SELECT sms_ir.cancel($id)"), 'f', 'cannot cancel a sent row');

# a permanent rejection fails after one request, with the provider's code
mock_reset($mock);
my $bad = sql("SELECT sms_ir.queue_verify('09121234567', 999, '{\"code\":\"x\"}')");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $bad") eq 'failed' }, 10),
	'unknown template ends failed');
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 1, 'after exactly one request');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $bad"), qr/113/, 'last_error keeps code 113');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $bad"), '1', 'one attempt');

# requeue a failed row: it is sent again (and fails again here)
is(sql("SELECT sms_ir.requeue($bad)"), 't', 'requeue a failed row');
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/verify') }) == 2 }, 10),
	'requeued row was sent again');
is(sql("SELECT sms_ir.requeue($id)"), 'f', 'requeue refuses a sent row');

# a plain INSERT of kind + payload queues too, and is validated
mock_reset($mock);
my $ins = sql("INSERT INTO sms_ir.outbox(kind, payload) VALUES ('verify', '{\"mobile\":\"+989121234567\",\"template_id\":123456,\"parameters\":{\"code\":\"ins\"}}') RETURNING id");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $ins") eq 'sent' }, 10),
	'directly inserted row sent');
is(sql("SELECT payload->>'mobile' FROM sms_ir.outbox WHERE id = $ins"), '09121234567',
	'payload normalized at insert');
my ($rc, $out, $err) = $node->psql('postgres',
	"INSERT INTO sms_ir.outbox(kind, payload) VALUES ('verify', '{\"mobile\":\"12345\",\"template_id\":1}')");
like($err, qr/invalid mobile number "12345"/, 'invalid payload rejected at insert');

# validation at queue time matches the synchronous function
($rc, $out, $err) = $node->psql('postgres',
	"SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', repeat('x', 26)))");
like($err, qr/too long/, 'parameter over 25 characters rejected at queue time');

# worker_status counts what happened
my $status = sql("SELECT sent >= 1005 AND failed >= 2 AND last_error LIKE '%113%' FROM sms_ir.worker_status()");
is($status, 't', 'worker_status counters and last error');

stop_mock($mock);
$node->stop;
done_testing();
