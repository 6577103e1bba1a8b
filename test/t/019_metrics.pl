# Observability (SPEC §13) through a real drain against the mock:
#  1. sms_ir.metrics counts exactly what the worker recorded: rows sent,
#     failed (a rejected template), retried (one 500), expired (validity
#     over before the worker saw it), suppressed, per account and kind (a
#     row of an account no longer declared counts as "_other"); the
#     breaker of an account that failed twice is open and its two rows wait
#     queued; in flight and queue depth while a request is delayed; the
#     oldest overdue row's wait; the commit->request histogram (a row due an
#     hour ago lands in +Inf only); request counts equal the mock's, and the
#     quantiles are ordered and see the one slow request.
#  2. The counts survive a restart of the worker.
#  3. A pg_monitor member reads the view (and nothing else); others cannot.
#  4. A user's AFTER UPDATE OF status trigger fires once per status change:
#     queued->sending->sent, a retry (->queued->sending->sent), a failure,
#     an expiry, a suppression, in that order per row; the worker never
#     rewrites a status with the same value (a trigger without WHEN sees the
#     same changes), and the final state reaches the user's orders table.
#  5. Debian's prometheus-postgres-exporter with
#     contrib/postgres_exporter/sms_ir_queries.yaml, logged in as the
#     pg_monitor member, serves every series of the view with its labels and
#     value.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use HTTP::Tiny;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmsIrTest;

my $mock = start_mock();
my $node = new_sms_node('metrics', $mock, qq{
sms_ir.retry_max_delay = '300ms'
sms_ir.breaker_failures = 2
sms_ir.breaker_cooldown = '1h'
# the backup account is declared, but the default account's rows do not fail over to it
sms_ir.fallback = ''
}, no_extension => 1, backup_line => '10001000');

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION sms_ir');
ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# ---- the user's status trigger (README "Monitoring and recovery") --------
sql(q{
CREATE ROLE app;
CREATE SCHEMA app AUTHORIZATION app;
SET ROLE app;
CREATE TABLE app.orders (id int PRIMARY KEY, sms_id bigint, sms_status text);
CREATE TABLE app.sms_status_log (seq bigserial, outbox_id bigint, old_status text, new_status text);
CREATE TABLE app.sms_status_all (seq bigserial, outbox_id bigint, old_status text, new_status text);
CREATE FUNCTION app.sms_status_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_catalog AS $$
BEGIN
  INSERT INTO sms_status_log (outbox_id, old_status, new_status) VALUES (NEW.id, OLD.status, NEW.status);
  IF NEW.status::text IN ('sent', 'failed', 'cancelled', 'unknown', 'expired', 'suppressed') THEN
    UPDATE orders SET sms_status = NEW.status::text WHERE sms_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION app.sms_status_any() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_catalog AS $$
BEGIN
  INSERT INTO sms_status_all (outbox_id, old_status, new_status) VALUES (NEW.id, OLD.status, NEW.status);
  RETURN NULL;
END $$;
RESET ROLE;
CREATE TRIGGER sms_status_changed AFTER UPDATE OF status ON sms_ir.outbox
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION app.sms_status_changed();
-- the same without WHEN: shows whether the worker ever rewrites a status unchanged
CREATE TRIGGER sms_status_any AFTER UPDATE OF status ON sms_ir.outbox
  FOR EACH ROW EXECUTE FUNCTION app.sms_status_any();
});

my $order = 0;

# The next order, with the outbox row that SQL expression $row queues (in
# one transaction: the worker may send it at once); the row's id.
sub order_for
{
	my ($row, $account) = @_;
	my $set = $account ? "SET sms_ir.account = '$account'; " : '';
	$order++;
	return sql("${set}INSERT INTO app.orders VALUES ($order, ($row), NULL) RETURNING sms_id");
}

sub status { return sql("SELECT status FROM sms_ir.outbox WHERE id = $_[0]"); }

sub final
{
	my ($id) = @_;
	wait_until(sub { status($id) !~ /^(queued|sending)$/ }, 30);
	return status($id);
}

# SQL queueing a verify row / a bulk row to one mobile
sub verify
{
	my ($extra) = @_;
	return "SELECT sms_ir.queue_verify('09121234567', 123456, '{\"code\": \"1\"}'" . ($extra // '') . ")";
}

sub bulk
{
	my ($mobile) = @_;
	return "SELECT sms_ir.queue_bulk('metrics news', ARRAY['$mobile'])";
}

# name => { canonical labels => value } from the view (or the exporter)
sub labels_key
{
	my ($labels) = @_;
	return join(',', map { "$_=$labels->{$_}" } sort keys %$labels);
}

sub view
{
	my %m;
	for my $line (split /\n/,
		sql(q{SELECT name, (SELECT string_agg(key || '=' || value, ',' ORDER BY key)
		                      FROM jsonb_each_text(labels)), value FROM sms_ir.metrics}))
	{
		my ($name, $labels, $value) = split /\|/, $line;
		$m{$name}{ $labels // '' } = $value;
	}
	return \%m;
}

sub metric
{
	my ($m, $name, %labels) = @_;
	return $m->{$name}{ labels_key(\%labels) };
}

mock_reset($mock);

# ---- 1. outcomes ------------------------------------------------------------
my %expect;    # "name|labels" => value, for the outcome counters
my @ok = map { order_for(verify()) } 1 .. 3;
push @ok, order_for(bulk('09121110001')), order_for(bulk('09121110002'));
push @ok, order_for(bulk('09121110003'), 'backup');
is(final($_), 'sent', "row $_ sent") for @ok;
$expect{'sms_ir_sent_total|account=default,kind=verify'} += 3;
$expect{'sms_ir_sent_total|account=default,kind=bulk'} += 2;
$expect{'sms_ir_sent_total|account=backup,kind=bulk'} += 1;

# a request held 1.5 s by the mock: in flight and 'sending' meanwhile
mock_fault($mock, { match => '/v1/send/verify', kind => 'delay', delay_ms => 1500, count => 1 });
my $slow = order_for(verify());
ok( wait_until(
		sub {
			my $m = view();
			return (metric($m, 'sms_ir_inflight') // -1) == 1
			  && metric($m, 'sms_ir_queue_depth', status => 'sending', priority => 10) == 1;
		},
		10),
	'a delayed request: sms_ir_inflight 1, queue depth sending/10 is 1');
is(final($slow), 'sent', 'the delayed row is sent');
$expect{'sms_ir_sent_total|account=default,kind=verify'} += 1;

# rejected by the provider (unknown template): failed at once
my $failed = order_for("SELECT sms_ir.queue_verify('09121234567', 999999, '{\"code\": \"1\"}')");
is(final($failed), 'failed', 'a rejected row fails');
$expect{'sms_ir_failed_total|account=default,kind=verify'} += 1;

# one 500, then sent
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => 1 });
my $retried = order_for(verify());
is(final($retried), 'sent', 'a row retried after a 500 is sent');
$expect{'sms_ir_retried_total|account=default,kind=verify'} += 1;
$expect{'sms_ir_sent_total|account=default,kind=verify'} += 1;

# validity over while the worker is paused: expired, no request
worker_conf($node, worker_enabled => 'off');
my $expired = order_for(verify(", valid_for => '1 second'"));
ok(wait_until(sub { sql("SELECT now() > expires_at FROM sms_ir.outbox WHERE id = $expired") eq 't' }, 10),
	'its validity is over');
worker_conf($node, worker_enabled => undef);
is(final($expired), 'expired', 'the row expires');
$expect{'sms_ir_expired_total|account=default,kind=verify'} += 1;

# every recipient suppressed
sql("SELECT sms_ir.suppress('09121119999')");
my $suppressed = order_for(bulk('09121119999'));
is(final($suppressed), 'suppressed', 'a row to a suppressed number ends suppressed');
$expect{'sms_ir_suppressed_total|account=default,kind=bulk'} += 1;

# the backup account fails twice (5xx): its breaker opens, its two rows wait
mock_fault($mock, { match => '/messages/send', kind => 'status', status => 500, count => 2 });
my @held = split /\n/,
  sql("SET sms_ir.account = 'backup'; SELECT sms_ir.queue_bulk('metrics held', ARRAY['09121110004'])"
	  . " UNION ALL SELECT sms_ir.queue_bulk('metrics held', ARRAY['09121110005'])");
ok( wait_until(
		sub {
			sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN ($held[0], $held[1]) AND status = 'queued'"
				  . " AND next_attempt_at > now() + interval '30 minutes'") == 2;
		},
		30),
	'two failures open the backup breaker: both rows wait queued for the cooldown');
$expect{'sms_ir_retried_total|account=backup,kind=bulk'} += 2;

# a row due an hour ago, seen while the worker is paused
worker_conf($node, worker_enabled => 'off');
my $late = order_for(verify(", send_after => now() - interval '1 hour'"));
# and a row of an account no longer declared: counted as account "_other"
my $orphan = sql(verify());
sql("UPDATE sms_ir.outbox SET account = 'gone' WHERE id = $orphan");
my $m = view();
is(metric($m, 'sms_ir_queue_depth', status => 'queued', priority => 10), 2, 'queue depth queued/10 is 2');
is(metric($m, 'sms_ir_queue_depth', status => 'queued', priority => 0), 2, 'queue depth queued/0 is 2 (held)');
my $oldest = metric($m, 'sms_ir_oldest_queued_seconds');
ok($oldest >= 3600 && $oldest < 3600 + 600, "oldest overdue row waited an hour ($oldest s)");
worker_conf($node, worker_enabled => undef);
is(final($late), 'sent', 'the late row is sent');
$expect{'sms_ir_sent_total|account=default,kind=verify'} += 1;
is(final($orphan), 'failed', 'the row of an undeclared account fails');
$expect{'sms_ir_failed_total|account=_other,kind=verify'} += 1;

# ---- the whole view, exactly ------------------------------------------------
$m = view();
my @outcomes = qw(sent failed unknown retried expired suppressed);
my (%got, %want);
for my $o (@outcomes)
{
	my @accounts = (qw(default backup), $o eq 'failed' ? ('_other') : ());
	for my $account (@accounts)
	{
		for my $kind (qw(bulk like_to_like verify template))
		{
			my $k = "sms_ir_${o}_total|account=$account,kind=$kind";
			$want{$k} = $expect{$k} // 0;
			$got{$k} = metric($m, "sms_ir_${o}_total", account => $account, kind => $kind);
		}
	}
	is(scalar(keys %{ $m->{"sms_ir_${o}_total"} }), 4 * @accounts,
		"sms_ir_${o}_total: @accounts x 4 kinds, no more");
}
is_deeply(\%got, \%want, 'outcome counters are exactly what was recorded');

is(metric($m, 'sms_ir_breaker_open', account => 'backup'), 1, 'backup breaker open');
is(metric($m, 'sms_ir_breaker_open', account => 'default'), 0, 'default breaker closed');
is(metric($m, 'sms_ir_inflight'), 0, 'nothing in flight');
my %depth = %{ $m->{sms_ir_queue_depth} };
is(scalar(keys %depth), 22, 'queue depth: 2 statuses x 11 lanes');
is_deeply([ grep { $depth{$_} != 0 } sort keys %depth ], ['priority=0,status=queued'],
	'only the two held rows are not final');
is(metric($m, 'sms_ir_oldest_queued_seconds'), 0, 'no overdue row left');

# requests, counted by the mock
my $smsir_requests = scalar @{ mock_requests($mock, '/v1/send') };
my $smsafzar_requests = scalar @{ mock_requests($mock, '/messages/send') };
is($smsir_requests, 10, 'sms.ir saw 10 requests (8 rows sent, one failed, one retried)');
is(metric($m, 'sms_ir_request_seconds_count', account => 'default'), $smsir_requests,
	'request count of default = the mock\'s');
is(metric($m, 'sms_ir_request_seconds_count', account => 'backup'), $smsafzar_requests,
	'request count of backup = the mock\'s (3)');
my @q = map { metric($m, 'sms_ir_request_seconds', account => 'default', quantile => $_) } qw(0.5 0.9 0.99);
ok(defined $q[2] && $q[0] <= $q[1] && $q[1] <= $q[2], "quantiles ordered (@q)");
ok($q[2] >= 1.5, "p99 of 10 requests is the 1.5 s one's bucket ($q[2])");
ok(metric($m, 'sms_ir_request_seconds_sum', account => 'default') >= 1.5, 'request seconds sum has it');

# commit -> first request: every row with a request, once; the late one above 1800 s
my %h10 = %{ $m->{sms_ir_commit_to_send_seconds_bucket} };
my $count10 = metric($m, 'sms_ir_commit_to_send_seconds_count', priority => 10);
is($count10, 7, 'OTP lane: 7 rows had a first request (the expired one had none)');
is(metric($m, 'sms_ir_commit_to_send_seconds_bucket', priority => 10, le => '+Inf'), $count10, '+Inf = count');
is($count10 - metric($m, 'sms_ir_commit_to_send_seconds_bucket', priority => 10, le => 1800), 1,
	'one row (due an hour ago) waited more than 1800 s');
ok(metric($m, 'sms_ir_commit_to_send_seconds_sum', priority => 10) >= 3600, 'its wait is in the sum');
is(metric($m, 'sms_ir_commit_to_send_seconds_count', priority => 0), 5,
	'bulk lane: 5 rows had a first request (3 sent, 2 held; the suppressed one had none)');
my $prev = 0;
my $monotone = 1;
for my $le (qw(0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 300 1800 +Inf))
{
	my $v = metric($m, 'sms_ir_commit_to_send_seconds_bucket', priority => 0, le => $le);
	$monotone = 0 unless defined $v && $v >= $prev;
	$prev = $v // 0;
}
ok($monotone, 'buckets are cumulative');
is(scalar(grep { /priority=(\d+)/ && $1 != 0 && $1 != 10 } keys %h10), 0, 'no other lane listed');

# ---- 2. a worker restart keeps them -----------------------------------------
my $before = view();
my $pid = worker_pid($node);
kill 'TERM', $pid;
ok(wait_until(sub { my $p = worker_pid($node); $p ne '' && $p ne $pid && worker_state($node) eq 'idle' }, 60),
	'worker restarted');
my $after = view();
for my $name (grep { /_total$|_count$|_bucket$|^sms_ir_breaker_open$/ } sort keys %$before)
{
	is_deeply($after->{$name}, $before->{$name}, "$name unchanged across a worker restart");
}

# ---- 3. who may read it -----------------------------------------------------
sql('CREATE ROLE watcher LOGIN IN ROLE pg_monitor; CREATE ROLE nobody LOGIN');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM sms_ir.metrics', extra_params => [ '-U', 'watcher' ]),
	't', 'a pg_monitor member reads sms_ir.metrics');
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM sms_ir.metrics', extra_params => [ '-U', 'nobody' ]);
like($err, qr/permission denied/, 'a role without pg_monitor may not');
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM sms_ir.outbox', extra_params => [ '-U', 'watcher' ]);
like($err, qr/permission denied for table outbox/, 'pg_monitor does not read the outbox itself');
($rc, $out, $err) = $node->psql('postgres', "SELECT sms_ir.queue_verify('09121234567', 1)",
	extra_params => [ '-U', 'watcher' ]);
like($err, qr/permission denied for function queue_verify/, 'nor queue messages');

# ---- 4. the status trigger ---------------------------------------------------
sub transitions
{
	my ($id, $table) = @_;
	return sql("SELECT string_agg(old_status || '>' || new_status, ' ' ORDER BY seq)"
		  . " FROM app.$table WHERE outbox_id = $id");
}
is(transitions($ok[0], 'sms_status_log'), 'queued>sending sending>sent', 'sent: two changes');
is(transitions($retried, 'sms_status_log'), 'queued>sending sending>queued queued>sending sending>sent',
	'retried: four changes, each once');
is(transitions($failed, 'sms_status_log'), 'queued>sending sending>failed', 'failed: two changes');
is(transitions($expired, 'sms_status_log'), 'queued>sending sending>expired', 'expired: two changes');
is(transitions($suppressed, 'sms_status_log'), 'queued>sending sending>suppressed', 'suppressed: two changes');
is(sql('SELECT count(*) FROM app.sms_status_log WHERE old_status = new_status'), 0, 'no change to itself');
is(sql('SELECT string_agg(outbox_id || old_status || new_status, \',\' ORDER BY seq) FROM app.sms_status_all'),
	sql('SELECT string_agg(outbox_id || old_status || new_status, \',\' ORDER BY seq) FROM app.sms_status_log'),
	'the worker never rewrites a status unchanged: a trigger without WHEN sees the same changes');
is(sql("SELECT string_agg(sms_status, ',' ORDER BY id) FROM app.orders"),
	'sent,sent,sent,sent,sent,sent,sent,failed,sent,expired,suppressed,sent',
	'the orders table got each final state');
# a user's own no-op UPDATE: only the WHEN clause filters it
sql("UPDATE sms_ir.outbox SET status = status WHERE id = $ok[0]");
is(sql("SELECT count(*) FROM app.sms_status_all WHERE outbox_id = $ok[0]"), 3, 'SET status = status fires UPDATE OF status');
is(sql("SELECT count(*) FROM app.sms_status_log WHERE outbox_id = $ok[0]"), 2, '... but not past WHEN (OLD.status IS DISTINCT FROM NEW.status)');

# ---- 5. the exporter ----------------------------------------------------------
my $exporter_bin = '/usr/bin/prometheus-postgres-exporter';
SKIP:
{
	skip 'prometheus-postgres-exporter is not installed (scripts/install-deps.sh)', 1 unless -x $exporter_bin;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $queries = "$FindBin::Bin/../../contrib/postgres_exporter/sms_ir_queries.yaml";
	my $log = $node->basedir . '/exporter.log';
	my $host = $node->host;
	my $pgport = $node->port;
	my $exporter = fork // die "fork: $!";
	if ($exporter == 0)
	{
		$ENV{DATA_SOURCE_NAME} = "host=$host port=$pgport user=watcher dbname=postgres sslmode=disable";
		open(STDOUT, '>', $log) or die "$log: $!";
		open(STDERR, '>&', \*STDOUT) or die;
		exec($exporter_bin, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
			'--disable-default-metrics', '--disable-settings-metrics',
			'--no-collector.database', '--no-collector.bgwriter')
		  or die "exec: $!";
	}
	my $http = HTTP::Tiny->new(timeout => 10);
	my $body = '';
	wait_until(
		sub {
			my $res = $http->get("http://127.0.0.1:$port/metrics");
			$body = $res->{success} ? $res->{content} : '';
			return $body =~ /^sms_ir_sent_total\{/m;
		},
		30);
	my $view = view();    # nothing moves now: the same numbers as the scrape
	kill 'TERM', $exporter;
	waitpid($exporter, 0);
	ok($body =~ /^sms_ir_sent_total\{/m, 'the exporter serves sms_ir series')
	  or diag(slurp_file($log));
	like($body, qr/^pg_exporter_last_scrape_error 0$/m, 'its scrape had no error');
	like($body, qr/^pg_exporter_user_queries_load_error\{[^}]*\} 0$/m, 'it loaded the queries file');
	like($body, qr/^# TYPE sms_ir_sent_total counter$/m, 'counters are counters');
	like($body, qr/^# TYPE sms_ir_commit_to_send_seconds histogram$/m, 'the histogram is a histogram');
	like($body, qr/^# TYPE sms_ir_queue_depth gauge$/m, 'gauges are gauges');

	my %scraped;
	for my $line (split /\n/, $body)
	{
		next unless $line =~ /^(sms_ir_\w+)(?:\{([^}]*)\})? (\S+)$/;
		my ($name, $labels, $value) = ($1, $2 // '', $3);
		my %l = map { /^(\w+)="(.*)"$/ ? ($1 => $2) : () } split /,/, $labels;
		delete $l{server};
		$scraped{$name}{ labels_key(\%l) } = $value;
	}
	my @missing;
	my @differ;
	my $series = 0;
	for my $name (sort keys %$view)
	{
		for my $labels (sort keys %{ $view->{$name} })
		{
			$series++;
			my $want = $view->{$name}{$labels};
			my $got = $scraped{$name}{$labels};
			if (!defined $got) { push @missing, "$name\{$labels\}"; next; }
			push @differ, "$name\{$labels\} $got != $want"
			  if abs($got - $want) > 1e-9 * (1 + abs($want));
		}
	}
	ok($series > 100, "the view has $series series");
	is_deeply(\@missing, [], 'every series of the view is scraped, with its labels');
	is_deeply(\@differ, [], 'with the same values');
	is($scraped{sms_ir_sent_total}{'account=default,kind=verify'}, 6, 'e.g. sms_ir_sent_total{account="default",kind="verify"} 6');
	is($scraped{sms_ir_breaker_open}{'account=backup'}, 1, 'sms_ir_breaker_open{account="backup"} 1');
	my $extra = grep { !exists $view->{$_} } keys %scraped;
	is($extra, 0, 'and no sms_ir series the view does not have');
}

stop_mock($mock);
done_testing();
