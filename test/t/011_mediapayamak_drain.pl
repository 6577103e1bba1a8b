# The outbox worker drains through the MediaPayamak SOAP provider: a
# queue_bulk row is sent with one SendSMS call and ends `sent` with the
# recIds; result code 9 ("the system is being updated") and 4 (daily limit,
# resets the next day) are transient and retried; code 8 (no credit) fails
# the row at once.  A like_to_like row is one SendSmsLikeToLike call, whose
# reply is one smsId (no recId[]/status[]): sent once, pack_id = smsId.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node(
	'mediapayamak', $mock, qq{
sms_ir.provider = 'mediapayamak'
sms_ir.base_url = '$mock->{url}/SendService.svc'
sms_ir.username = 'test-user'
sms_ir.password = 'test-pass'
});

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub send_reply
{
	my ($code) = @_;
	return
	    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
	  . '<SendSMSResponse xmlns="http://tempuri.org/"><SendSMSResult>'
	  . $code
	  . '</SendSMSResult><recId xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays"/>'
	  . '<status/></SendSMSResponse></s:Body></s:Envelope>';
}

ok( wait_until(sub { sql("SELECT state FROM sms_ir.worker_status()") eq 'idle' }),
	'worker reaches idle');
mock_reset($mock);

# a bulk row to two recipients: one SendSMS, the row ends sent
my $id = sql("SELECT sms_ir.queue_bulk('Sale <50%>', ARRAY['09121000001', '+989121000002'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 10),
	'bulk row sent');
is(sql("SELECT provider FROM sms_ir.outbox WHERE id = $id"), 'mediapayamak',
	'row queued for mediapayamak');
my $reqs = mock_requests($mock, '/SendService.svc');
is(scalar(@$reqs), 1, 'one SOAP request');
is($reqs->[0]{headers}{soapaction}, '"http://tempuri.org/ISendService/SendSMS"', 'SOAPAction');
like($reqs->[0]{headers}{'content-type'}, qr{^text/xml; charset=utf-8$}, 'Content-Type');
like(
	$reqs->[0]{body},
	qr{<a:string>09121000001</a:string><a:string>09121000002</a:string>},
	'both numbers in one call');
like($reqs->[0]{body}, qr{<messageContent>Sale &lt;50%&gt;</messageContent>}, 'text escaped');
is(sql("SELECT result->'message_ids' FROM sms_ir.outbox WHERE id = $id"),
	'["1000000001", "1000000002"]', 'recIds recorded as message ids');

# code 9 once: retried, then sent
mock_reset($mock);
mock_fault($mock,
	{ match => '/SendService.svc', kind => 'status', status => 200, count => 1, body => send_reply(9) });
$id = sql("SELECT sms_ir.queue_bulk('retry me', ARRAY['09121000003'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 15),
	'row with code 9 sent after a retry');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $id"), '2', 'two attempts');
is(scalar(@{ mock_requests($mock, '/SendService.svc') }), 2, 'two SendSMS calls');

# code 8 (no credit): failed at once
mock_fault($mock,
	{ match => '/SendService.svc', kind => 'status', status => 200, count => 1, body => send_reply(8) });
$id = sql("SELECT sms_ir.queue_bulk('no credit', ARRAY['09121000004'])");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'failed' }, 10),
	'row with code 8 failed');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id"), qr/provider code 8: not enough credit/,
	'last_error has the code and its meaning');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $id"), '1', 'not retried');

# code 4 (daily limit reached): temporary, but the limit resets the next day
# (Tehran time): the row waits for Tehran midnight, not for the back-off
mock_reset($mock);
mock_fault($mock,
	{ match => '/SendService.svc', kind => 'status', status => 200, count => 1, body => send_reply(4) });
$id = sql("SELECT sms_ir.queue_bulk('daily limit', ARRAY['09121000005'])");
ok( wait_until(
		sub { sql("SELECT status = 'queued' AND attempts = 1 FROM sms_ir.outbox WHERE id = $id") eq 't' },
		15),
	'row with code 4 queued again after one attempt');
is( sql(
		"SELECT next_attempt_at = (date_trunc('day', now() AT TIME ZONE 'Asia/Tehran') + interval '1 day')"
		  . " AT TIME ZONE 'Asia/Tehran' FROM sms_ir.outbox WHERE id = $id"),
	't',
	'code 4: next attempt at the next Tehran midnight');
is(scalar(@{ mock_requests($mock, '/SendService.svc') }), 1, 'code 4: one SendSMS call so far');
is(sql("SELECT sms_ir.cancel($id)"), 't', 'the waiting row can be cancelled');

# like_to_like: one SendSmsLikeToLike, answered with one smsId; sent once
mock_reset($mock);
$id = sql("SELECT sms_ir.queue_like_to_like(ARRAY['one', 'two'], ARRAY['09121000006', '09121000007'])");
ok( wait_until(
		sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") =~ /^(?:sent|failed|unknown)$/ },
		20),
	'like_to_like row handled');
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $id"), 'sent', 'like_to_like row sent');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $id"), '1', 'like_to_like: one attempt');
$reqs = mock_requests($mock, '/SendService.svc');
is(scalar(@$reqs), 1, 'like_to_like: exactly one request');
is($reqs->[0]{headers}{soapaction}, '"http://tempuri.org/ISendService/SendSmsLikeToLike"',
	'like_to_like SOAPAction');
is(sql("SELECT result->>'pack_id' FROM sms_ir.outbox WHERE id = $id"), '2000001',
	'the smsId is the pack id');
is(sql("SELECT result->'message_ids' FROM sms_ir.outbox WHERE id = $id"), '[]',
	'no message ids (an smsId is not a recId)');

# delivery tracking of the like_to_like row: ONE GetDeliveryLikeToLike(smsId)
# (the mock reports ...6 -> 6 failed, ...7 -> 1 delivered: mixed final = failed;
# no mock reset here: it would forget which numbers the smsId went to)
sql("ALTER SYSTEM SET sms_ir.track_delivery = on");
sql("SELECT pg_reload_conf()");
ok( wait_until(
		sub { sql("SELECT delivery_checked_at IS NOT NULL FROM sms_ir.outbox WHERE id = $id") eq 't' },
		30),
	'like_to_like row tracked');
is(sql("SELECT delivery_status FROM sms_ir.outbox WHERE id = $id"), 'failed',
	'one delivered and one not delivered: failed');
$reqs = mock_requests($mock, '/SendService.svc');
my @ltl = grep { ($_->{headers}{soapaction} // '') =~ /GetDeliveryLikeToLike/ } @$reqs;
ok(scalar(@ltl) >= 1, 'reports asked with GetDeliveryLikeToLike');
like($ltl[0]{body} // '', qr{<smsId>2000001</smsId>}, 'for the smsId');
is( scalar(
		grep { ($_->{headers}{soapaction} // '') =~ /GetDelivery"/ && ($_->{body} // '') =~ /2000001/ }
		  @$reqs),
	0,
	'never GetDelivery with the smsId');
sql("ALTER SYSTEM RESET sms_ir.track_delivery");
sql("SELECT pg_reload_conf()");

stop_mock($mock);
$node->stop;
done_testing();
