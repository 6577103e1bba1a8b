# Received messages stored by the worker (sms_ir.inbox_poll): each provider
# message once across polls, live + archive overlap, provider faults mid-pages
# and a kill -9 of the worker mid-poll; opt-out/opt-in acting on
# sms_ir.suppression; blacklist from delivery reports; never receive/latest.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP ();
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('inbox', $mock, qq{
sms_ir.inbox_poll = '1s'
restart_after_crash = on
}, backup_line => '10001000');

sub sql { return query_retry($node, 'postgres', $_[0], 60); }
sub ctl { return SmsIrTest::_control($mock, @_); }

# messages of the default (sms.ir) account whose text starts with $prefix
sub stored
{
	my ($prefix) = @_;
	return sql("SELECT count(*) || '/' || count(DISTINCT message) FROM sms_ir.inbox"
		  . " WHERE account = 'default' AND message LIKE '$prefix%'");
}

sub wait_stored
{
	my ($prefix, $n, $secs) = @_;
	wait_until(sub { stored($prefix) eq "$n/$n" }, $secs // 20);
	return stored($prefix);
}

my $now = time;

# --- smsafzar (account backup): keyed by receivedMessageId; its seeded "لغو 11"
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE account = 'backup'") >= 2 }, 20),
	'smsafzar messages stored');
is(sql("SELECT string_agg(provider_id || ' ' || message_key, ',' ORDER BY provider_id)"
	  . " FROM sms_ir.inbox WHERE account = 'backup'"),
	'r-2 id:r-2,r-3 id:r-3', 'smsafzar messages keyed by their id');
is(sql("SELECT reason || ' ' || (source = 'inbox:' || (SELECT id FROM sms_ir.inbox WHERE provider_id = 'r-3'))"
	  . " FROM sms_ir.suppression WHERE mobile = '09123333333'"),
	'opt-out true', '"لغو 11" suppressed its sender, source inbox:<id>');

# --- sms.ir: today's via live, yesterday's via the archive, each once -------
ctl('POST', '/__mock/inbox', [
	(map { { mobile => '0912100000' . $_, messageText => "today $_",
			receivedDateTime => $now - 5 + $_ } } 1 .. 3),
	{ mobile => '09121000009', messageText => 'yesterday 1', receivedDateTime => $now - 86400 } ]);
# the archive is read on the first poll after start
$node->restart;
is(wait_stored('today ', 3), '3/3', "today's messages stored once (live)");
is(wait_stored('yesterday ', 1), '1/1', "yesterday's message stored (archive)");
is(sql("SELECT provider_id IS NOT NULL FROM sms_ir.inbox WHERE message = 'yesterday 1'"), 't',
	'the archive gives receiveReturnId');
is(sql("SELECT sender || ' ' || line_number || ' ' || (received_at = to_timestamp($now - 4))"
	  . " FROM sms_ir.inbox WHERE message = 'today 1'"),
	'09121000001 30004505000017 true', 'sender canonical, line and time stored');
# live in the first hours of a day also lists yesterday's: no id there
ctl('POST', '/__mock/receive', { liveIncludesYesterday => JSON::PP::true });
my $seq = mock_count($mock);
ok( wait_until(sub { scalar(grep { $_->{seq} > $seq } @{ mock_requests($mock, '/v1/receive/live') }) >= 3 },
		20),
	'three more polls');
is(stored('today '), '3/3', 'polling again stores nothing twice');
is(stored('yesterday '), '1/1', 'yesterday in live and in the archive: stored once');

# --- a provider fault on page 2: page 1 is kept, page 2 and 3 read next time --
ctl('POST', '/__mock/receive', { liveIncludesYesterday => JSON::PP::false });
mock_fault($mock, { match => '/v1/receive/live?pageNumber=2', kind => 'status', status => 500, count => 1 });
ctl('POST', '/__mock/inbox', [ map { { mobile => '09122000000', messageText => "burst $_",
			receivedDateTime => $now - 30 + $_ % 30 } } 1 .. 250 ]);
is(wait_stored('burst ', 250), '250/250', 'all 250 messages of three pages stored once after a 500 on page 2');
ok(!@{ SmsIrTest::_control($mock, 'GET', '/__mock/fault') }, 'the 500 was served');

# --- kill -9 of the worker while a page request stalls -----------------------
mock_fault($mock, { match => '/v1/receive/live?pageNumber=2', kind => 'stall', delay_ms => 10000, count => 1 });
$seq = mock_count($mock);
ctl('POST', '/__mock/inbox', [ map { { mobile => '09122000001', messageText => "crash $_",
			receivedDateTime => $now - 30 + $_ % 30 } } 1 .. 250 ]);
ok( wait_until(
		sub {
			grep { $_->{seq} > $seq && $_->{path} =~ /pageNumber=2&/ }
			  @{ mock_requests($mock, '/v1/receive/live') };
		},
		20),
	'the worker asks for page 2, which stalls');
my $pid = worker_pid($node);
ok($pid, "worker pid $pid");
kill 'KILL', $pid;
ok(wait_pids_gone([$pid]), 'worker killed mid-poll');
is(wait_stored('crash ', 250, 30), '250/250', 'after the crash: all 250 stored, none twice');
is(stored('burst '), '250/250', 'nothing stored twice after the restart');
is(stored('today '), '3/3', "today's still once");

# --- opt-out, opt-in --------------------------------------------------------
sub inbound
{
	my ($mobile, $text, $at) = @_;
	ctl('POST', '/__mock/inbox', { mobile => $mobile, messageText => $text,
		receivedDateTime => $at // time });
	return;
}

sub suppression
{
	my ($mobile) = @_;
	return sql("SELECT coalesce((SELECT reason FROM sms_ir.suppression WHERE mobile = '$mobile'), 'none')");
}

sub wait_message
{
	my ($text) = @_;
	return wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE message = '$text'") == 1 }, 20);
}

inbound('989123000001', "لغو\xe2\x80\x8c ۱۱");   # with a ZWNJ (UTF-8 bytes, as the file has no "use utf8")
ok(wait_until(sub { suppression('09123000001') eq 'opt-out' }, 20), '"لغو ۱۱" (with ZWNJ) opts out');
like(sql("SELECT source FROM sms_ir.suppression WHERE mobile = '09123000001'"), qr/^inbox:\d+$/,
	'source names the inbox row');
inbound('9123000001', ' ١٢ ', time + 1);
ok(wait_until(sub { suppression('09123000001') eq 'none' }, 20), '" ١٢ " opts in again');
# opt-in removes an opt-out only
sql("SELECT sms_ir.suppress('09123000002', 'manual')");
inbound('09123000002', 'عضويت 12');
ok(wait_message('عضويت 12'), 'opt-in of a manually suppressed mobile stored');
is(suppression('09123000002'), 'manual', '... and the manual suppression stays');
# a sender that is not a mobile is stored and acts on nothing
inbound('30001234', '11');
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE sender = '30001234'") == 1 }, 20),
	'a message from a non-mobile sender is stored');
is(sql("SELECT count(*) FROM sms_ir.suppression WHERE source = 'inbox:' ||"
	  . " (SELECT id FROM sms_ir.inbox WHERE sender = '30001234')"), '0', '... and suppresses nothing');
# an older "11" stored after a newer "12" does not opt out again
my $t12 = time + 5;    # both newer than the bursts above: on the first page
inbound('09123000003', '12', $t12);
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE sender = '09123000003'") == 1 }, 20),
	'"12" stored');
inbound('09123000003', '11', $t12 - 1);
ok(wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE sender = '09123000003'") == 2 }, 20),
	'an older "11" arrives later');
is(suppression('09123000003'), 'none', 'it does not undo the newer "12"');

# two intents of one sender in one page: the newer one acts
# (09123000004 opted out before: a "12" acting too would remove it)
sql("SELECT sms_ir.suppress('09123000004', 'opt-out')");
ctl('POST', '/__mock/inbox', [
	{ mobile => '09123000004', messageText => '12', receivedDateTime => $t12 + 1 },
	{ mobile => '09123000004', messageText => '11', receivedDateTime => $t12 + 2 },
	{ mobile => '09123000005', messageText => '11', receivedDateTime => $t12 + 1 },
	{ mobile => '09123000005', messageText => '12', receivedDateTime => $t12 + 2 } ]);
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.inbox WHERE sender IN ('09123000004', '09123000005')") == 4 },
		20),
	'a page with two intents of each of two senders stored');
is(suppression('09123000004') . ' ' . suppression('09123000005'), 'opt-out none',
	'"12" then "11" opts out, "11" then "12" opts in');

# --- blacklist from delivery reports (deliveryState 7) -----------------------
my $verify = sql("SELECT sms_ir.queue_verify('09124000001', 123456, '{\"code\":\"b1\"}')");
my $bulk = sql("SELECT sms_ir.queue_bulk('pack', ARRAY['09124000002','09124000003'])");
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN ($verify, $bulk) AND status = 'sent'") == 2 },
		20),
	'verify and bulk rows sent')
  or diag(sql("SELECT string_agg(id || ' ' || status || ' ' || attempts || ' ' || coalesce(last_error, ''), E'\\n')"
		  . " FROM sms_ir.outbox") . "\n" . sql("SELECT * FROM sms_ir.worker_status()"));
my $vmsg = sql("SELECT result->'message_ids'->>0 FROM sms_ir.outbox WHERE id = $verify");
my $bmsg = sql("SELECT result->'message_ids'->>1 FROM sms_ir.outbox WHERE id = $bulk");
ctl('POST', '/__mock/delivery', { messageId => $vmsg + 0, state => 7 });
ctl('POST', '/__mock/delivery', { messageId => $bmsg + 0, state => 7 });
sql("ALTER SYSTEM SET sms_ir.track_delivery = on");
sql("SELECT pg_reload_conf()");
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.suppression WHERE reason = 'blacklist'") == 2 }, 30),
	'two blacklisted recipients suppressed');
is(sql("SELECT string_agg(mobile || ' ' || source, ',' ORDER BY mobile) FROM sms_ir.suppression"
	  . " WHERE reason = 'blacklist'"),
	"09124000001 delivery:$verify,09124000003 delivery:$bulk",
	'by message report and by pack report, each with its outbox row');
is(suppression('09124000002'), 'none', 'the delivered recipient of the pack is not suppressed');

# --- never the destructive endpoint ------------------------------------------
is(scalar(@{ mock_requests($mock, '/v1/receive/latest') }), 0, 'receive/latest was never requested');
ok(scalar(@{ mock_requests($mock, '/v1/receive/archive') }) >= 1, 'the archive was read');

stop_mock($mock);
$node->stop;
done_testing();
