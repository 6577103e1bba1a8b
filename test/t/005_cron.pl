# A real pg_cron (postgresql-15-cron) job queues a bulk message; the worker
# sends it.  pg_cron >= 1.5 takes a '2 seconds' schedule; older versions
# run at most once a minute, so the wait is up to 70 s (plus a margin).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
# jobs run in background workers: the test cluster has no TCP listener for
# pg_cron's default libpq connection to localhost
my $node = new_sms_node(
	'cron', $mock, qq{
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
},
	preload => 'pg_cron,sms_ir');

sub sql { return $node->safe_psql('postgres', $_[0]); }

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker reaches idle');
sql('CREATE EXTENSION pg_cron');
my $version = sql("SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'");
my ($major, $minor) = $version =~ /^(\d+)\.(\d+)/;
my $seconds = $major > 1 || ($major == 1 && $minor >= 5);
my ($schedule, $wait) = $seconds ? ('2 seconds', 30) : ('* * * * *', 90);
note("pg_cron $version: schedule '$schedule', waiting up to $wait s");

mock_reset($mock);
my $job = sql(
	qq{SELECT cron.schedule('sms-ir-bulk', '$schedule',
  \$\$SELECT sms_ir.queue_bulk('Cron says hello', ARRAY['09121234567', '+989351234567'])\$\$)});
like($job, qr/^\d+$/, 'job scheduled');

ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/bulk') }) > 0 }, $wait),
	'the cron job\'s message reached the provider');
is(sql("SELECT cron.unschedule('sms-ir-bulk')"), 't', 'job unscheduled');

my $req = mock_requests($mock, '/v1/send/bulk')->[0];
is($req->{body}{messageText}, 'Cron says hello', 'bulk request carries the message');
is_deeply($req->{body}{mobiles}, [ '09121234567', '09351234567' ],
	'bulk request carries the mobiles, normalized');
is($req->{reply_status}, 200, 'the provider accepted it');
ok( wait_until(
		sub {
			sql("SELECT count(*) FROM cron.job_run_details WHERE jobid = $job AND status = 'succeeded'")
			  >= 1;
		},
		30),
	'pg_cron recorded a successful run');
ok( wait_until(
		sub {
			sql("SELECT count(*) FILTER (WHERE status = 'sent') = count(*) AND count(*) > 0"
				  . " FROM sms_ir.outbox WHERE kind = 'bulk'") eq 't';
		},
		30),
	'the outbox rows the job queued are sent');
is(sql("SELECT count(*) FROM cron.job WHERE jobname = 'sms-ir-bulk'"), '0', 'no job left');

stop_mock($mock);
$node->stop;
done_testing();
