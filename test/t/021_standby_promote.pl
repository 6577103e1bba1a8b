# A streaming standby promoted mid-drain.  A primary drains the outbox
# while more rows are queued in small transactions; a standby made with
# pg_basebackup -R streams from it, synchronously (synchronous_standby_names
# on the primary), so every commit the primary acknowledged is on the
# standby.  No sms_ir worker (nor launcher) runs on the standby while it is
# one.  The primary is killed with -9 mid-drain at the worst moment: its
# worker waits for the standby to confirm a record commit (the standby's
# WAL receiver stopped, the replication connection full), so that commit
# exists on the primary only.  Then the standby is promoted: an sms_ir
# worker appears on it without a restart, every row it has (every row whose
# commit the primary acknowledged among them) ends sent, each message
# reached the provider at least once, the duplicates are at most
# max_concurrency (the requests in flight or finished but not recorded on
# the standby when the primary died; see t/020), and pg_amcheck
# --heapallindexed finds the promoted node's outbox intact.  Both nodes
# talk to the same mock: its request log is what was sent.
#
# This caught the worker starting requests after its postmaster had died:
# postmaster death ends the wait for a synchronous standby early, the
# commit returned as if confirmed, and the pipeline filled the freed slots
# before it looked at the postmaster again -- requests the promoted
# standby then sent a second time, over max_concurrency.
#
# Printed: rows acknowledged before the kill, seconds from promotion to a
# worker, duplicates, time to drain.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use SmsIrTest;
use SmsIrChaos;

my $n = 2000;
my $concurrency = 8;
my $delay_ms = 30;

my $mock = start_mock();
my $primary = new_sms_node('primary', $mock,
	"sms_ir.max_concurrency = $concurrency\nsms_ir.timeout = '60s'\nsms_ir.max_attempts = 100\n"
	  . "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n");
ok(wait_until(sub { worker_state($primary) eq 'idle' }), 'primary: worker reaches idle');

# the standby: a base backup with -R (primary_conninfo in
# postgresql.auto.conf, standby.signal), connecting as application
# "standby"; it inherits the primary's configuration (preload, mock,
# secret file).  has_streaming writes the same into postgresql.conf, where
# postgresql.auto.conf overrides it.
{
	local $ENV{PGAPPNAME} = 'standby';
	$primary->backup('base', backup_options => ['-R']);
}
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# synchronous from now on (set after the backup: the promoted standby must
# not wait for a standby of its own)
$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'standby'\n");
$primary->reload;
ok( $primary->poll_query_until('postgres',
		"SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'standby'"),
	'the standby replicates synchronously');

# no sms_ir process on the standby (from the server and from ps)
sub standby_sms_processes
{
	my $stat = $standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'sms_ir%'");
	my @ps = sms_processes($standby->{_pid});
	return ($stat, scalar(@ps));
}

is(join('/', standby_sms_processes()), '0/0', 'standby: no sms_ir worker or launcher');

mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => $delay_ms, count => -1, match => '/v1/send/verify' });
my $log = log_new($mock);
my $t0 = time();
queue_numbered($primary, 's', $n);

# more rows, 10 per transaction, until the primary goes: each committed
# (acknowledged, so on the standby too) batch number is written to a file
my $acked_file = $primary->basedir . '/acked';
my $feeder = fork() // die "fork: $!";
if ($feeder == 0)
{
	open my $fh, '>', $acked_file or POSIX::_exit(1);
	$fh->autoflush(1);
	my @conn = ('psql', '-X', '-q', '-A', '-t', '-h', $primary->host, '-p', $primary->port, '-d', 'postgres', '-c');
	for my $b (1 .. 10_000)
	{
		my $sql = "SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 't${b}_' || g)))"
		  . " FROM generate_series(1, 10) g";
		last unless system(@conn, $sql) == 0;
		print $fh "$b\n";
		usleep(20_000);
	}
	close $fh;
	POSIX::_exit(0);	# no END blocks: the nodes are the parent's
}

# mid-drain: a quarter of the first rows' requests made
ok(wait_until(sub { mock_count($mock) >= $n / 4 }, 120), 'the primary drains');
is(join('/', standby_sms_processes()), '0/0', 'standby, mid-drain: still no sms_ir process');

# The primary dies while its commits wait for the standby, the moment a
# failover loses the most: the worker's record commit is on the primary
# only.  The next requests stall at the mock (8 s) with every slot busy;
# meanwhile the standby's WAL receiver is stopped (SIGSTOP) and the primary
# writes WAL enough to fill the replication connection, so the worker's
# record commit of the stalled rows can reach neither the standby nor its
# socket buffers.  It waits for the standby (SyncRep) until the kill.
my $stall_from = mock_count($mock);
mock_clear_faults($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 8000, count => -1, match => '/v1/send/verify' });
ok( wait_until(
		sub {
			my $since = mock_control($mock, 'GET', "/__mock/requests?since=$stall_from");
			return $concurrency <= grep { !defined $_->{reply_status} } @$since;
		},
		30),
	"every slot ($concurrency) holds a stalled request");
mock_clear_faults($mock);
my $walreceiver = $standby->safe_psql('postgres', 'SELECT pid FROM pg_stat_wal_receiver');
like($walreceiver, qr/^\d+$/, 'the standby has a WAL receiver');
is(kill('STOP', $walreceiver), 1, 'the WAL receiver is stopped');
$primary->safe_psql('postgres', q{
	BEGIN;
	SET LOCAL synchronous_commit = local;
	CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 32) AS x FROM generate_series(1, 8000) g;
	COMMIT;
});
ok( $primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'sms_ir worker' AND wait_event = 'SyncRep'"),
	'the worker waits for the standby to confirm its record commit');
my $before_kill = mock_count($mock);
my (undef, $kill_at) = kill9_postmaster($primary);
my $after_kill = mock_count($mock);
is(kill('CONT', $walreceiver), 1, 'the WAL receiver goes on (and finds the primary gone)');
ok(wait_until(sub { waitpid($feeder, POSIX::WNOHANG()) == $feeder }, 60), 'the feeder stops with the primary');
my @acked = do { open my $fh, '<', $acked_file or die $!; map { chomp; $_ } <$fh> };
note(sprintf("primary killed at request %d (%d once it was gone); %d rows + %d batches of 10 acknowledged",
	$before_kill, $after_kill, $n, scalar(@acked)));
cmp_ok(scalar(@acked), '>', 0, 'batches were acknowledged while the primary drained');
is(join('/', standby_sms_processes()), '0/0', 'standby, primary gone: still no sms_ir process');

my $promote_at = time();
$standby->promote;
my $promoted_at = time();
my ($pid, $start) = eval { worker_started_at($standby, undef, 60) };
ok(defined $pid, 'the promoted standby runs an sms_ir worker within 60 s, without a restart')
  or BAIL_OUT('no sms_ir worker after promotion');
diag(sprintf("promoted: an sms_ir worker (pid %d) %.1f s after pg_ctl promote was called, %.1f s after it returned",
	$pid, time() - $promote_at, time() - $promoted_at));

ok( wait_until(
		sub {
			my ($rc, $out) = $standby->psql('postgres',
				"SELECT count(*) FROM sms_ir.outbox WHERE status IN ('queued', 'sending')");
			return $rc == 0 && $out eq '0';
		},
		300),
	'promoted: every row reaches a final status');
my $drain_s = time() - $t0;

my $code_sql = "payload->'parameters'->0->>'value'";
my @rows = split /\n/, $standby->safe_psql('postgres', "SELECT $code_sql || '|' || status FROM sms_ir.outbox");
my %status = map { split /\|/ } @rows;
my @want = ((map { "s$_" } 1 .. $n), map { my $b = $_; map { "t${b}_$_" } 1 .. 10 } @acked);
is(scalar(grep { exists $status{$_} } @want), scalar(@want),
	'promoted: every row the primary acknowledged is there');
is(scalar(grep { $_ ne 'sent' } values %status), 0, 'promoted: every row is sent')
  or diag($standby->safe_psql('postgres', 'SELECT status, count(*) FROM sms_ir.outbox GROUP BY 1'));

log_sync($log);
my $codes = log_codes($log, '');
is(scalar(grep { $codes->{$_} } keys %status), scalar(keys %status),
	'each of its messages reached the provider at least once');
my ($dups, $unowed, $made) = dups_by_kill($log, '', [$start]);
diag(sprintf("promotion: %d rows, %d requests (%d by the primary, %d by the promoted standby), %d duplicates; %.1f s to drain",
	scalar(keys %status), $log->{requests}, $made->[0], $made->[1], $dups->[0], $drain_s));
is($unowed, 0, 'no duplicate but for the kill');
cmp_ok($dups->[0], '<=', $concurrency, "at most max_concurrency ($concurrency) duplicate requests")
  or diag(join("\n", map { "$_: " . join(' ', map { sprintf('%+.3f', $_ - $kill_at) } sort { $a <=> $b } @{ $log->{codes}{$_} }) }
	  sort grep { @{ $log->{codes}{$_} } > 1 } keys %{ $log->{codes} }));

my ($rc, $out, $indexes, $checked) = outbox_amcheck($standby);
note("pg_amcheck --heapallindexed sms_ir.outbox on the promoted node (indexes: $indexes)");
is($rc, 0, 'pg_amcheck exits 0') or diag($out);
is($out, '', 'pg_amcheck finds no corruption in the outbox or its indexes');
is($checked, $indexes, 'pg_amcheck checked every index of the outbox');

stop_mock($mock);
$standby->stop;
done_testing();
