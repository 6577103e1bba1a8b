# The outbox worker drains through the smsafzar provider: queue_template
# and queue_bulk rows (one per recipient, max_recipients = 1) end `sent`,
# with one request each in smsafzar's shape; a documented rejection (1107)
# fails its row at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('smsafzar', $mock, "sms_ir.provider = 'smsafzar'\n");

sub sql { return $node->safe_psql('postgres', $_[0]); }

ok( wait_until(sub { sql("SELECT state FROM sms_ir.worker_status()") eq 'idle' }),
	'worker reaches idle');
mock_reset($mock);

# a template row
my $tid = sql(
	"SELECT sms_ir.queue_template('09121234567', 'TydSt1skQE', '{\"code\": \"4821\", \"price\": \"1,000\"}')");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $tid") eq 'sent' }, 10),
	'template row sent');
is(sql("SELECT provider FROM sms_ir.outbox WHERE id = $tid"), 'smsafzar', 'row queued for smsafzar');
my $reqs = mock_requests($mock, '/messages/send/template');
is(scalar(@$reqs), 1, 'one template request');
is($reqs->[0]{body}{templateId}, 'TydSt1skQE', 'templateId sent as a string');
is($reqs->[0]{body}{senderNumber}, '30004505000017', 'sender from sms_ir.line_number');
is($reqs->[0]{body}{recipientNumber}, '09121234567', 'recipient in 09 form');
is($reqs->[0]{headers}{'x-api-key'}, 'test-key', 'X-Api-Key header');
is( sql("SELECT result->'message_ids'->>0 = '00000000-0000-4000-b000-000000000001' FROM sms_ir.outbox WHERE id = $tid"),
	't', 'message id recorded');

# a bulk to three recipients: one row, ONE /messages/send/bulk request, sent
mock_reset($mock);
my $n = sql(
	"SELECT count(*) FROM sms_ir.queue_bulk('Sale', ARRAY['09121000001', '09121000002', '09121000003'])");
is($n, '1', 'queue_bulk made one row for the three recipients');
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE kind = 'bulk' AND status = 'sent'") == 1 },
		10),
	'the bulk row sent');
$reqs = mock_requests($mock, '/messages/send');
is(scalar(@$reqs), 1, 'one send request');
is( join(',', @{ $reqs->[0]{body}{recipientNumbers} }),
	'09121000001,09121000002,09121000003', 'every recipient in it, in order');
is( $reqs->[0]{path} . ' ' . join(',', @{ $reqs->[0]{body}{contents} }),
	'/messages/send/bulk Sale', 'a POST /messages/send/bulk with the one text');
is(sql("SELECT jsonb_array_length(result->'message_ids') FROM sms_ir.outbox WHERE kind = 'bulk'"),
	'3', 'a message id per recipient recorded');

# a documented permanent rejection fails its row at once
my $bad = sql("SELECT sms_ir.queue_template('09121234567', 'NoSuchTpl', '{\"code\": \"1\"}')");
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $bad") eq 'failed' }, 10),
	'unknown template fails');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $bad"), qr/1107/, 'last_error has code 1107');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $bad"), '1', 'not retried');

stop_mock($mock);
$node->stop;
done_testing();
