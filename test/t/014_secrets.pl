# Secrets by reference: a 'file:' secret works with and without preload and
# is re-read when the file changes; a file others can read is refused; an
# inline secret without preload is refused (any role could read it); no
# role but a superuser, and no log line, ever sees the value.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $key = 'test-key';

# no shared_preload_libraries: the sync functions load the library on first use
my $node = new_sms_node('nopreload', $mock, '', preload => '');
my $key_file = $node->basedir . '/secrets/api_key';
$node->safe_psql('postgres', q{
CREATE ROLE snoop LOGIN;
GRANT USAGE ON SCHEMA sms_ir TO snoop;
GRANT EXECUTE ON FUNCTION sms_ir.sms_credit() TO snoop;
});

# what a non-superuser sees as the first statement of its session (the
# setting is still a placeholder then) and after the library is loaded
my ($rc, $shown) = $node->psql('postgres', 'SHOW sms_ir.api_key', extra_params => [ '-U', 'snoop' ]);
is($shown, "file:$key_file", 'before loading, a non-superuser sees the path, not the key');
($rc, $shown) = $node->psql('postgres', q{SELECT current_setting('sms_ir.api_key')},
	extra_params => [ '-U', 'snoop' ]);
unlike($shown, qr/\Q$key\E/, 'current_setting() does not return the key');

mock_reset($mock);
is($node->safe_psql('postgres', 'SELECT sms_ir.sms_credit() IS NOT NULL'), 't',
	'file: secret works without preload');
my $reqs = mock_requests($mock, '/v1/credit');
is($reqs->[-1]{headers}{'x-api-key'}, $key, 'the key from the file reached the provider');
($rc, $shown, my $err) = $node->psql('postgres', 'SELECT sms_ir.sms_credit() IS NOT NULL; SHOW sms_ir.api_key',
	extra_params => [ '-U', 'snoop' ]);
unlike(($shown // '') . ($err // ''), qr/\Q$key\E/, 'after loading, SHOW does not reveal the key either');

# rotate: the new content is used without a reload
secret_file($node, 'api_key', 'wrong-key-rotated');
mock_reset($mock);
($rc, undef, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT sms_ir.sms_credit()");
like($err, qr/authentication failed/, 'a rotated (here: wrong) key is read at the next call');
is(mock_requests($mock, '/v1/credit')->[-1]{headers}{'x-api-key'}, 'wrong-key-rotated',
	'the rotated file content was sent');
secret_file($node, 'api_key', $key);

# group-readable: refused, with the path and a hint, before any request
chmod 0640, $key_file;
mock_reset($mock);
($rc, undef, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT sms_ir.sms_credit()");
like($err, qr/ERROR:  28000: the secret file of sms_ir.api_key is accessible by group or others/,
	'a group-readable secret file is refused with 28000');
like($err, qr/HINT:  .*chmod 600/, 'the hint says how to fix it');
is(scalar(@{ mock_requests($mock) }), 0, 'nothing was sent');
chmod 0600, $key_file;

# a relative path is refused
$node->safe_psql('postgres', q{ALTER SYSTEM SET sms_ir.api_key = 'file:relative/key'; SELECT pg_reload_conf()});
sleep 1;
($rc, undef, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT sms_ir.sms_credit()");
like($err, qr/28000: sms_ir.api_key must name an absolute path/, 'a relative path is refused');

# an inline secret without preload: refused, with a hint
$node->safe_psql('postgres', q{ALTER SYSTEM SET sms_ir.api_key = 'an-inline-secret'; SELECT pg_reload_conf()});
sleep 1;
mock_reset($mock);
($rc, undef, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT sms_ir.sms_credit()");
like($err, qr/ERROR:  28000: sms_ir.api_key holds an inline secret, but sms_ir is not in shared_preload_libraries/,
	'inline secret without preload is refused with 28000');
like($err, qr/HINT:  .*file:/, 'the hint names the file reference');
is(scalar(@{ mock_requests($mock) }), 0, 'nothing was sent');
$node->safe_psql('postgres', qq{ALTER SYSTEM SET sms_ir.api_key = 'file:$key_file'; SELECT pg_reload_conf()});

my $log = slurp_file($node->logfile);
unlike($log, qr/\Q$key\E|wrong-key-rotated/, 'the server log never holds a key read from a file');
$node->stop;

# preloaded: the file reference works for the worker too
my $pre = new_sms_node('preload', $mock);
wait_until(sub { worker_state($pre) eq 'idle' }, 30) or die 'worker never idle';
mock_reset($mock);
my $id = $pre->safe_psql('postgres', q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"f"}')});
ok(wait_until(sub { $pre->safe_psql('postgres', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 20),
	'the worker sends with the file: secret');
is(mock_requests($mock, '/v1/send/verify')->[-1]{headers}{'x-api-key'}, $key, 'with the key from the file');
# an unusable secret fails the row without a request, never loops
chmod 0644, $pre->basedir . '/secrets/api_key';
mock_reset($mock);
$id = $pre->safe_psql('postgres', q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"g"}')});
ok(wait_until(sub { $pre->safe_psql('postgres', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'failed' }, 20),
	'a row whose secret cannot be used fails');
like($pre->safe_psql('postgres', "SELECT last_error FROM sms_ir.outbox WHERE id = $id"),
	qr/accessible by group or others/, 'last_error says why');
is(scalar(@{ mock_requests($mock) }), 0, 'and nothing was sent');
$pre->stop;
stop_mock($mock);
done_testing();
