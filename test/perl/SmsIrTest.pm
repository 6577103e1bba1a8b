# SmsIrTest.pm -- helpers for the sms_ir TAP tests: a mock provider process,
# a cluster with sms_ir preloaded, and polling helpers.
package SmsIrTest;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(start_mock stop_mock mock_reset mock_requests mock_count mock_fault
  mock_clear_faults new_sms_node wait_until worker_conf worker_state worker_pid
  query_retry wait_pids_gone request_code secret_file queue_numbered count_numbered
  mock_codes);

my $json = JSON::PP->new->canonical;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
my $mock_script = File::Spec->rel2abs(dirname(__FILE__) . '/../mock');

# mocks still running (pid => its pipe); killed at exit too (a bailed-out
# test would otherwise wait forever on the mock's pipe).  The pipe is kept
# here as well: a die unwinds the test's lexicals before END blocks run, and
# closing the test's last copy of the pipe waits for a mock not yet killed.
my %running_mocks;

END
{
	kill 'TERM', keys %running_mocks if %running_mocks;
}

# Start the mock (test/mock) on a free port; returns { pid, port, url }.
sub start_mock
{
	my (%opts) = @_;
	my @cmd = ('python3', $mock_script, '--port', '0', '--quiet');
	push @cmd, '--tls-cert', $opts{tls_cert}, '--tls-key', $opts{tls_key}
	  if $opts{tls_cert};
	my $pid = open(my $out, '-|', @cmd) // die "cannot start mock: $!";
	my $line = <$out>;
	die "mock did not start" unless defined $line && $line =~ /^READY (\d+)/;
	my $port = $1;
	$running_mocks{$pid} = $out;
	my $scheme = $opts{tls_cert} ? 'https' : 'http';
	return {
		pid => $pid,
		port => $port,
		fh => $out,
		url => "$scheme://" . ($opts{tls_cert} ? 'localhost' : '127.0.0.1') . ":$port",
		control => "http://127.0.0.1:$port",
	};
}

sub stop_mock
{
	my ($mock) = @_;
	kill 'TERM', $mock->{pid};
	close $mock->{fh};
	delete $running_mocks{ $mock->{pid} };
	return;
}

sub _control
{
	my ($mock, $method, $path, $body) = @_;
	# a TLS mock is controlled over TLS too; HTTP::Tiny skips verification
	# here (and needs IO::Socket::SSL for https, so fall back to curl(1))
	my $base = $mock->{url} =~ /^https/ ? $mock->{url} : $mock->{control};
	return _control_curl($base, $method, $path, $body)
	  if $base =~ /^https/ && !HTTP::Tiny->can_ssl;
	my $res = HTTP::Tiny->new(timeout => 30, verify_SSL => 0)->request(
		$method,
		"$base$path",
		{
			headers => { 'Content-Type' => 'application/json' },
			defined $body ? (content => $json->encode($body)) : ()
		});
	die "mock $method $path: $res->{status} $res->{content}"
	  unless $res->{success};
	return $json->decode($res->{content});
}

# The same through curl(1) with --insecure, for a TLS mock without IO::Socket::SSL.
sub _control_curl
{
	my ($base, $method, $path, $body) = @_;
	my @cmd = ('curl', '-sS', '--insecure', '--max-time', '30', '-X', $method,
		'-H', 'Content-Type: application/json', '-w', '\n%{http_code}');
	push @cmd, '--data-binary', $json->encode($body) if defined $body;
	open(my $fh, '-|', @cmd, "$base$path") // die "cannot run curl: $!";
	my $out = do { local $/; <$fh> };
	close $fh;
	my ($content, $code) = $out =~ /\A(.*)\n(\d+)\z/s
	  or die "mock $method $path: curl failed";
	die "mock $method $path: $code $content" unless $code =~ /^2/;
	return $json->decode($content);
}

sub mock_reset { my ($m) = @_; return _control($m, 'POST', '/__mock/reset'); }

# Logged requests, optionally only those whose path starts with $prefix.
sub mock_requests
{
	my ($m, $prefix) = @_;
	my $all = _control($m, 'GET', '/__mock/requests');
	return [ grep { !defined $prefix || index($_->{path}, $prefix) == 0 } @$all ];
}

sub mock_count { my ($m) = @_; return _control($m, 'GET', '/__mock/count')->{count}; }

sub mock_fault { my ($m, $spec) = @_; return _control($m, 'POST', '/__mock/fault', $spec); }

sub mock_clear_faults { my ($m) = @_; return _control($m, 'DELETE', '/__mock/fault'); }

# The first parameter value of a logged verify request (tests use it as a tag).
sub request_code
{
	my ($req) = @_;
	my $b = $req->{body};
	return undef unless ref $b eq 'HASH' && ref $b->{parameters} eq 'ARRAY';
	return $b->{parameters}[0]{value};
}

# Write $value into a secret file beside $node's data directory, readable
# by the server's user only; returns its path.
sub secret_file
{
	my ($node, $name, $value, $mode) = @_;
	my $dir = $node->basedir . '/secrets';
	mkdir $dir, 0700 unless -d $dir;
	my $path = "$dir/$name";
	open my $fh, '>', $path or die "$path: $!";
	print $fh "$value\n";
	close $fh;
	chmod($mode // 0600, $path) or die "chmod $path: $!";
	return $path;
}

# A started cluster with sms_ir preloaded and pointed at $mock; the
# extension is created in database "postgres" (the worker's database).
# backup_line => LINE adds account "backup" (smsafzar, that line) as the
# default account's fallback.
sub new_sms_node
{
	my ($name, $mock, $extra_conf, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $preload = $opts{preload} // 'sms_ir';
	# the recommended setup: the API key by file reference (see secret_file)
	my $key_file = secret_file($node, 'api_key', 'test-key');
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = '$preload'
sms_ir.base_url = '$mock->{url}'
sms_ir.api_key = 'file:$key_file'
sms_ir.line_number = '30004505000017'
sms_ir.retry_base_delay = '100ms'
sms_ir.retry_max_delay = '1s'
sms_ir.timeout = '2s'
# fault tests count every retry: no circuit breaker unless a test sets one (t/015)
sms_ir.breaker_failures = 1000
# drains queue thousands of codes to a few mobiles: no OTP throttle unless a test sets one (t/018)
sms_ir.recipient_limit = '0'
# tests count requests: no inbox polls unless a test sets inbox_poll (t/017)
sms_ir.inbox_poll = 0
log_min_messages = log
} . (defined $opts{backup_line} ? qq{
# account "backup": smsafzar on the same mock, the default account's fallback
sms_ir.accounts = 'backup'
sms_ir.backup_provider = 'smsafzar'
sms_ir.backup_base_url = '$mock->{url}'
sms_ir.backup_api_key = 'file:$key_file'
sms_ir.backup_line_number = '$opts{backup_line}'
sms_ir.fallback = 'backup'
} : '') . ($extra_conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION sms_ir')
	  unless $opts{no_extension};
	return $node;
}

# worker_status() state, from database $db (default postgres); '' if the
# query fails (server restarting, extension missing).
sub worker_state
{
	my ($node, $db) = @_;
	my ($rc, $out) = $node->psql($db // 'postgres',
		'SELECT state FROM sms_ir.worker_status()');
	return $rc == 0 ? $out : '';
}

# pid of the "sms_ir worker" from pg_stat_activity, or '' if none.
sub worker_pid
{
	my ($node) = @_;
	my ($rc, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'");
	return $rc == 0 ? $out : '';
}

# Run $sql until it succeeds (say, while the server restarts); its output.
sub query_retry
{
	my ($node, $db, $sql, $secs) = @_;
	my $out;
	wait_until(
		sub {
			my ($rc, $o) = $node->psql($db, $sql);
			$out = $o if $rc == 0;
			return $rc == 0;
		},
		$secs // 60) or die "query kept failing: $sql";
	return $out;
}

# Change worker settings and wait until the worker has read them.
# %set: setting (without the sms_ir. prefix) => value, undef to RESET.
# A reload is asynchronous, so the worker is paused through the same
# reload (state 'paused' proves it read the file), then resumed, unless
# the caller sets worker_enabled itself to off.
sub worker_conf
{
	my ($node, %set) = @_;
	my $db = delete $set{_db} // 'postgres';
	my $enabled = exists $set{worker_enabled} ? delete $set{worker_enabled} : undef;
	for my $k (sort keys %set)
	{
		$node->safe_psql('postgres',
			defined $set{$k}
			? "ALTER SYSTEM SET sms_ir.$k = '$set{$k}'"
			: "ALTER SYSTEM RESET sms_ir.$k");
	}
	$node->safe_psql('postgres', "ALTER SYSTEM SET sms_ir.worker_enabled = off");
	$node->safe_psql('postgres', "SELECT pg_reload_conf()");
	wait_until(sub { worker_state($node, $db) eq 'paused' }, 60)
	  or die "worker did not pause after reload";
	return if defined $enabled && $enabled =~ /^(off|false|0)$/;
	$node->safe_psql('postgres',
		defined $enabled
		? "ALTER SYSTEM SET sms_ir.worker_enabled = '$enabled'"
		: "ALTER SYSTEM RESET sms_ir.worker_enabled");
	$node->safe_psql('postgres', "SELECT pg_reload_conf()");
	wait_until(sub { my $s = worker_state($node, $db); $s ne 'paused' && $s ne '' }, 60)
	  or die "worker did not resume after reload";
	return;
}

# Wait until none of @$pids is alive (gone or a zombie); true on success.
sub wait_pids_gone
{
	my ($pids, $secs) = @_;
	return wait_until(
		sub {
			for my $pid (@$pids)
			{
				next unless kill(0, $pid);
				# a zombie no longer holds anything (nobody may reap it here)
				open(my $fh, '<', "/proc/$pid/stat") or next;
				my $stat = <$fh>;
				close $fh;
				return 0 unless defined $stat && $stat =~ /\) Z /;
			}
			return 1;
		},
		$secs // 60);
}

# Poll $check (a sub returning true when done) for up to $secs seconds.
sub wait_until
{
	my ($check, $secs) = @_;
	my $deadline = time() + ($secs // 30);
	while (time() < $deadline)
	{
		return 1 if $check->();
		usleep(50_000);
	}
	return $check->() ? 1 : 0;
}

# Tests that count requests per row tag each verify row with code
# PREFIX || n (its first parameter, payload->'parameters'->0->>'value').
my $code_sql = "payload->'parameters'->0->>'value'";

# Queue $n verify rows coded "$prefix1" .. "$prefix$n" in one statement
# (retried while the server restarts).
sub queue_numbered
{
	my ($node, $prefix, $n) = @_;
	query_retry($node, 'postgres',
		    "SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', '$prefix' || g)))"
		  . " FROM generate_series(1, $n) g");
	return;
}

# How many rows coded $prefix* have $status.
sub count_numbered
{
	my ($node, $prefix, $status) = @_;
	return query_retry($node, 'postgres',
		"SELECT count(*) FROM sms_ir.outbox WHERE $code_sql LIKE '$prefix%' AND status = '$status'");
}

# code => how many verify requests coded $prefix* the mock received.
sub mock_codes
{
	my ($mock, $prefix) = @_;
	my %seen;
	for my $r (@{ mock_requests($mock, '/v1/send/verify') })
	{
		my $code = request_code($r) // next;
		$seen{$code}++ if index($code, $prefix) == 0;
	}
	return \%seen;
}

# A provider module's own control endpoint (e.g. POST /__mock/credit
# {"credit": 0} for sms.ir): its decoded JSON reply.
push @EXPORT, qw(mock_control);

sub mock_control
{
	my ($m, $method, $path, $body) = @_;
	return _control($m, $method, $path, $body);
}

1;
