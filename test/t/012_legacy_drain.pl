# The outbox worker drains through the legacy sms.ir White SMS provider
# (smsir_legacy): it fetches a token once, sends every row with it, and when
# the token expires mid-stream it forgets it, re-queues the refused rows for
# an immediate retry and fetches exactly one new token: no row lost, none
# failed.  Bad credentials fail the row at once without leaking the secret.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('legacy', $mock,
	"sms_ir.provider = 'smsir_legacy'\nsms_ir.secret_key = 'test-secret'\n");

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub token_fetches
{
	return scalar(@{ mock_requests($mock, '/users/v1/Token/GetToken') });
}

ok( wait_until(sub { sql("SELECT state FROM sms_ir.worker_status()") eq 'idle' }),
	'worker reaches idle');
mock_reset($mock);

# one bulk row to three recipients (max_recipients = 100: one row)
my $id = sql("SELECT sms_ir.queue_bulk('Sale', ARRAY['09121000001', '09121000002', '09121000003'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 10),
	'bulk row sent');
is(sql("SELECT provider FROM sms_ir.outbox WHERE id = $id"), 'smsir_legacy', 'row queued for smsir_legacy');
my $sends = mock_requests($mock, '/users/v1/Message/SendByMobileNumbers');
is(scalar(@$sends), 1, 'one SendByMobileNumbers request');
is(join(',', @{ $sends->[0]{body}{MobileNumbers} }),
	'09121000001,09121000002,09121000003', 'MobileNumbers in 09 form');
is($sends->[0]{body}{Message}, 'Sale', 'Message sent');
ok(defined $sends->[0]{headers}{'x-sms-ir-secure-token'}, 'token header sent');
is(token_fetches(), 1, 'one token fetched');
is(sql("SELECT result->>'pack_id' FROM sms_ir.outbox WHERE id = $id"), 'wb-000001', 'BatchKey recorded as pack_id');
is(sql("SELECT result->'message_ids' FROM sms_ir.outbox WHERE id = $id"),
	'["5000001", "5000002", "5000003"]', 'Ids[].ID recorded as message_ids');

# more rows reuse the token
sql("SELECT sms_ir.queue_bulk('Again ' || i, ARRAY['0912200000' || i]) FROM generate_series(1, 3) i");
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'") == 4 }, 10),
	'three more rows sent');
is(token_fetches(), 1, 'still one token fetched');

# the token expires: the refused rows are re-queued and sent with one new token
SmsIrTest::_control($mock, 'POST', '/__mock/legacy/expire', {});
sql("SELECT sms_ir.queue_bulk('After expiry ' || i, ARRAY['0912300000' || i]) FROM generate_series(1, 5) i");
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'") == 9 }, 15),
	'rows queued across the expiry all sent');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE status <> 'sent'"), '0', 'no row failed or left behind');
is(token_fetches(), 2, 'exactly one more token fetched');
my $refused = grep { ($_->{reply_status} // 0) == 401 }
  @{ mock_requests($mock, '/users/v1/Message/SendByMobileNumbers') };
ok($refused >= 1, "the expired token was refused ($refused)");
my $ok_sends = grep { ($_->{reply_status} // 0) == 200 }
  @{ mock_requests($mock, '/users/v1/Message/SendByMobileNumbers') };
is($ok_sends, 9, 'each row sent exactly once');
is(sql("SELECT max(attempts) FROM sms_ir.outbox WHERE payload->>'message' LIKE 'After expiry%'"),
	'2', 'one retry each at most');

# delivery tracking: one GetSentMessagesMobileNumbers per row, by BatchKey,
# with the token; every recipient delivered -> the row is delivered
my $track = sql("SELECT sms_ir.queue_bulk('Track', ARRAY['09124000007', '09124000000'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $track") eq 'sent' }, 10),
	'tracked row sent');
my $track_key = sql("SELECT result->>'pack_id' FROM sms_ir.outbox WHERE id = $track");
$node->append_conf('postgresql.conf', "sms_ir.track_delivery = on\n");
$node->reload;
ok( wait_until(
		sub { sql("SELECT coalesce(delivery_status::text, '') FROM sms_ir.outbox WHERE id = $track") eq 'delivered' },
		40),
	'delivery tracked to delivered');
my @status_reqs = grep { index($_->{path}, "batchKey=$track_key") >= 0 }
  @{ mock_requests($mock, '/users/v1/Message/GetSentMessagesMobileNumbers') };
ok(scalar(@status_reqs) >= 1, 'status asked by BatchKey');
ok(defined $status_reqs[0]{headers}{'x-sms-ir-secure-token'}, 'status request carries the token');
is(token_fetches(), 2, 'tracking reused the token');
$node->append_conf('postgresql.conf', "sms_ir.track_delivery = off\n");
$node->reload;

# bad credentials: the row fails at once, the secret not in last_error
$node->append_conf('postgresql.conf', "sms_ir.secret_key = 'wrong-secret'\n");
$node->reload;
ok( wait_until(sub { $node->safe_psql('postgres', 'SHOW sms_ir.secret_key') eq 'wrong-secret' }, 10),
	'secret changed');
my $bad = sql("SELECT sms_ir.queue_bulk('Nope', ARRAY['09121000009'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $bad") eq 'failed' }, 10),
	'bad secret fails the row');
my $err = sql("SELECT last_error FROM sms_ir.outbox WHERE id = $bad");
like($err, qr/provider code 1: .*HTTP 200/, "last_error has the provider's code and message ($err)");
unlike($err, qr/wrong-secret|test-key/, 'no secret in last_error');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $bad"), '1', 'not retried');

stop_mock($mock);
$node->stop;
done_testing();
