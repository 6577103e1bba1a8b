# The worker and DDL: it never blocks DROP DATABASE of its database (idle
# or mid-batch) and comes back when the database does; it survives DROP
# EXTENSION / CREATE EXTENSION; worker_enabled pauses it on SIGHUP; the
# launcher and worker show in pg_stat_activity.
#
# The worker runs in "smsdb"; sms_ir is also created in "postgres" so that
# worker_status() (shared memory) can be read while smsdb has no extension.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('ddl', $mock, "sms_ir.database_name = 'smsdb'\n");

sub sql { my ($db, $q) = @_; return $node->safe_psql($db, $q); }
sub wstate { return worker_state($node, 'postgres'); }

sub worker_db
{
	return sql('postgres',
		"SELECT coalesce(string_agg(datname, ','), '') FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'");
}

# Queue one verify row in smsdb and wait until it is sent.
sub queue_and_send
{
	my ($code, $what) = @_;
	my $id = sql('smsdb',
		"SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"$code\"}')");
	ok( wait_until(sub { sql('smsdb', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 30),
		"$what: queued row sent");
	return;
}

# DROP DATABASE smsdb from postgres; must succeed (it waits at most 5 s for
# the worker to leave).
sub drop_smsdb
{
	my ($what) = @_;
	my $t0 = time();
	my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE smsdb');
	is($rc, 0, "$what: DROP DATABASE smsdb succeeds") or diag($err);
	note(sprintf("$what: DROP DATABASE took %.2f s", time() - $t0));
	return;
}

sub create_smsdb
{
	sql('postgres', 'CREATE DATABASE smsdb');
	sql('smsdb', 'CREATE EXTENSION sms_ir');
	return;
}

# no worker while its database does not exist
is(wstate(), 'stopped', 'no worker before smsdb exists');
is(worker_db(), '', 'no sms_ir worker in pg_stat_activity');

create_smsdb();
ok(wait_until(sub { wstate() eq 'idle' }, 30), 'worker idle once smsdb and the extension exist');
is(worker_db(), 'smsdb', 'the worker is connected to smsdb');

# (d) both background workers show in pg_stat_activity
is( sql('postgres',
		"SELECT string_agg(backend_type || ':' || coalesce(datname, '-'), ',' ORDER BY backend_type)"
		  . " FROM pg_stat_activity WHERE backend_type LIKE 'sms_ir%'"),
	'sms_ir launcher:-,sms_ir worker:smsdb',
	'(d) sms_ir launcher (no database) and sms_ir worker (smsdb) in pg_stat_activity');

mock_reset($mock);
queue_and_send('first', 'smsdb');

# (a) DROP DATABASE of the worker's database while the worker idles there
drop_smsdb('(a) idle worker');
ok(wait_until(sub { worker_db() eq '' }, 30), '(a) the worker left');
create_smsdb();
ok(wait_until(sub { wstate() eq 'idle' && worker_db() eq 'smsdb' }, 30),
	'(a) the launcher starts a worker in the new smsdb');
queue_and_send('after-drop', '(a) new smsdb');

# ... and while it is in the middle of a long batch (200 requests of 1 s,
# 16 at a time: well over the 5 s DROP DATABASE waits)
mock_reset($mock);
mock_fault($mock, { kind => 'delay', delay_ms => 1000, count => -1, match => '/v1/send/verify' });
sql('smsdb',
	"SELECT count(sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'b' || g))) FROM generate_series(1, 200) g"
);
ok(wait_until(sub { scalar(@{ mock_requests($mock, '/v1/send/verify') }) > 0 }, 30),
	'(a) batch in flight');
drop_smsdb('(a) worker mid-batch');
mock_clear_faults($mock);
ok(wait_until(sub { worker_db() eq '' }, 30), '(a) the worker left mid-batch');
create_smsdb();
ok(wait_until(sub { wstate() eq 'idle' && worker_db() eq 'smsdb' }, 30),
	'(a) worker back in the recreated smsdb');
mock_reset($mock);
queue_and_send('after-drop2', '(a) recreated smsdb');

# (b) DROP EXTENSION under the running worker: it waits ('no extension'),
# stays connected, and resumes after CREATE EXTENSION.
my ($rc, $out, $err) = $node->psql('smsdb', 'DROP EXTENSION sms_ir');
is($rc, 0, '(b) DROP EXTENSION sms_ir succeeds') or diag($err);
ok(wait_until(sub { wstate() eq 'no extension' }, 30), "(b) worker state is 'no extension'");
is(worker_db(), 'smsdb', '(b) the worker is still there');
sql('smsdb', 'CREATE EXTENSION sms_ir');
ok(wait_until(sub { wstate() eq 'idle' }, 30), '(b) worker idle after CREATE EXTENSION');
queue_and_send('after-ext', '(b) recreated extension');

# (c) worker_enabled = off on SIGHUP pauses the worker; on resumes it
worker_conf($node, worker_enabled => 'off');
is(wstate(), 'paused', "(c) state is 'paused'");
mock_reset($mock);
my $id = sql('smsdb', "SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"paused\"}')");
sleep(2);
is(sql('smsdb', "SELECT status FROM sms_ir.outbox WHERE id = $id"), 'queued', '(c) row stays queued while paused');
is(wstate(), 'paused', "(c) still 'paused'");
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 0, '(c) nothing sent while paused');
worker_conf($node, worker_enabled => undef);
ok(wait_until(sub { sql('smsdb', "SELECT status FROM sms_ir.outbox WHERE id = $id") eq 'sent' }, 30),
	'(c) sent once enabled again');

stop_mock($mock);
$node->stop;
done_testing();
