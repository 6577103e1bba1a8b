# SmsIrChaos.pm -- helpers for the sms_ir kill/promote fault suites
# (t/020, t/021): killing the worker or the postmaster with SIGKILL and
# waiting for what is left of them, reading the mock's request log
# incrementally, telling which kill each duplicate request is owed to, and
# pg_amcheck of the outbox.
#
# Duplicates and kills.  Without a kill the mock in these tests never makes
# the worker send a row twice (every reply is a success, the timeout is far
# beyond the mock's delay).  So every request of a row after its first is
# owed to a kill: the first one after its previous request, which took the
# record of that request with it.  A kill ends the worker's life; the next
# worker's backend_start (same clock as the mock's request times, both on
# this machine) is the boundary: requests logged before it were made by an
# earlier worker.
package SmsIrChaos;

use strict;
use warnings;
use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use SmsIrTest;

our @EXPORT = qw(pm_children kill9_worker kill9_postmaster worker_started_at
  log_new log_sync log_codes dups_by_kill outbox_amcheck sms_processes);

# pids of a postmaster's children
sub pm_children
{
	my ($ppid) = @_;
	return grep { /^\d+$/ } map { s/\s+//gr } `ps -o pid= --ppid $ppid`;
}

# The "sms_ir ..." processes among a postmaster's children (from ps, not
# from the server): "pid title" lines.
sub sms_processes
{
	my ($ppid) = @_;
	return grep { /sms_ir/ } map { s/^\s+|\s+$//gr } `ps -o pid=,args= --ppid $ppid`;
}

# kill -9 the sms_ir worker of $node; returns its pid once it is gone
# (dies if there is no worker or it does not go).
sub kill9_worker
{
	my ($node) = @_;
	my $pid = worker_pid($node);
	die "no sms_ir worker to kill" unless $pid =~ /^\d+$/;
	kill(9, $pid) == 1 or die "kill -9 $pid: $!";
	wait_pids_gone([$pid], 60) or die "worker $pid still there after kill -9";
	return $pid;
}

# kill -9 the postmaster of $node, then wait until every child is gone
# and the postmaster itself is reaped (a new postmaster takes the lock file
# only then).  Returns the seconds the last child took to go, and the time
# of the kill.
sub kill9_postmaster
{
	my ($node) = @_;
	my $pm = $node->{_pid} // die "node is not running";
	my @children = pm_children($pm);
	my $t0 = time();
	$node->kill9;
	wait_pids_gone(\@children, 120)
	  or die "postmaster children still there 120 s after kill -9";
	my $gone = time() - $t0;
	wait_until(sub { !kill(0, $pm) }, 120) or die "postmaster $pm not reaped";
	return ($gone, $t0);
}

# Wait for an sms_ir worker other than $old_pid on $node (queries retried
# while the server restarts); returns (pid, backend_start as epoch seconds,
# seconds waited).
sub worker_started_at
{
	my ($node, $old_pid, $secs) = @_;
	my $t0 = time();
	my ($pid, $start);
	wait_until(
		sub {
			my ($rc, $out) = $node->psql('postgres',
				"SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity"
				  . " WHERE backend_type = 'sms_ir worker'");
			return 0 unless $rc == 0 && $out =~ /^(\d+)\|([\d.]+)$/;
			return 0 if defined $old_pid && $1 eq $old_pid;
			($pid, $start) = ($1, $2);
			return 1;
		},
		$secs // 120) or die "no new sms_ir worker within " . ($secs // 120) . " s";
	return ($pid, $start, time() - $t0);
}

# An incremental reader of the mock's log of verify requests:
# { mock, seq (last read), codes => { code => [ request time, ... ] } }.
sub log_new
{
	my ($mock) = @_;
	return { mock => $mock, seq => 0, codes => {}, requests => 0 };
}

# Read the requests logged since the last call.
sub log_sync
{
	my ($log) = @_;
	my $new = mock_control($log->{mock}, 'GET', "/__mock/requests?since=$log->{seq}");
	for my $r (@$new)
	{
		$log->{seq} = $r->{seq} if $r->{seq} > $log->{seq};
		next unless index($r->{path}, '/v1/send/verify') == 0;
		my $code = request_code($r) // next;
		push @{ $log->{codes}{$code} }, $r->{t};
		$log->{requests}++;
	}
	return $log;
}

# code => how many requests, for codes starting with $prefix
sub log_codes
{
	my ($log, $prefix) = @_;
	my %n;
	for my $code (keys %{ $log->{codes} })
	{
		$n{$code} = scalar @{ $log->{codes}{$code} } if index($code, $prefix) == 0;
	}
	return \%n;
}

# Duplicate requests per kill.  @$boundaries: for each kill in order, the
# backend_start of the worker after it.  Returns (\@dups, $unowed, \@made):
# $dups[k] is how many requests are owed to kill k+1 (a request whose row's
# previous request was made before boundary k+1 and at or after boundary k),
# $unowed the duplicates no kill explains (a row sent twice by the same
# worker), $made[k] the requests made between boundaries k and k+1.
sub dups_by_kill
{
	my ($log, $prefix, $boundaries) = @_;
	my @dups = (0) x @$boundaries;
	my @made = (0) x (@$boundaries + 1);
	my $unowed = 0;
	my $life = sub {
		my ($t) = @_;
		my $k = 0;
		$k++ while $k < @$boundaries && $t >= $boundaries->[$k];
		return $k;
	};
	for my $code (keys %{ $log->{codes} })
	{
		next unless index($code, $prefix) == 0;
		my @t = sort { $a <=> $b } @{ $log->{codes}{$code} };
		$made[ $life->($_) ]++ for @t;
		for my $i (1 .. $#t)
		{
			my ($prev, $cur) = ($life->($t[ $i - 1 ]), $life->($t[$i]));
			if ($cur > $prev) { $dups[$prev]++; }
			else { $unowed++; }
		}
	}
	return (\@dups, $unowed, \@made);
}

# pg_amcheck --heapallindexed of sms_ir.outbox and its indexes on $node:
# (exit code, stdout (the corruption found), the outbox's indexes, the
# outbox indexes pg_amcheck says it checked), index lists sorted and
# comma-separated.
sub outbox_amcheck
{
	my ($node) = @_;
	$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS amcheck');
	my $indexes = $node->safe_psql('postgres',
		"SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text)"
		  . " FROM pg_index WHERE indrelid = 'sms_ir.outbox'::regclass");
	my ($stdout, $stderr);
	my $ok = IPC::Run::run(
		[
			'pg_amcheck', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
			'--heapallindexed', '--verbose', '--table', 'sms_ir.outbox'
		],
		'>', \$stdout, '2>', \$stderr);
	my $checked = join(', ', sort $stderr =~ /checking btree index "postgres\.(sms_ir\.[^"]+)"/g);
	return ($ok ? 0 : $? >> 8, $stdout, $indexes, $checked);
}

1;
