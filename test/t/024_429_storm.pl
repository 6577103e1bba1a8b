# 429 storms and the worker's own pacing, checked from the mock's request
# log timestamps.
#  1. A 429 storm: every send is answered 429 with Retry-After: 3 for a time
#     window (fault for_ms).  Retry-After speaks for the account, not only
#     for the one row: after a 429 the provider sees no request of that
#     account until Retry-After has passed, except those already under way
#     when the 429 came back (they arrive within a moment of it).  Each
#     limited row is retried no sooner than Retry-After, every row is sent
#     in the end, none lost, none over max_attempts.
#  2. rate_limit = 50/s over a steady backlog: the requests counted in a
#     window of W seconds are rate * W, allowing the token bucket's burst
#     (one second's worth at most, spent before the window opens).  The
#     upper bound (the pacing never runs ahead) is asserted within 5%; the
#     lower one (the worker keeps up) within 20% by default, on a loaded
#     2-core box, and within 5% under SMS_IR_CHAOS_LONG=1.
# Default: an 8 s storm over 400 rows, a 10 s rate window (about 40 s in
# all).  SMS_IR_CHAOS_LONG=1: a 20 s storm over 2,000 rows and the issue's
# 30 s window.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SmsIrTest;
use SmsIrFault;

my $long = chaos_long();
my $storm_ms = $long ? 20_000 : 8_000;
my $n_storm = $long ? 2000 : 400;
my $retry_after = 3;
# a request the worker started before it read the 429 reaches the mock at
# most this long after the 429 was answered
my $slop = 0.5;
my $rate = 50;
my $window = $long ? 30 : 10;
my $max_attempts = 30;

my $mock = start_mock();
my $node = new_sms_node('storm', $mock, qq{
sms_ir.max_concurrency = 16
sms_ir.max_attempts = $max_attempts
});

sub sql { return query_retry($node, 'postgres', $_[0]); }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# ---- 1. the storm ----------------------------------------------------------
fault_reset($mock);
note_load('before the storm');
my $t0 = time();
mock_fault($mock,
	{
		kind => 'status',
		status => 429,
		headers => { 'Retry-After' => "$retry_after" },
		body => '{"status":20,"message":"too many requests","data":null}',
		count => -1,
		for_ms => $storm_ms,
		match => '/v1/send/verify'
	});
queue_numbered($node, 's', $n_storm);
ok(wait_drained($node, 's', 120), 'every storm row final');
my $drained = time();
my $c = status_counts($node, 's');
is($c->{sent} // 0, $n_storm, "all $n_storm rows sent after the storm");
is(lost_rows($node, 's', $n_storm), '0', 'no row lost');
my $max = max_attempts_used($node, 's');
cmp_ok($max, '<=', $max_attempts, "no row over max_attempts ($max at most)");

my @reqs = sort { $a->{t} <=> $b->{t} } @{ mock_requests($mock, '/v1/send/verify') };
my @limited = grep { ($_->{reply_status} // 0) == 429 } @reqs;
cmp_ok(scalar(@limited), '>', 0, 'the storm was served (' . scalar(@limited) . ' replies 429)');
# requests that began well after a 429 and before its Retry-After passed
my ($early, $worst) = (0, '');
for my $l (@limited)
{
	my @in = grep { $_->{t} > $l->{t} + $slop && $_->{t} < $l->{t} + $retry_after } @reqs;
	next unless @in;
	$early += @in;
	$worst ||= sprintf('%d request(s) %.2f..%.2f s after the 429 at +%.2f s', scalar(@in),
		$in[0]{t} - $l->{t}, $in[-1]{t} - $l->{t}, $l->{t} - $t0);
}
is($early, 0, "no request within Retry-After ($retry_after s) of a 429, beyond those under way"
	  . ($worst ? " ($worst)" : ''));
my %by_code;
push @{ $by_code{ request_code($_) } }, $_ for @reqs;
my $row_early = 0;
for my $list (values %by_code)
{
	for my $i (1 .. $#$list)
	{
		$row_early++
		  if ($list->[ $i - 1 ]{reply_status} // 0) == 429
		  && $list->[$i]{t} - $list->[ $i - 1 ]{t} < $retry_after;
	}
}
is($row_early, 0, 'each limited row retried no sooner than Retry-After');
my $last_429 = $limited[-1]{t};
my $rounds = 1;
$rounds++ for grep { $limited[$_]{t} > $limited[ $_ - 1 ]{t} + $slop } 1 .. $#limited;
note(sprintf('storm of %.0f s: %d requests, %d of them 429 in %d rounds; %d rows sent %.1f s after the'
		  . ' last 429, %.1f s in all; at most %d attempts for a row',
		$storm_ms / 1000, scalar(@reqs), scalar(@limited), $rounds, $n_storm, $drained - $last_429,
		$drained - $t0, $max));

# ---- 2. rate_limit over a window ----------------------------------------------
worker_conf($node, rate_limit => $rate);
fault_reset($mock);
my $warmup = 2;
my $n_rate = $rate * ($window + $warmup + 2);
note_load('before the rate-limited drain');
queue_numbered($node, 'r', $n_rate);
ok(wait_drained($node, 'r', $window + 120), "all $n_rate rate-limited rows final");
is(status_counts($node, 'r')->{sent} // 0, $n_rate, 'all sent');
@reqs = sort { $a->{t} <=> $b->{t} } @{ mock_requests($mock, '/v1/send/verify') };
my $from = $reqs[0]{t} + $warmup;
my $in_window = requests_between(\@reqs, $from, $from + $window);
my $expected = $rate * $window;
my $all_rate = (scalar(@reqs) - 1) / ($reqs[-1]{t} - $reqs[0]{t});
note(sprintf('rate_limit %d/s: %d requests in the %d s window from +%d s (%.1f/s, %+.1f%%);'
		  . ' %.1f/s over the whole drain of %d', $rate, $in_window, $window, $warmup,
		$in_window / $window, 100 * ($in_window - $expected) / $expected, $all_rate, scalar(@reqs)));
# the burst allowance (a second's worth) is spent at the start: the window
# opens after it
cmp_ok($in_window, '<=', $expected * 1.05 + 1, 'the pacing never runs ahead of rate_limit (+5%)');
my $low = $long ? 0.95 : 0.80;
cmp_ok($in_window, '>=', $expected * $low,
	sprintf('the worker keeps up with rate_limit (-%.0f%%)', 100 * (1 - $low)));
my $burst = requests_between(\@reqs, $reqs[0]{t}, $reqs[0]{t} + 1);
note("first second of the drain: $burst requests (burst allowance $rate)");
cmp_ok($burst, '<=', 2 * $rate + 1, 'the first second holds at most the burst plus a second');

is(scalar(crash_lines($node)), 0, 'no server process crashed');
stop_mock($mock);
$node->stop;
done_testing();
