# Upgrade 0.2 -> 0.3 the way users do it: the 0.3 library is installed
# while the database still has the 0.2 objects, rows are queued with it,
# then ALTER EXTENSION sms_ir UPDATE.  The queued rows survive and are sent
# once each, an application role keeps the EXECUTE it was granted on a queue
# function, and the 0.3 objects are there (the partial dedupe index, the
# queue functions without a SET clause, provider_capabilities()).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('upgrade', $mock, "sms_ir.worker_enabled = off\n", no_extension => 1);
$node->safe_psql('postgres', "CREATE EXTENSION sms_ir VERSION '0.2'");
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'sms_ir'"),
	'0.2', 'installed at 0.2');

$node->safe_psql('postgres', q{
	CREATE ROLE app LOGIN;
	GRANT USAGE ON SCHEMA sms_ir TO app;
	GRANT EXECUTE ON FUNCTION sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text) TO app;
	CREATE ROLE delegate;
	GRANT EXECUTE ON FUNCTION sms_ir.queue_bulk(text, text[], text, timestamptz, text) TO delegate WITH GRANT OPTION;
	CREATE ROLE "Mixed Case";
	GRANT EXECUTE ON FUNCTION sms_ir.queue_template(text, text, jsonb, text, timestamptz, text) TO "Mixed Case";
});
$node->safe_psql('postgres',
	q{SELECT count(*) FROM sms_ir.queue_bulk('queued at 0.2', ARRAY['09121234567'])});
# queued under 0.2's objects (with the 0.3 library), by the application role
$node->safe_psql('postgres',
	q{SELECT sms_ir.queue_verify('09121234567', 123456, jsonb_build_object('code', 'u' || g)) FROM generate_series(1, 20) g},
	extra_params => [ '-U', 'app' ]);
$node->safe_psql('postgres',
	q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"ukey"}', dedupe_key => 'signup-1')});
is($node->safe_psql('postgres', "SELECT count(*) FROM sms_ir.outbox WHERE status = 'queued'"),
	'22', '22 rows queued before the update');

$node->safe_psql('postgres', 'ALTER EXTENSION sms_ir UPDATE');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'sms_ir'"),
	'0.3', 'updated to 0.3');

# the application role's GRANT survived the update
is($node->safe_psql('postgres',
		"SELECT has_function_privilege('app', 'sms_ir.queue_verify(text, bigint, jsonb, timestamptz, text, smallint, interval)', 'EXECUTE')"),
	't', 'app keeps EXECUTE on queue_verify');
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"u21"}') IS NOT NULL},
	extra_params => [ '-U', 'app' ]);
is($rc, 0, 'app queues after the update') or diag($err);
is( $node->safe_psql('postgres',
		q{SELECT has_function_privilege('delegate', 'sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval)', 'EXECUTE WITH GRANT OPTION')
		     AND has_function_privilege('Mixed Case', 'sms_ir.queue_template(text, text, jsonb, text, timestamptz, text, smallint, interval)', 'EXECUTE')
		     AND NOT has_function_privilege('app', 'sms_ir.queue_bulk(text, text[], text, timestamptz, text, smallint, interval)', 'EXECUTE')}),
	't', 'every GRANT kept as it was: grant option, quoted role names, nothing more');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_proc WHERE proname LIKE 'queue\_%' AND pronargs < 7}),
	'0', 'the old signatures are gone (no ambiguous calls)');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT kind || ':' || account || ':' || priority, ',' ORDER BY kind || ':' || account || ':' || priority)
		    FROM sms_ir.outbox}),
	'bulk:default:0,verify:default:10', 'rows from before: account default, OTP rows in the OTP lane');
($rc, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM sms_ir.outbox',
	extra_params => [ '-U', 'app' ]);
isnt($rc, 0, 'app still cannot read the outbox');

# the 0.3 objects
is($node->safe_psql('postgres',
		"SELECT pg_get_indexdef('sms_ir.outbox_dedupe_key_idx'::regclass)"),
	'CREATE UNIQUE INDEX outbox_dedupe_key_idx ON sms_ir.outbox USING btree (dedupe_key) WHERE (dedupe_key IS NOT NULL)',
	'dedupe_key has the partial unique index');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_constraint WHERE conrelid = 'sms_ir.outbox'::regclass AND contype = 'u'"),
	'0', 'and no unique constraint any more');
is($node->safe_psql('postgres',
		q{SELECT sms_ir.queue_verify('09121234567', 123456, '{"code":"ukey"}', dedupe_key => 'signup-1')
		  = (SELECT id FROM sms_ir.outbox WHERE dedupe_key = 'signup-1')}),
	't', 'a dedupe_key queued before the update still deduplicates');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_proc WHERE pronamespace = 'sms_ir'::regnamespace AND proname LIKE 'queue\\_%' AND proconfig IS NOT NULL"),
	'0', 'the queue functions carry no SET clause (the C code pins the search path)');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM sms_ir.provider_capabilities()'),
	'>', 0, 'provider_capabilities() exists');

# the worker sends everything queued before and after, once each
$node->append_conf('postgresql.conf', "sms_ir.worker_enabled = on\n");
$node->reload;
ok( wait_until(
		sub { $node->safe_psql('postgres', "SELECT count(*) FROM sms_ir.outbox WHERE status = 'sent'") eq '23' },
		30),
	'all 23 rows sent after the update')
  or diag($node->safe_psql('postgres', q{SELECT status, kind, count(*), max(attempts), max(sent_at) - now(), max(last_error) FROM sms_ir.outbox GROUP BY 1, 2}));
my %seen;
$seen{ request_code($_) // '' }++ for @{ mock_requests($mock, '/v1/send/verify') };
is(scalar(grep { ($seen{"u$_"} // 0) == 1 } 1 .. 21), 21, 'each queued row reached the provider once');
is($seen{ukey}, 1, 'the dedupe_key row once');

stop_mock($mock);
$node->stop;
done_testing();
