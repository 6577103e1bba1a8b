# A half-open circuit breaker: rows checked while its one probe request is
# out wait for the probe's reply (about sms_ir.timeout), not for another
# whole cooldown, and a good probe lets them all go.  (They waited a full
# cooldown more: seen by the fault suites as 155 rows held an extra 30 s.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SmsIrTest;

my $cooldown = 10;    # seconds: far longer than a probe's timeout (1 s)
my $mock = start_mock();
my $node = new_sms_node('breaker_probe', $mock, qq{
sms_ir.timeout = '1s'
sms_ir.connect_timeout = '1s'
sms_ir.retry_base_delay = '100ms'
sms_ir.retry_max_delay = '200ms'
sms_ir.max_attempts = 100
sms_ir.breaker_failures = 3
sms_ir.breaker_cooldown = '${cooldown}s'
sms_ir.max_concurrency = 4
});

sub sql { return $node->safe_psql('postgres', $_[0]); }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');
mock_reset($mock);

# every send fails with a 500 until the breaker is open
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => -1 });
sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'h' || n))
        FROM generate_series(1, 8) n});
ok( wait_until(sub {
		sql("SELECT breaker FROM sms_ir.account_status() WHERE account = 'default'") eq 'open' }, 15),
	'the breaker opens');
mock_clear_faults($mock);
my $cleared = time();
my $before = scalar @{ mock_requests($mock, '/v1/send/verify') };

# after the cooldown one row probes (its reply closes the breaker); the rows
# checked in the same moment are held behind the probe
ok( wait_until(sub { sql("SELECT count(*) FROM sms_ir.outbox WHERE status <> 'sent'") == 0 },
		2 * $cooldown + 10),
	'every row sent after the cooldown');
my $reqs = mock_requests($mock, '/v1/send/verify');
my @after = @{$reqs}[ $before .. $#$reqs ];
cmp_ok(scalar @after, '>=', 8, 'each row reached the provider after the breaker opened');
my $first = $after[0]{t};
my $last = $after[-1]{t};
note(sprintf('probe %.2f s after the faults cleared; last row %.2f s after the probe (cooldown %d s)',
		$first - $cleared, $last - $first, $cooldown));
cmp_ok($last - $first, '<', $cooldown / 2,
	'the rows held behind the probe went within a probe timeout of it, not a cooldown later');
is(sql("SELECT breaker FROM sms_ir.account_status() WHERE account = 'default'"), 'closed',
	'the breaker closed');

done_testing();
