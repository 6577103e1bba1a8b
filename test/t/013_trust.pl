# The trust boundary: a role with a GRANT cannot steer the worker, forge
# outbox state, or make the worker loop; one worker per database; dedupe
# races return the existing id; a row whose outcome cannot be recorded is
# recorded alone and never re-sent with its batch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('trust', $mock,
	"sms_ir.poll_interval = '60s'\nsms_ir.max_attempts = 3\n");

# (the database is read-only by default for a while below: not for the test)
sub sql { return $node->safe_psql('postgres', "SET default_transaction_read_only = off;\n" . $_[0]); }

wait_until(sub { worker_state($node) eq 'idle' }, 30) or die 'worker never idle';

sub wait_sent
{
	my ($where, $n, $secs) = @_;
	return wait_until(
		sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE status IN ('sent','failed','unknown') AND ($where)")
			  eq $n;
		},
		$secs // 20);
}

# --- a role with CREATE on public plants objects that would match the
# worker's unqualified SQL exactly, and a database owner sets defaults that
# would break its transactions
sql(q{
CREATE TABLE public.hijack_log(who text, what text);
GRANT INSERT ON public.hijack_log TO PUBLIC;
CREATE ROLE planter LOGIN;
GRANT CREATE ON SCHEMA public TO planter;
});
$node->safe_psql('postgres', q{
SET ROLE planter;
CREATE FUNCTION public.make_interval(secs int) RETURNS interval LANGUAGE sql
  AS $$ INSERT INTO public.hijack_log VALUES (current_user, 'make_interval') RETURNING interval '1 day' $$;
CREATE FUNCTION public.hijack_mul(numeric, int) RETURNS numeric LANGUAGE sql
  AS $$ INSERT INTO public.hijack_log VALUES (current_user, '*') RETURNING $1 $$;
CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = int, FUNCTION = public.hijack_mul);
CREATE FUNCTION public.unnest(bigint[], text[], jsonb[], text[], timestamptz[]) RETURNS SETOF record
  LANGUAGE sql AS $$ INSERT INTO public.hijack_log VALUES (current_user, 'unnest') RETURNING NULL::record $$;
});
# restart the worker so it starts with the planted objects and defaults;
# retention on, so the purge runs too
worker_conf($node, retention => '1s', track_delivery => 'on');
sql(q{ALTER DATABASE postgres SET default_transaction_isolation = 'serializable'});
sql(q{ALTER DATABASE postgres SET lock_timeout = '1ms'});
sql(q{ALTER DATABASE postgres SET default_transaction_read_only = on});
my $old = worker_pid($node);
sql("SELECT pg_terminate_backend($old)");
wait_until(sub { my $p = worker_pid($node); $p ne '' && $p ne $old && worker_state($node) eq 'idle' }, 30)
  or die 'worker did not come back';

mock_reset($mock);
my $id = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"planted"}')});
ok(wait_sent("id = $id", 1), 'worker sends despite read-only/serializable/lock_timeout database defaults');
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $id"), 'sent', 'the row is sent');
sleep 2.5;    # a few idle polls and a purge
is(sql('SELECT count(*) FROM public.hijack_log'), '0',
	'no planted public function or operator ran in the worker');
sql(q{ALTER DATABASE postgres RESET ALL});
worker_conf($node, retention => undef, track_delivery => undef);

# --- a plain INSERT can only queue
sql(q{CREATE ROLE app LOGIN; GRANT USAGE ON SCHEMA sms_ir TO app;
      GRANT INSERT, SELECT ON sms_ir.outbox TO app});
mock_reset($mock);
my $forged_row = $node->safe_psql('postgres', q{
SET ROLE app;
INSERT INTO sms_ir.outbox (provider, kind, payload, status, attempts, result, sent_at, last_error,
                           delivery_status, created_at)
VALUES ('smsafzar', 'verify', '{"mobile":"09121234567","template_id":123456,"parameters":{"code":"forged"}}',
        'sent', 99, '{"pack_id":"x"}', now() - interval '1 year', 'nope', 'delivered', '2000-01-01')
RETURNING id, provider, status, attempts, result IS NULL, sent_at IS NULL, last_error IS NULL,
          delivery_status IS NULL, created_at > now() - interval '1 hour'});
my ($forged, $stored) = split /\|/, $forged_row, 2;
is($stored, 'smsir|queued|0|t|t|t|t|t',
	'forged provider, status, attempts, result, sent_at, error, delivery and created_at were overwritten');
ok(wait_sent("id = $forged", 1), 'the forged row is queued and sent like any other');
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 1, 'sent once, to the configured provider');
my ($rc, $out, $err) = $node->psql('postgres', q{
SET ROLE app;
INSERT INTO sms_ir.outbox (id, kind, payload)
VALUES (1000000, 'verify', '{"mobile":"09121234567","template_id":123456,"parameters":{"code":"x"}}')});
like($err, qr/cannot insert a non-DEFAULT value into column "id"/, 'a caller cannot choose the id');

# --- a row whose outcome cannot be recorded is recorded alone
sql(q{
CREATE FUNCTION public.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'sent' AND NEW.payload->'parameters'->0->>'value' = 'poison' THEN
    RAISE EXCEPTION 'this outcome cannot be stored';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_one BEFORE UPDATE ON sms_ir.outbox FOR EACH ROW EXECUTE FUNCTION public.refuse_one();
});
mock_reset($mock);
sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', c))
        FROM unnest(ARRAY['p1','p2','poison','p3','p4']) c});
ok(wait_sent(q{payload->'parameters'->0->>'value' IN ('p1','p2','poison','p3','p4')}, 5),
	'every row of the batch ends final');
is(sql(q{SELECT string_agg(payload->'parameters'->0->>'value' || '=' || status, ',' ORDER BY id)
           FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' IN ('p1','p2','poison','p3','p4')}),
	'p1=sent,p2=sent,poison=failed,p3=sent,p4=sent', 'only the poisoned row failed');
like(sql(q{SELECT last_error FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' = 'poison'}),
	qr/outcome could not be recorded: this outcome cannot be stored/, 'last_error says why');
sleep 1.5;
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 5, 'each row was sent once, none again');
sql('DROP TRIGGER refuse_one ON sms_ir.outbox');

# --- a row whose request went out and whose outcome and 'failed' are both
# refused (a user's trigger on final states) ends 'unknown' after ONE
# request; left 'sending', recovery queued it again and it was sent once per
# attempt (max_attempts requests for one message)
sql(q{
CREATE FUNCTION public.refuse_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IN ('sent', 'failed') AND NEW.payload->'parameters'->0->>'value' = 'refused' THEN
    RAISE EXCEPTION 'no final state for this row';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_final BEFORE UPDATE ON sms_ir.outbox FOR EACH ROW EXECUTE FUNCTION public.refuse_final();
});
mock_reset($mock);
my $refused = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"refused"}')});
ok(wait_until(sub { sql("SELECT status FROM sms_ir.outbox WHERE id = $refused") eq 'unknown' }, 10),
	'a row whose sent and failed are refused ends unknown');
sleep 1.5;
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 1, 'its one request was not sent again');
is(sql("SELECT attempts FROM sms_ir.outbox WHERE id = $refused"), '1', 'one attempt');
sql('DROP TRIGGER refuse_final ON sms_ir.outbox');

# --- a cost sms.ir spells "007" (or anything the one amount rule reads) is
# stored canonical; the batch is recorded once, nothing loops
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 200, count => 3,
	body => { status => 1, message => 'موفق', data => { messageId => 777001, cost => '007' } } });
sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', c))
        FROM unnest(ARRAY['c1','c2','c3']) c});
ok(wait_sent(q{payload->'parameters'->0->>'value' IN ('c1','c2','c3')}, 3), 'the three "007" rows end final');
is(sql(q{SELECT string_agg(status || ':' || attempts || ':' || (result->>'cost'), ',' ORDER BY id)
           FROM sms_ir.outbox WHERE payload->'parameters'->0->>'value' IN ('c1','c2','c3')}),
	'sent:1:7,sent:1:7,sent:1:7', 'sent once each, cost stored as 7');
sleep 1.5;
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 3, 'three requests, none repeated');
mock_clear_faults($mock);

# --- under at_most_once a 502/504 after the request was written may mean
# the provider acted: unknown, never retried (a 503 is retried)
worker_conf($node, delivery_guarantee => 'at_most_once');
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 502, count => 1,
	body => { status => 0, message => 'bad gateway', data => undef } });
$id = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"gw"}')});
ok(wait_sent("id = $id", 1), 'the 502 row ends final');
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $id"), 'unknown', '502 under at_most_once is unknown');
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 503, count => 1,
	body => { status => 0, message => 'unavailable', data => undef } });
$id = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"un"}')});
ok(wait_sent("id = $id", 1), 'the 503 row ends final');
is(sql("SELECT status || ':' || attempts FROM sms_ir.outbox WHERE id = $id"), 'sent:2', '503 is retried and sent');
mock_clear_faults($mock);
worker_conf($node, delivery_guarantee => undef);

# --- attempts lost to crashes count: a row found in flight with no attempt
# left ends unknown, with no request
worker_conf($node, worker_enabled => 'off');
mock_reset($mock);
my $stuck = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"stuck"}')});
sql("UPDATE sms_ir.outbox SET status = 'sending', attempts = 3 WHERE id = $stuck");
my $again = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"again"}')});
sql("UPDATE sms_ir.outbox SET status = 'sending', attempts = 1 WHERE id = $again");
$old = worker_pid($node);
sql("SELECT pg_terminate_backend($old)");
worker_conf($node, worker_enabled => 'on');
ok(wait_sent("id IN ($stuck, $again)", 2), 'both in-flight rows settle');
is(sql("SELECT status FROM sms_ir.outbox WHERE id = $stuck"), 'unknown',
	'out of attempts: unknown, not queued again');
is(sql("SELECT status || ':' || attempts FROM sms_ir.outbox WHERE id = $again"), 'sent:2',
	'attempts left: sent again, the lost attempt counted');
is(scalar(@{ mock_requests($mock, '/v1/send/verify') }), 1, 'no request for the exhausted row');

# --- one worker per database after the launcher restarts
my ($launcher) = sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'sms_ir launcher'");
my $worker = worker_pid($node);
sql("SELECT pg_terminate_backend($launcher)");
wait_until(sub { my $l = sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'sms_ir launcher'"); $l ne '' && $l ne $launcher }, 30)
  or die 'launcher did not restart';
sleep 3;    # the new launcher's checks
is(sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'"), '1',
	'exactly one worker after the launcher restarted');
is(worker_pid($node), $worker, 'it is the worker that was already running');
mock_reset($mock);
my $t0 = time;
$id = sql(q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"wake"}')});
ok(wait_sent("id = $id", 1, 10), 'a commit still wakes the worker');
cmp_ok(time - $t0, '<', 5, 'at once, not at the 60 s poll');
# and when that worker goes, the new launcher starts exactly one
sql("SELECT pg_terminate_backend($worker)");
wait_until(sub { my $p = worker_pid($node); $p ne '' && $p ne $worker }, 30) or die 'no new worker';
sleep 2;
is(sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'sms_ir worker'"), '1',
	'one worker after the old one exited');

# --- dedupe_key: the same key twice in one statement, and two sessions racing
is(sql(q{SELECT count(DISTINCT id) FROM (SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"d"}',
        dedupe_key => 'same-statement') AS id FROM generate_series(1, 3)) s}),
	'1', 'a key repeated in one statement returns one id');
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
my $first = $a->query_safe(q{BEGIN; SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"race"}', dedupe_key => 'race-key');});
$b->query_until(qr/started/, "\\echo started\nSELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"race\"}', dedupe_key => 'race-key') AS second \\gset\n");
sleep 0.5;
$a->query_safe('COMMIT');
my $second = $b->query_safe('SELECT :second');
is($second, $first, 'the second session waited and got the first one\'s id');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE dedupe_key = 'race-key'"), '1', 'one row');
# if the first rolls back, the second queues its own row
$first = $a->query_safe(q{BEGIN; SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"race"}', dedupe_key => 'race-key-2');});
$b->query_until(qr/started/, "\\echo started\nSELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\":\"race\"}', dedupe_key => 'race-key-2') AS second \\gset\n");
sleep 0.5;
$a->query_safe('ROLLBACK');
$second = $b->query_safe('SELECT :second');
is(sql("SELECT id FROM sms_ir.outbox WHERE dedupe_key = 'race-key-2'"), $second,
	'after a rollback the second session queued its own row');
$a->quit;
$b->quit;

# --- a long retention does not purge on every loop (it overflowed int)
worker_conf($node, retention => '30d', poll_interval => '50ms');
my $scans0 = sql("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'sms_ir.outbox'::regclass");
sleep 3;
my $scans1 = sql("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'sms_ir.outbox'::regclass");
cmp_ok($scans1 - $scans0, '<=', 2, "30-day retention: no purge scan per loop ($scans0 -> $scans1)");

# --- send_after must be finite
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT sms_ir.queue_verify('09121234567', 123456, '{}', send_after => 'infinity')});
like($err, qr/send_after must be a finite time/, 'infinity send_after refused');

$node->stop;
stop_mock($mock);
done_testing();
