# Guard rails through the worker: a bulk row to suppressed numbers only ends
# `suppressed` with no request, and one suppressed after queueing is still
# skipped; the others of a row get the request; a send refused as
# blacklisted (sms.ir 115) suppresses the number; the daily limit holds
# rows queued (account_status says so) and releases them when raised; quiet
# hours hold bulk rows, never OTPs; the OTP throttle's counts survive a
# restart and a crash.
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
my $node = new_sms_node('guard', $mock, qq{
sms_ir.retry_max_delay = '300ms'
});

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub bulk
{
	my ($mobiles) = @_;
	my $list = join(',', map { "'$_'" } @$mobiles);
	return sql("SELECT sms_ir.queue_bulk('guard news', ARRAY[$list])");
}

sub final
{
	my ($id, $status, $secs) = @_;
	return wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq $status },
		$secs // 15);
}

sub bulk_requests { return [ grep { ($_->{body}{messageText} // '') eq 'guard news' }
	  @{ mock_requests($mock, '/v1/send/bulk') } ]; }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# 1. suppression at send time
sql("SELECT sms_ir.suppress('09121110001'), sms_ir.suppress('09121110002', 'opt-out')");
mock_reset($mock);
my $id = bulk([ '09121110001', '+989121110002' ]);
ok(final($id, 'suppressed'), 'a row to suppressed numbers only ends suppressed');
like(sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id"), qr/every recipient \(2\) is suppressed/,
	'last_error says why');
is(scalar @{ bulk_requests() }, 0, 'and no request was made');

$id = bulk([ '09121110001', '09121110003' ]);
ok(final($id, 'sent'), 'a row with one suppressed recipient is sent');
is_deeply([ map { $_->{body}{mobiles} } @{ bulk_requests() } ], [ ['09121110003'] ],
	'to the other recipient only');
is(sql("SELECT result->>'suppressed' FROM sms_ir.outbox WHERE id = $id"), '1',
	'the result counts the one skipped');

# a number suppressed after its row was queued is still skipped
worker_conf($node, worker_enabled => 'off');
$id = bulk([ '09121110004' ]);
my $otp = sql("SELECT sms_ir.queue_verify('09121110004', 123456, '{\"Code\": \"7001\"}')");
sql("SELECT sms_ir.suppress('09121110004')");
worker_conf($node, worker_enabled => undef);
ok(final($id, 'suppressed'), 'suppressed after queueing: still skipped');
ok(final($otp, 'sent'), 'an OTP to a suppressed number is sent');
is(scalar grep({ ($_->{body}{parameters}[0]{value} // '') eq '7001' }
		@{ mock_requests($mock, '/v1/send/verify') }), 1, 'once');

# 2. a send refused as blacklisted suppresses the number
mock_fault($mock, { match => '/v1/send/bulk', kind => 'status', status => 400,
	body => { status => 115, message => 'blacklist', data => undef }, count => 1 });
$id = bulk([ '09121110005' ]);
ok(final($id, 'failed'), 'a bulk send refused with 115 fails');
is(sql("SELECT reason || ' ' || source FROM sms_ir.suppression WHERE mobile = '09121110005'"),
	"blacklist outbox:$id", 'and its number is suppressed as blacklisted');
$id = bulk([ '09121110005' ]);
ok(final($id, 'suppressed'), 'the next bulk row to it sends nothing');

# 3. the daily limit holds rows queued and releases them when raised
mock_reset($mock);
my $limit = sql("SELECT sent_today + 2 FROM sms_ir.account_status() WHERE account = 'default'");
worker_conf($node, daily_limit => $limit);
my @ids = map { bulk([ sprintf('0912111%04d', 100 + $_) ]) } 1 .. 4;
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN (@{[join ',', @ids]}) AND status = 'sent'") == 2 }),
	'two of four rows sent');
ok(wait_until(sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN (@{[join ',', @ids]}) AND status = 'queued'"
				  . " AND last_error LIKE 'held by the daily limit of account default: $limit of $limit %'"
				  . " AND attempts = 0")
			  == 2
		}), 'two held queued, no attempt used');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN (@{[join ',', @ids]}) AND status = 'queued'"
		  . " AND next_attempt_at = (date_trunc('day', now() AT TIME ZONE 'Asia/Tehran') + interval '1 day') AT TIME ZONE 'Asia/Tehran'"),
	'2', 'until midnight in Tehran');
is(sql("SELECT daily_state FROM sms_ir.account_status() WHERE account = 'default'"), 'over daily limit',
	'account_status says so');
is(scalar @{ bulk_requests() }, 2, 'two requests');
# an OTP held past its validity ends expired at once
$otp = sql("SELECT sms_ir.queue_verify('09121110200', 123456, '{\"Code\": \"7002\"}')");
ok(final($otp, 'expired'), 'an OTP over the daily limit expires instead of waiting for tomorrow');
worker_conf($node, daily_limit => $limit + 10);
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN (@{[join ',', @ids]}) AND status = 'sent'") == 4 }),
	'raising the limit releases the held rows');
is(scalar @{ bulk_requests() }, 4, 'each sent once');
is(sql("SELECT daily_state FROM sms_ir.account_status() WHERE account = 'default'"), 'ok', 'ok again');
worker_conf($node, daily_limit => undef);

# 4. quiet hours hold bulk rows, never OTPs
mock_reset($mock);
my $win = sql("SELECT to_char(now() AT TIME ZONE 'Asia/Tehran' - interval '1 hour', 'HH24:MI') || '-' ||"
	  . " to_char(now() AT TIME ZONE 'Asia/Tehran' + interval '1 hour', 'HH24:MI')");
worker_conf($node, quiet_hours => $win);
$id = bulk([ '09121110300' ]);
$otp = sql("SELECT sms_ir.queue_verify('09121110300', 123456, '{\"Code\": \"7003\"}')");
ok(final($otp, 'sent'), 'an OTP is sent inside quiet hours');
ok(wait_until(sub { sql("SELECT last_error FROM sms_ir.outbox WHERE id = $id") =~ /^held for quiet hours until/ }),
	'the bulk row is held');
is(sql("SELECT status || ' ' || attempts || ' ' || (next_attempt_at = sms_ir.quiet_hours_end(now()))::text"
		  . " FROM sms_ir.outbox WHERE id = $id"), 'queued 0 true', 'queued to the end of the window');
is(scalar @{ bulk_requests() }, 0, 'no bulk request inside the window');
worker_conf($node, quiet_hours => undef);
ok(final($id, 'sent'), 'sent once quiet hours are lifted');

# 5. the OTP throttle survives a restart and a crash
worker_conf($node, recipient_limit => '2/10min');
sub refused
{
	my ($mobile) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT sms_ir.queue_verify('$mobile', 123456, '{\"Code\": \"1\"}')");
	return $rc != 0 && $err =~ /too many messages to 0912\*\*\*/;
}
sql("SELECT sms_ir.queue_verify('09121119001', 123456, '{\"Code\": \"1\"}')") for 1 .. 2;
ok(refused('09121119001'), 'the third code in the window is refused');
$node->restart;
ok(refused('09121119001'), '... also after a restart');
sql("SELECT sms_ir.queue_verify('09121119002', 123456, '{\"Code\": \"1\"}')") for 1 .. 2;
# the worker saves the counts every few seconds
my $file = $node->data_dir . '/pg_stat/sms_ir_throttle.stat';
my $before = -M $file;
ok(wait_until(sub { (-M $file) < $before }, 20), 'the worker saved the counts');
$node->stop('immediate');
$node->start;
ok(refused('09121119002'), '... and after a crash');
ok(!refused('09121119003'), 'another mobile is not refused');

$node->stop;
stop_mock($mock);
done_testing();
