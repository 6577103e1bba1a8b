# Worker housekeeping: delivery tracking (sms_ir.track_delivery), retention
# (sms_ir.retention) and the rate limit (sms_ir.rate_limit).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use List::Util qw(min max);
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('housekeeping', $mock);

sub sql { return $node->safe_psql('postgres', $_[0]); }

sub reload_with
{
	my ($setting) = @_;
	sql("ALTER SYSTEM SET $setting");
	sql("SELECT pg_reload_conf()");
	return;
}

sub wait_sent
{
	my ($ids) = @_;
	return wait_until(
		sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN ($ids) AND status = 'sent'")
			  == scalar(split /,/, $ids);
		},
		20);
}

# --- delivery tracking ------------------------------------------------------
mock_reset($mock);
my @ids = map { sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"t$_\"}')") } 1 .. 3;
my $ids = join(',', @ids);
ok(wait_sent($ids), 'three rows sent');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN ($ids) AND delivery_status IS NULL"),
	'3', 'no delivery status while track_delivery is off');

my @msg = map { sql("SELECT result->'message_ids'->>0 FROM sms_ir.outbox WHERE id = $_") } @ids;
SmsIrTest::_control($mock, 'POST', '/__mock/delivery', { messageId => $msg[0] + 0, state => 2 });
SmsIrTest::_control($mock, 'POST', '/__mock/delivery', { messageId => $msg[2] + 0, state => 3 });

reload_with("sms_ir.track_delivery = on");
ok( wait_until(
		sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN ($ids) AND delivery_checked_at IS NOT NULL")
			  == 3;
		},
		30),
	'all three rows checked');
is(sql("SELECT delivery_status FROM sms_ir.outbox WHERE id = $ids[0]"), 'failed', 'state 2 is failed');
is(sql("SELECT delivery_status FROM sms_ir.outbox WHERE id = $ids[1]"), 'delivered', 'state 1 is delivered');
is(sql("SELECT delivery_status FROM sms_ir.outbox WHERE id = $ids[2]"), 'sent', 'state 3 is sent (at the operator)');
my $status_reqs = mock_requests($mock, '/v1/send/');
ok(scalar(grep { $_->{method} eq 'GET' } @$status_reqs) >= 3, 'delivery reports were fetched');

# a bulk row (one pack, three messages) is tracked with one pack report
mock_reset($mock);
my $bulk = sql("SELECT sms_ir.queue_bulk('pack report', ARRAY['09121234567','09121234568','09121234569'])");
ok(wait_sent($bulk), 'bulk row sent');
my $pack = sql("SELECT result->>'pack_id' FROM sms_ir.outbox WHERE id = $bulk");
ok( wait_until(
		sub {
			sql("SELECT delivery_checked_at IS NOT NULL FROM sms_ir.outbox WHERE id = $bulk") eq 't';
		},
		30),
	'bulk row checked');
my @gets = grep { $_->{method} eq 'GET' } @{ mock_requests($mock, '/v1/send/') };
is(scalar(grep { $_->{path} eq "/v1/send/pack/$pack" } @gets), 1,
	'one GET /v1/send/pack/{packId} for the pack');
is(scalar(grep { $_->{path} !~ m{^/v1/send/pack/} } @gets), 0,
	'no report asked per message id');
isnt(sql("SELECT delivery_status FROM sms_ir.outbox WHERE id = $bulk"), '',
	'the pack report set the delivery status');
reload_with("sms_ir.track_delivery = off");

# --- rate limit ---------------------------------------------------------------
reload_with("sms_ir.rate_limit = 10");
mock_reset($mock);
sql("SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'r' || g)) FROM generate_series(1, 30) g");
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/verify') }) == 30 }, 30),
	'30 rate-limited rows sent');
my @t = map { $_->{t} } @{ mock_requests($mock, '/v1/send/verify') };
my $span = max(@t) - min(@t);
note(sprintf('30 requests at rate_limit 10/s took %.2f s', $span));
cmp_ok($span, '>=', 1.5, 'rate_limit spreads 30 requests over at least 1.5 s');
reload_with("sms_ir.rate_limit = 0");

# --- retention ----------------------------------------------------------------
my $unknown = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"u\"}')");
ok(wait_sent($unknown), 'row to mark unknown was sent');
sql("UPDATE sms_ir.outbox SET status = 'unknown' WHERE id = $unknown");
my $queued = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"q\"}', now() + interval '1 hour')");
reload_with("sms_ir.retention = '2s'");
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'") == 0 }, 30),
	'old sent rows purged');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE id = $unknown"), '1', 'unknown row kept');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE id = $queued"), '1', 'queued row kept');

stop_mock($mock);
$node->stop;
done_testing();
