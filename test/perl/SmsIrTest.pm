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
  new_sms_node wait_until);

my $json = JSON::PP->new->canonical;
my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0);
my $mock_script = File::Spec->rel2abs(dirname(__FILE__) . '/../mock_provider.py');

# Start test/mock_provider.py on a free port; returns { pid, port, url }.
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
	return;
}

sub _control
{
	my ($mock, $method, $path, $body) = @_;
	# a TLS mock is controlled over TLS too; HTTP::Tiny skips verification here
	my $base = $mock->{url} =~ /^https/ ? $mock->{url} : $mock->{control};
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

# A started cluster with sms_ir preloaded and pointed at $mock; the
# extension is created in database "postgres" (the worker's database).
sub new_sms_node
{
	my ($name, $mock, $extra_conf, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $preload = $opts{preload} // 'sms_ir';
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = '$preload'
sms_ir.base_url = '$mock->{url}'
sms_ir.api_key = 'test-key'
sms_ir.line_number = '30004505000017'
sms_ir.retry_base_delay = '100ms'
sms_ir.retry_max_delay = '1s'
sms_ir.timeout = '2s'
log_min_messages = log
} . ($extra_conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION sms_ir')
	  unless $opts{no_extension};
	return $node;
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

1;
