# SmsIrFault.pm -- helpers shared by the fault suites (t/022 .. t/026):
# a provider outage (the mock refusing connections), the outbox's state per
# code prefix, waits for a drain, the server log's crash lines, and the
# numbers those suites print (rates, machine load).
#
# Built on SmsIrTest.pm (queue_numbered's "code" tags); SMS_IR_CHAOS_LONG=1
# selects each suite's long variant (chaos_long).
package SmsIrFault;

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use Time::HiRes qw(time usleep);
use SmsIrTest;

our @EXPORT = qw(fault_reset chaos_long loadavg mock_refuse mock_listening status_counts
  wait_drained unfinished max_attempts_used lost_rows crash_lines note_load
  requests_between outbox_indexes_ok);

# The long variant (the issue's full sizes) when SMS_IR_CHAOS_LONG=1.
sub chaos_long { return ($ENV{SMS_IR_CHAOS_LONG} // '') eq '1'; }

# mock_reset, and credit enough for the long variants' drains (the sms.ir
# mock starts with 10,000 and answers 102, out of credit, after that).
sub fault_reset
{
	my ($mock) = @_;
	mock_reset($mock);
	mock_control($mock, 'POST', '/__mock/credit', { credit => 1e9 });
	return;
}

# /proc/loadavg's 1-minute load, for the printed numbers.
sub loadavg
{
	open(my $fh, '<', '/proc/loadavg') or return '?';
	my ($one) = split / /, scalar <$fh>;
	close $fh;
	return $one;
}

# A note line "what: load L at HH:MM:SS UTC".
sub note_load
{
	my ($what) = @_;
	my @t = gmtime();
	Test::More::note(sprintf('%s: load %s at %02d:%02d:%02d UTC', $what, loadavg(), @t[ 2, 1, 0 ]));
	return;
}

# Does the mock's port accept a TCP connection now?
sub mock_listening
{
	my ($mock) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $mock->{port},
		Proto => 'tcp', Timeout => 2);
	return 0 unless $s;
	close $s;
	return 1;
}

# The mock refuses every connection for $ms ms (/__mock/refuse); returns
# once connections are refused (the time that began), or dies.
sub mock_refuse
{
	my ($mock, $ms) = @_;
	mock_control($mock, 'POST', '/__mock/refuse', { ms => $ms });
	wait_until(sub { !mock_listening($mock) }, 10)
	  or die 'the mock kept accepting connections';
	return time();
}

# status => count of the rows coded $prefix* (one query).
sub status_counts
{
	my ($node, $prefix) = @_;
	my $out = query_retry($node, 'postgres',
		"SELECT status, count(*) FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' LIKE '$prefix%'"
		  . ' GROUP BY status');
	my %c;
	for (split /\n/, $out // '')
	{
		my ($s, $n) = split /\|/;
		$c{$s} = $n;
	}
	return \%c;
}

# How many rows coded $prefix* are still queued or sending ('' while the
# server cannot answer).
sub unfinished
{
	my ($node, $prefix) = @_;
	my ($rc, $out) = $node->psql('postgres',
		"SELECT count(*) FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' LIKE '$prefix%'"
		  . " AND status IN ('queued', 'sending')");
	return $rc == 0 ? $out : '';
}

# Wait (at most $secs) until no row coded $prefix* is queued or sending.
sub wait_drained
{
	my ($node, $prefix, $secs) = @_;
	return wait_until(sub { unfinished($node, $prefix) eq '0' }, $secs);
}

# The most attempts any row coded $prefix* used.
sub max_attempts_used
{
	my ($node, $prefix) = @_;
	return query_retry($node, 'postgres',
		"SELECT coalesce(max(attempts), 0) FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' LIKE '$prefix%'");
}

# The codes "$prefix1" .. "$prefix$n" that have no outbox row.
sub lost_rows
{
	my ($node, $prefix, $n) = @_;
	my $out = query_retry($node, 'postgres',
		"SELECT count(*) FROM generate_series(1, $n) g WHERE NOT EXISTS (SELECT 1 FROM sms_ir.outbox"
		  . " WHERE payload->'parameters'->0->>'value' = '$prefix' || g)");
	return $out;
}

# Lines of $node's server log that tell of a crash: a server process
# terminated by a signal, or exiting with a code other than the FATAL
# exit (1) of a terminated backend or bgworker.
sub crash_lines
{
	my ($node) = @_;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
	return grep {
		/terminated by signal|was terminated by exception|PANIC:/
		  || (/exited with exit code (\d+)/ && $1 != 1)
	} split /\n/, $log;
}

# amcheck's bt_index_check (heapallindexed) of every outbox index: the
# number of indexes checked (an ERROR if one is corrupt).
sub outbox_indexes_ok
{
	my ($node) = @_;
	query_retry($node, 'postgres', 'CREATE EXTENSION IF NOT EXISTS amcheck');
	return query_retry($node, 'postgres',
		"SELECT count(bt_index_check(indexrelid, true)) FROM pg_index"
		  . " WHERE indrelid = 'sms_ir.outbox'::regclass");
}

# Logged provider requests (path prefix $prefix) with $from <= t < $to.
sub requests_between
{
	my ($reqs, $from, $to) = @_;
	return scalar grep { $_->{t} >= $from && $_->{t} < $to } @$reqs;
}

1;
