# Delivery that arrives, through the worker: an OTP fails over from sms.ir
# (answering 500, or refusing connections) to a smsafzar backup with the
# backup's template id; a rejection of the message does not fail over; the
# circuit breaker opens after breaker_failures and closes after one probe;
# an OTP whose valid_for runs out while the provider is down ends `expired`
# and is never sent later; an OTP queued while a bulk backlog drains is sent
# ahead of it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('routing', $mock, qq{
sms_ir.retry_max_delay = '300ms'
sms_ir.connect_timeout = '1s'
sms_ir.breaker_failures = 3
sms_ir.breaker_cooldown = '2s'
}, no_extension => 1, backup_line => '30004505000017');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION sms_ir');
sql(q{INSERT INTO sms_ir.template VALUES
  ('signup_otp', 'Your code is {Code}', '{"default": 123456, "backup": "123456"}')});
ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

sub otp
{
	my ($code, $extra) = @_;
	return sql("SELECT sms_ir.queue_template('09121234567', 'signup_otp', '{\"Code\": \"$code\"}'"
		  . ($extra // '') . ")");
}

sub final
{
	my ($id, $status, $secs) = @_;
	return wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq $status },
		$secs // 15);
}

sub sends
{
	my ($prefix, $code) = @_;
	return scalar grep {
		my $p = $_->{body}{parameters};
		ref $p eq 'ARRAY' && ($p->[0]{value} // '') eq $code
	} @{ mock_requests($mock, $prefix) };
}

# 1. sms.ir answers 500: the OTP goes out through smsafzar, its template id
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => 1 });
my $id = otp('5001');
ok(final($id, 'sent'), '500: row sent');
is(sql("SELECT result->>'account' FROM sms_ir.outbox WHERE id = $id"), 'backup', 'sent by the backup');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id"), qr/^account default: .*500/,
	"last_error keeps the first account's error");
my ($tpl) = grep { ($_->{body}{parameters}[0]{value} // '') eq '5001' }
  @{ mock_requests($mock, '/messages/send/template') };
ok($tpl, 'a smsafzar template request');
is($tpl->{body}{templateId}, '123456', "with the backup's template id");
is($tpl->{body}{recipientNumber}, '09121234567', 'to the recipient');
is(sends('/v1/send/verify', '5001'), 1, 'sms.ir was tried once');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $id"), '1', 'one attempt');

# 2. sms.ir refuses connections: the same
worker_conf($node, base_url => 'http://127.0.0.1:1');
mock_reset($mock);
$id = otp('5002');
ok(final($id, 'sent'), 'connection refused: row sent');
is(sql("SELECT result->>'account' FROM sms_ir.outbox WHERE id = $id"), 'backup', 'by the backup');
is(sql("SELECT result->'failed_over_from'->>0 FROM sms_ir.outbox WHERE id = $id"), 'default',
	'the result names the account that failed');
worker_conf($node, base_url => $mock->{url});

# 3. a rejection of the message (unknown template) does not fail over
mock_reset($mock);
$id = sql("SELECT sms_ir.queue_verify('09121234567', 999999, '{\"Code\": \"5003\"}')");
ok(final($id, 'failed'), 'unknown template: failed');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id"), qr/113/, 'sms.ir code 113');
is(scalar @{ mock_requests($mock, '/messages/') }, 0, 'nothing sent to smsafzar');
is(sql("SELECT breaker || ' ' || consecutive_failures FROM sms_ir.account_status() WHERE account = 'default'"),
	'closed 0', 'a reply of the provider keeps the breaker closed');

# 4. the breaker: opens after 3 account-level failures; rows then skip sms.ir
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => 1000 });
for my $i (1 .. 8)
{
	my $r = otp("60$i");
	ok(final($r, 'sent'), "breaker row $i sent");
}
is(scalar @{ mock_requests($mock, '/v1/send/verify') }, 3, 'sms.ir saw breaker_failures requests, no more');
is(scalar @{ mock_requests($mock, '/messages/send/template') }, 8, 'the backup sent all 8');
is(sql("SELECT breaker FROM sms_ir.account_status() WHERE account = 'default'"), 'open', 'breaker open');
# cooled down: one probe; sms.ir works again, so it closes
mock_clear_faults($mock);
sleep(2.5);
$id = otp('6100');
ok(final($id, 'sent'), 'probe row sent');
is(sql("SELECT result->>'account' FROM sms_ir.outbox WHERE id = $id"), 'default', 'through sms.ir: the probe');
is(sql("SELECT breaker FROM sms_ir.account_status() WHERE account = 'default'"), 'closed', 'breaker closed');
is( sql("SELECT sent >= 9 FROM sms_ir.account_status() WHERE account = 'backup'"),
	't', "account_status counts the backup's sends");

# 5. expiry: no fallback, sms.ir down; valid_for 2 s -> expired, never sent later
worker_conf($node, fallback => '');
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 503, count => 1000 });
$id = otp('7001', ", valid_for => '2 seconds'");
ok(final($id, 'expired', 20), 'expired');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id"), qr/^expired at /, 'last_error says why');
my $tries = sends('/v1/send/verify', '7001');
is(sql("SELECT expires_at - created_at FROM sms_ir.outbox WHERE id = $id"), '00:00:02',
	'valid_for set expires_at');
mock_clear_faults($mock);
# past expires_at, sms.ir working again
sleep(3);
is(sends('/v1/send/verify', '7001'), $tries, 'no request after it expired');
cmp_ok($tries, '>=', 1, 'it was tried while valid');

# 6. lanes: an OTP queued while 300 bulk rows drain (one request at a time,
# 30 ms each) is sent within a few requests, not after the backlog
worker_conf($node, max_concurrency => 1, worker_enabled => 'off');
sleep(2.5);    # the breaker's cooldown after step 5
mock_reset($mock);
mock_fault($mock,
	{ match => '/v1/send/bulk', kind => 'delay', delay_ms => 30, count => 100000, probability => 1 });
sql("SELECT count(*) FROM generate_series(1, 300) g, sms_ir.queue_bulk('bulk ' || g, ARRAY['09121234567'])");
worker_conf($node, worker_enabled => 'on');
ok(wait_until(sub { scalar @{ mock_requests($mock, '/v1/send/bulk') } >= 20 }, 30), 'the backlog drains');
my $before = scalar @{ mock_requests($mock, '/v1/send/') };
$id = otp('8001');
ok(final($id, 'sent', 10), 'OTP sent');
my @all = @{ mock_requests($mock, '/v1/send/') };
my ($pos) = grep { $all[$_]{path} eq '/v1/send/verify' } 0 .. $#all;
cmp_ok($pos - $before, '<=', 3, 'the OTP went out within 3 requests of being queued');
cmp_ok(sql("SELECT count(*) FROM sms_ir.outbox WHERE kind = 'bulk' AND status = 'queued'"),
	'>', 100, 'ahead of most of the backlog');
is(sql("SELECT priority FROM sms_ir.outbox WHERE id = $id"), '10', 'the OTP lane');

stop_mock($mock);
$node->stop;
done_testing();
