# A provider outage: the provider refuses connections for a while in the
# middle of a drain (the mock's listening socket closed and its open
# connections shut, /__mock/refuse), then comes back.
#  - the account's circuit breaker opens during the outage (sms_ir.
#    account_status()), and closes again after it;
#  - every row ends final, all of them sent, none lost, none over
#    max_attempts; a message accepted twice only if its request was in
#    flight when the connections were shut (at most max_concurrency);
#  - the outage costs few attempts (the breaker holds rows without using
#    theirs): printed.
# Default: 1,200 rows queued before and 300 during an 8 s outage (about
# 30 s in all).  SMS_IR_CHAOS_LONG=1: the issue's 30 s outage, 5,000 + 1,000
# rows.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmsIrTest;
use SmsIrFault;

my $long = chaos_long();
my $outage_ms = $long ? 30_000 : 8_000;
my $n_before = $long ? 5000 : 1200;
my $n_during = $long ? 1000 : 300;
my $concurrency = 4;
my $max_attempts = 25;

my $mock = start_mock();
my $node = new_sms_node('outage', $mock, qq{
sms_ir.max_concurrency = $concurrency
sms_ir.max_attempts = $max_attempts
sms_ir.connect_timeout = '1s'
sms_ir.breaker_failures = 5
sms_ir.breaker_cooldown = '2s'
});

sub sql { return query_retry($node, 'postgres', $_[0]); }

sub breaker { return sql("SELECT breaker FROM sms_ir.account_status() WHERE account = 'default'"); }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');
is(breaker(), 'closed', 'breaker closed at first');

# each request takes 25 ms: the drain lasts long enough for the outage to hit it
fault_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 25, count => -1, match => '/v1/send/verify' });
note_load('before the drain');
my $t0 = time();
queue_numbered($node, 'o', $n_before);
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/verify') }) >= 100 }, 30),
	'the drain is under way');

my $refused_at = mock_refuse($mock, $outage_ms);
my $sent_at_outage = count_numbered($node, 'o', 'sent');
note("outage of $outage_ms ms begins with $sent_at_outage of $n_before rows sent");
# rows keep arriving while the provider is down (numbered after the first ones)
sql("SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'o' || g)))"
	  . " FROM generate_series($n_before + 1, $n_before + $n_during) g");

my $saw_open = wait_until(sub { breaker() eq 'open' || !(time() < $refused_at + $outage_ms / 1000) }, 60)
  && breaker() =~ /open/;
ok($saw_open, 'the breaker opens during the outage');
my $st = sql("SELECT breaker || ' ' || consecutive_failures || ' ' || coalesce(last_error, '')"
	  . " FROM sms_ir.account_status() WHERE account = 'default'");
note("during the outage: $st");
like($st, qr/connect|refused|reach/i, "account_status's last error says the provider could not be reached");
my $mid = status_counts($node, 'o');
note('during the outage: ' . join(', ', map { "$_ $mid->{$_}" } sort keys %$mid));
is($mid->{failed} // 0, 0, 'no row failed during the outage');

ok(wait_until(sub { mock_listening($mock) }, $outage_ms / 1000 + 30), 'the provider is back');
my $back_at = time();
note(sprintf('connections refused for %.1f s', $back_at - $refused_at));

my $n = $n_before + $n_during;
ok(wait_drained($node, 'o', 120), 'every row final after the outage');
my $drained = time();
ok(wait_until(sub { breaker() eq 'closed' }, 30), 'the breaker closes after the outage');
my $c = status_counts($node, 'o');
is($c->{sent} // 0, $n, "all $n rows sent");
is(lost_rows($node, 'o', $n), '0', 'no row lost');
my $max = max_attempts_used($node, 'o');
cmp_ok($max, '<=', $max_attempts, "no row over max_attempts ($max at most)");
my $extra = sql("SELECT sum(attempts) - count(*) FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' LIKE 'o%'");
my $seen = mock_codes($mock, 'o');
is(scalar(grep { $seen->{"o$_"} } 1 .. $n), $n, 'every message reached the provider');
my %accepted;
$accepted{ request_code($_) }++
  for grep { ($_->{reply_status} // 0) == 200 } @{ mock_requests($mock, '/v1/send/verify') };
my $twice = grep { $_ > 1 } values %accepted;
cmp_ok($twice, '<=', $concurrency, "messages accepted twice at most the requests in flight ($twice)");
note(sprintf('outage %.1f s: %d rows, drained %.1f s after the provider came back, %.1f s in all;'
		  . ' %d attempts beyond one per row, at most %d for a row; %d accepted twice',
		$back_at - $refused_at, $n, $drained - $back_at, $drained - $t0, $extra, $max, $twice));
note_load('after the drain');
is(scalar(crash_lines($node)), 0, 'no server process crashed');

stop_mock($mock);
$node->stop;
done_testing();
