# HTTPS against a local server with a private CA: verification is always
# on, so an untrusted certificate fails (08001, naming the certificate,
# never showing the API key), and sms_ir.ca_bundle makes it pass, for the
# synchronous functions and for the worker.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use SmsIrTest;

# a CA and a server certificate for localhost (DNS and IP SANs) signed by it
my $dir = PostgreSQL::Test::Utils::tempdir;
sub openssl
{
	my (@args) = @_;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ 'openssl', @args ], '>', \$stdout, '2>', \$stderr);
	die "openssl @args failed: $stderr" unless $ok;
	return;
}
openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
	'-subj', '/CN=sms_ir test CA', '-keyout', "$dir/ca.key", '-out', "$dir/ca.crt",
	'-addext', 'basicConstraints=critical,CA:TRUE',
	'-addext', 'keyUsage=critical,keyCertSign,cRLSign');
openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
	'-keyout', "$dir/server.key", '-out', "$dir/server.csr");
PostgreSQL::Test::Utils::append_to_file("$dir/server.ext",
	"subjectAltName = DNS:localhost, IP:127.0.0.1\n"
	  . "basicConstraints = CA:FALSE\n"
	  . "extendedKeyUsage = serverAuth\n");
openssl('x509', '-req', '-in', "$dir/server.csr", '-CA', "$dir/ca.crt",
	'-CAkey', "$dir/ca.key", '-CAcreateserial', '-days', '2',
	'-extfile', "$dir/server.ext", '-out', "$dir/server.crt");
ok(-s "$dir/server.crt", 'CA and server certificate generated');

my $mock = start_mock(tls_cert => "$dir/server.crt", tls_key => "$dir/server.key");
like($mock->{url}, qr{^https://localhost:\d+$}, 'mock listens with TLS');
my $node = new_sms_node('tls', $mock);

# untrusted: the synchronous call fails to connect, naming the certificate
my ($rc, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT sms_ir.sms_credit()");
isnt($rc, 0, 'sms_credit() fails against an untrusted certificate');
like($err, qr/ERROR:\s+08001:/, 'SQLSTATE 08001');
like($err, qr/certificate/i, 'the error names certificate verification');
unlike($err, qr/test-key/, 'the error does not contain the API key');
note("error: $err");

# trusted through sms_ir.ca_bundle, set in the session (superuser) ...
is( $node->safe_psql('postgres',
		"SET sms_ir.ca_bundle = '$dir/ca.crt'; SELECT sms_ir.sms_credit() > 0"),
	't', 'sms_credit() succeeds with ca_bundle set in the session');

# ... or for everybody with ALTER SYSTEM + reload (the worker too)
worker_conf($node, ca_bundle => "$dir/ca.crt");
is($node->safe_psql('postgres', 'SELECT sms_ir.sms_credit() > 0'),
	't', 'sms_credit() succeeds with ca_bundle from ALTER SYSTEM');

mock_reset($mock);
my $id = $node->safe_psql('postgres',
	"SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"tls\"}')");
ok( wait_until(
		sub { $node->safe_psql('postgres', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' },
		30),
	'the worker sends over verified HTTPS');
my $reqs = mock_requests($mock, '/v1/send/verify');
is(scalar(@$reqs), 1, 'one verify request reached the TLS mock');

# the worker without the CA: the row is retried, never sent, and its
# last_error names the certificate but not the key
worker_conf($node, ca_bundle => undef, max_attempts => 2);
mock_reset($mock);
$id = $node->safe_psql('postgres',
	"SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"untrusted\"}')");
ok( wait_until(
		sub { $node->safe_psql('postgres', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'failed' },
		30),
	'the worker gives up on an untrusted server');
my $last_error = $node->safe_psql('postgres', "SELECT last_error FROM sms_ir.outbox WHERE id = $id");
like($last_error, qr/certificate/i, 'last_error names the certificate');
unlike($last_error, qr/test-key/, 'last_error does not contain the API key');
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 0, 'no request got through');
worker_conf($node, max_attempts => undef);

unlike(slurp_file($node->logfile), qr/test-key/, 'the server log never shows the API key');

stop_mock($mock);
$node->stop;
done_testing();
