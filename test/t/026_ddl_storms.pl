# Storms of DDL, signals and reloads while the worker drains:
#  1. DROP EXTENSION sms_ir / CREATE EXTENSION sms_ir, again and again, each
#     time mid-drain: every DROP succeeds in bounded time (the worker never
#     blocks it), the worker comes back after each CREATE and drains what
#     is queued then; the rows queued after the last CREATE all end sent.
#  2. pg_terminate_backend of the worker, and of the launcher, repeatedly
#     during a drain: each comes back within a bounded wait, never two
#     workers at once, every row queued before the storm ends final (sent),
#     none lost, none over max_attempts; duplicates printed.
#  3. ALTER SYSTEM SET of sms_ir settings + pg_reload_conf() in a tight
#     loop (a bounded count) during a drain: the same worker throughout,
#     every row sent, none lost.
# Throughout: the server never crashes (no "terminated by signal", no
# server process exiting with a code other than the FATAL exit 1 of a
# terminated backend or worker), and the outbox indexes pass amcheck.
# Default: 5 DROP/CREATE cycles, 4 rounds of terminations over 3,000 rows,
# 500 reloads over 2,000 rows (about 60 s).  SMS_IR_CHAOS_LONG=1: 20 cycles,
# 12 rounds over 10,000 rows, 3,000 reloads over 10,000 rows.
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
my $cycles = $long ? 20 : 5;
my $rounds = $long ? 12 : 4;
my $n_term = $long ? 10_000 : 3000;
my $reloads = $long ? 3000 : 500;
my $n_reload = $long ? 10_000 : 2000;
my $max_attempts = 10;

my $mock = start_mock();
my $node = new_sms_node('storms', $mock, qq{
sms_ir.max_attempts = $max_attempts
sms_ir.max_concurrency = 8
});

sub sql { return query_retry($node, 'postgres', $_[0]); }

sub pids_of
{
	my ($type) = @_;
	my ($rc, $out) = $node->psql('postgres',
		"SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = '$type'");
	return $rc == 0 ? $out : '';
}

ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');
# each request takes 5 ms: the drains last long enough for the storms
fault_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 5, count => -1, match => '/v1/send/verify' });

# ---- 1. DROP / CREATE EXTENSION mid-drain -------------------------------------
note_load('before the DROP/CREATE storm');
my ($drops_ok, $back_ok, $max_drop, $max_back) = (0, 0, 0, 0);
for my $i (1 .. $cycles)
{
	queue_numbered($node, "x${i}_", 1000);
	wait_until(sub { count_numbered($node, "x${i}_", 'sent') > 0 }, 30);
	my $t0 = time();
	my ($rc, $out, $err) = $node->psql('postgres', 'DROP EXTENSION sms_ir', timeout => 60);
	my $took = time() - $t0;
	$max_drop = $took if $took > $max_drop;
	if ($rc == 0) { $drops_ok++; }
	else { diag("cycle $i: DROP EXTENSION failed: $err"); }
	sql('CREATE EXTENSION sms_ir');
	$t0 = time();
	# the worker finds the new outbox: a row queued now is sent
	my $id = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code": "xback"}')});
	if (wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 60))
	{
		$back_ok++;
		$took = time() - $t0;
		$max_back = $took if $took > $max_back;
	}
}
is($drops_ok, $cycles, "every DROP EXTENSION mid-drain succeeded ($cycles cycles)");
is($back_ok, $cycles, 'after every CREATE EXTENSION the worker sends again');
note(sprintf('DROP/CREATE: %d cycles; DROP EXTENSION took %.2f s at most, the first row after CREATE sent within %.2f s',
	$cycles, $max_drop, $max_back));
queue_numbered($node, 'xlast', 1000);
ok(wait_drained($node, 'xlast', 120), 'rows queued after the last CREATE drain');
is(status_counts($node, 'xlast')->{sent} // 0, 1000, 'all 1000 sent');
is(lost_rows($node, 'xlast', 1000), '0', 'none lost');
# 20 ms a request from here on (8 in flight: 400/s), so that the drains
# outlast the terminations and the reloads
fault_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 20, count => -1, match => '/v1/send/verify' });

# ---- 2. pg_terminate_backend of worker and launcher ---------------------------
note_load('before the terminations');
queue_numbered($node, 't', $n_term);
my $retried0 = sql('SELECT retried FROM sms_ir.worker_status()');
my ($worker_back, $launcher_back, $two_workers) = (0, 0, 0);
my ($max_wback, $max_lback) = (0, 0);
my ($launcher_kills, $mid_drain) = (0, 0);
for my $r (1 .. $rounds)
{
	# mid-drain
	wait_until(sub { count_numbered($node, 't', 'sent') >= $r * $n_term / ($rounds + 2) }, 60);
	my $left = unfinished($node, 't');
	$mid_drain++ if $left ne '' && $left > 0;
	my $w = pids_of('sms_ir worker');
	my $l = pids_of('sms_ir launcher');
	my $kill_launcher = $r % 2 == 0;
	sql("SELECT pg_terminate_backend($l)") if $kill_launcher && $l ne '';
	$launcher_kills++ if $kill_launcher;
	sql("SELECT pg_terminate_backend($w)") if $w ne '';
	my $t0 = time();
	if (wait_until(sub { my $p = pids_of('sms_ir worker'); $two_workers++ if $p =~ /,/; $p ne '' && $p ne $w }, 60))
	{
		$worker_back++;
		$max_wback = time() - $t0 if time() - $t0 > $max_wback;
	}
	if ($kill_launcher)
	{
		if (wait_until(sub { my $p = pids_of('sms_ir launcher'); $p ne '' && $p ne $l }, 60))
		{
			$launcher_back++;
			$max_lback = time() - $t0 if time() - $t0 > $max_lback;
		}
		# the new launcher finds the worker running: still exactly one
		wait_until(sub { my $p = pids_of('sms_ir worker'); $two_workers++ if $p =~ /,/; 0 }, 2);
	}
}
is($worker_back, $rounds, "the worker came back after each of $rounds terminations");
is($launcher_back, $launcher_kills, "the launcher came back after each of $launcher_kills terminations");
is($two_workers, 0, 'never two workers at once');
is($mid_drain, $rounds, 'every termination came mid-drain');
note(sprintf('terminations: worker back within %.2f s, launcher within %.2f s', $max_wback, $max_lback));
ok(wait_drained($node, 't', 300), 'every row queued before the terminations ends final');
my $c = status_counts($node, 't');
is($c->{sent} // 0, $n_term, "all $n_term sent");
is(lost_rows($node, 't', $n_term), '0', 'none lost');
my $max = max_attempts_used($node, 't');
cmp_ok($max, '<=', $max_attempts, "none over max_attempts ($max at most)");
my $seen = mock_codes($mock, 't');
my $dups = 0;
$dups += $_ - 1 for values %$seen;
note("terminations: $dups duplicate requests over $rounds worker terminations (max_concurrency 8)");
cmp_ok($dups, '<=', $rounds * 2 * 8, 'duplicates at most the requests in flight plus one record window a termination');
is(pids_of('sms_ir worker') =~ tr/,//, 0, 'one worker at the end');

# ---- 3. ALTER SYSTEM + reload in a tight loop ------------------------------------
fault_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 20, count => -1, match => '/v1/send/verify' });
note_load('before the reload storm');
my $w = pids_of('sms_ir worker');
queue_numbered($node, 'c', $n_reload);
my @settings = (
	[ 'batch_size', '50', '200' ],
	[ 'max_concurrency', '2', '8' ],
	[ 'rate_limit', '500', '0' ],
	[ 'poll_interval', '200ms', '1s' ],
	[ 'retry_base_delay', '50ms', '100ms' ],
	[ 'timeout', '3s', '2s' ],
	[ 'max_attempts', '8', "$max_attempts" ]);
my $ps = $node->background_psql('postgres', on_error_stop => 0);
my $t0 = time();
my $errors = 0;
for my $i (1 .. $reloads)
{
	my $s = $settings[ $i % @settings ];
	my $v = $s->[ 1 + int($i / @settings) % 2 ];
	my $out = $ps->query("ALTER SYSTEM SET sms_ir.$s->[0] = '$v'");
	$out = $ps->query('SELECT pg_reload_conf()');
	$errors++ unless ($out // '') eq 't';
}
my $storm_secs = time() - $t0;
my $left = unfinished($node, 'c');
$ps->query("ALTER SYSTEM RESET sms_ir.$_->[0]") for @settings;
$ps->query('SELECT pg_reload_conf()');
$ps->quit;
is($errors, 0, "$reloads reloads done");
note(sprintf('%d ALTER SYSTEM + reloads in %.1f s, %s of %d rows still to send after them', $reloads, $storm_secs, $left, $n_reload));
cmp_ok($left, '>', 0, 'the reloads came mid-drain');
ok(wait_drained($node, 'c', 300), 'every row queued before the reload storm ends final');
is(status_counts($node, 'c')->{sent} // 0, $n_reload, "all $n_reload sent");
is(lost_rows($node, 'c', $n_reload), '0', 'none lost');
is(pids_of('sms_ir worker'), $w, 'the same worker throughout the reloads');

# ---- the server never crashed --------------------------------------------------
is(outbox_indexes_ok($node), sql("SELECT count(*) FROM pg_index WHERE indrelid = 'sms_ir.outbox'::regclass"),
	'every outbox index passes amcheck');
my @crashes = crash_lines($node);
is(scalar(@crashes), 0, 'no server process crashed') or diag(join("\n", @crashes[ 0 .. ($#crashes < 9 ? $#crashes : 9) ]));
like(PostgreSQL::Test::Utils::slurp_file($node->logfile), qr/terminating background worker "sms_ir worker" due to administrator command/,
	'the terminations were the expected FATAL');
note_load('at the end');

stop_mock($mock);
$node->stop;
done_testing();
