# Accounts and failover through the worker (SPEC §11), counted request by
# request at the mock: account `default` is sms.ir, account `backup` is
# smsafzar on the same mock (its own line and template ids).
#  1. sms.ir failing at the account level (500, 429, timeout, bad key, no
#     credit): a logical template row is sent by the backup with the
#     backup's template id (or, without one, the rendered body as text);
#     result->>'account' is 'backup', last_error keeps sms.ir's error.
#  2. sms.ir refusing connections: the same.
#  3. sms.ir rejecting the message (unknown template): failed, and nothing
#     reaches smsafzar although the backup could have sent it.
#  4. the circuit breaker: opens after breaker_failures, then sms.ir sees no
#     request while the backup sends; after the cooldown exactly one probe;
#     a failed probe opens it again, a good one closes it.
#  5. valid_for with sms.ir down and no fallback: the row ends `expired`, no
#     request after its expires_at, none once sms.ir is back.
#  6. lanes: a verify row queued behind 2,000 bulk rows goes out among the
#     first requests.
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
# breaker_failures stays high (new_sms_node) so that parts 1-3 each see
# sms.ir tried once; part 4 lowers it.  The backup's line (10001000) differs
# from the default's so that its requests show which account's settings
# they used.
my $node = new_sms_node('failover', $mock, qq{
sms_ir.retry_max_delay = '300ms'
sms_ir.timeout = '1s'
sms_ir.connect_timeout = '1s'
sms_ir.breaker_cooldown = '2s'
}, no_extension => 1, backup_line => '10001000');
my $key = $node->basedir . '/secrets/api_key';    # new_sms_node's secret file

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION sms_ir');
# sms.ir 123456 takes Code, smsafzar TydSt1skQE takes code and price (both
# match names case-insensitively); a template only sms.ir knows (999999
# is unknown to the mock: code 113); one with no id for the backup.
sql(q{INSERT INTO sms_ir.template VALUES
  ('signup_otp', 'Your code {code}, price {price}', '{"default": 123456, "backup": "TydSt1skQE"}'),
  ('plain_otp', 'Your code {code}, price {price}', '{"default": 123456}'),
  ('gone_otp', 'Your code {code}, price {price}', '{"default": 999999, "backup": "TydSt1skQE"}')});
ok(wait_until(sub { worker_state($node) eq 'idle' }), 'worker idle');

# Queue a logical template row tagged $code; returns its id.
sub otp
{
	my ($code, $name, $extra) = @_;
	$name //= 'signup_otp';
	return sql("SELECT sms_ir.queue_template('09121234567', '$name',"
		  . " jsonb_build_object('code', '$code', 'price', '9900')"
		  . ($extra // '') . ")");
}

sub row { my ($id, $col) = @_; return sql("SELECT $col FROM sms_ir.outbox WHERE id = $id"); }

# Wait until row $id is no longer queued or sending; its status.
sub final
{
	my ($id, $secs) = @_;
	wait_until(sub { row($id, 'status') !~ /^(queued|sending)$/ }, $secs // 15);
	return row($id, 'status');
}

# A logged request's parameter $name (case-insensitive), or ''.
sub param
{
	my ($req, $name) = @_;
	my $p = ref $req->{body} eq 'HASH' ? $req->{body}{parameters} : undef;
	return '' unless ref $p eq 'ARRAY';
	for (@$p) { return $_->{value} // '' if ref $_ eq 'HASH' && lc($_->{name} // '') eq lc $name; }
	return '';
}

# Logged requests to exactly $path (query aside) tagged $code.
sub tagged
{
	my ($path, $code) = @_;
	return [ grep { ($_->{path} =~ s/\?.*//r) eq $path && param($_, 'code') eq $code }
		  @{ mock_requests($mock, $path) } ];
}

# Requests to smsafzar's send endpoints carrying $text (plain sends).
sub smsafzar_texts
{
	my ($text) = @_;
	return [
		grep {
			my $b = $_->{body};
			ref $b eq 'HASH'
			  && (($b->{content} // '') eq $text
				|| (ref $b->{contents} eq 'ARRAY' && grep { $_ eq $text } @{ $b->{contents} }))
		} @{ mock_requests($mock, '/messages/send') } ];
}

sub status_of
{
	my ($account) = @_;
	my $r = sql("SELECT breaker || '|' || consecutive_failures || '|' || sent || '|' || failed"
		  . " FROM sms_ir.account_status() WHERE account = '$account'");
	my ($breaker, $failures, $sent, $failed) = split /\|/, $r;
	return { breaker => $breaker // '', failures => $failures, sent => $sent, failed => $failed };
}

# ---- 1. account-level failures of sms.ir fail over to the backup ----------

# a sms.ir verify request in its shape, for the checks below
sub check_failed_over
{
	my ($what, $id, $code, $error_rx) = @_;
	is(final($id), 'sent', "$what: row sent");
	is(row($id, "result->>'account'"), 'backup', "$what: result->>'account' is backup");
	like(row($id, 'last_error'), $error_rx, "$what: last_error keeps sms.ir's error");
	my $first = tagged('/v1/send/verify', $code);
	is(scalar @$first, 1, "$what: sms.ir tried once");
	is($first->[0]{body}{templateId}, 123456, "$what: with the default's template id") if @$first;
	my $tpl = tagged('/messages/send/template', $code);
	is(scalar @$tpl, 1, "$what: one smsafzar template request");
	return $tpl->[0] // {};
}

mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => -1 });
my $id = otp('c500');
my $req = check_failed_over('HTTP 500', $id, 'c500', qr/default.*500|500.*default/s);
is($req->{body}{templateId}, 'TydSt1skQE', "HTTP 500: the backup's template id");
is(param($req, 'price'), '9900', 'HTTP 500: with the parameters');
is($req->{body}{recipientNumber}, '09121234567', 'HTTP 500: to the recipient');
is($req->{body}{senderNumber}, '10001000', "HTTP 500: from the backup's line");
is(scalar @{ mock_requests($mock, '/messages/send/template') }, 1, 'HTTP 500: smsafzar sent it once');

# the same row without a backup template id: the rendered body as a text
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => -1 });
$id = otp('c501', 'plain_otp');
is(final($id), 'sent', 'no backup id: row sent');
is(row($id, "result->>'account'"), 'backup', 'no backup id: by the backup');
my $plain = smsafzar_texts('Your code c501, price 9900');
is(scalar @$plain, 1, 'no backup id: one plain smsafzar send of the rendered body');
is( join(',', map { $_->{body}{senderNumber} // @{ $_->{body}{senderNumbers} // [] } } @$plain),
	'10001000', "no backup id: from the backup's line");
is(scalar @{ mock_requests($mock, '/messages/send/template') }, 0, 'no backup id: no template request');

mock_reset($mock);
mock_fault($mock,
	{ match => '/v1/send/verify', kind => 'status', status => 429, count => -1, headers => { 'Retry-After' => '1' } });
$id = otp('c429');
check_failed_over('HTTP 429', $id, 'c429', qr/429/);
# Retry-After holds the whole account (t/024): the next rows try sms.ir once it is over
sleep(1.2);

mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'stall', delay_ms => 3000, count => -1 });
my $t0 = time();
$id = otp('cstall');
check_failed_over('timeout', $id, 'cstall', qr/default/);
cmp_ok(time() - $t0, '<', 5, 'timeout: sent within a timeout or so, not after retries');

# a wrong API key for sms.ir only: its own 401 (status 10)
worker_conf($node, api_key => 'wrong-key');
mock_reset($mock);
$id = otp('c401');
check_failed_over('bad key', $id, 'c401', qr/401|10/);
worker_conf($node, api_key => "file:$key");

# sms.ir out of credit: its code 102
mock_reset($mock);
mock_control($mock, 'POST', '/__mock/credit', { credit => 0 });
$id = otp('c102');
check_failed_over('no credit', $id, 'c102', qr/102/);

# ---- 2. connection refused ------------------------------------------------
worker_conf($node, base_url => 'http://127.0.0.1:1');
mock_reset($mock);
$id = otp('cref');
is(final($id), 'sent', 'refused: row sent');
is(row($id, "result->>'account'"), 'backup', 'refused: by the backup');
like(row($id, 'last_error'), qr/default.*(connect|refused)/is, 'refused: last_error says sms.ir could not be reached');
is(scalar @{ mock_requests($mock, '/v1/') }, 0, 'refused: nothing reached the sms.ir paths');
$req = tagged('/messages/send/template', 'cref')->[0] // {};
is($req->{body}{templateId}, 'TydSt1skQE', "refused: the backup's template id");
worker_conf($node, base_url => $mock->{url});

# ---- 3. a rejection of the message does not fail over ------------------------
mock_reset($mock);
$id = otp('cgone', 'gone_otp');
is(final($id), 'failed', 'unknown template: failed');
like(row($id, 'last_error'), qr/113/, "unknown template: sms.ir's code 113");
is(scalar @{ tagged('/v1/send/verify', 'cgone') }, 1, 'unknown template: sms.ir asked once');
is(scalar @{ mock_requests($mock, '/messages/') }, 0, 'unknown template: nothing sent to smsafzar');
is(row($id, "coalesce(result->>'account', '')"), '', 'unknown template: no account recorded as sender');
is(status_of('default')->{failures}, 0, 'unknown template: a reply of the provider counts no failure');

# ---- 4. the circuit breaker ----------------------------------------------------
worker_conf($node, breaker_failures => 3);
mock_reset($mock);
is(status_of('default')->{breaker}, 'closed', 'breaker closed at first');
my $backup_sent = status_of('backup')->{sent};
my $default_sent = status_of('default')->{sent};
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => -1 });
my @b;
my $before_open;
for my $i (1 .. 3)
{
	# the breaker opens once row 3 has failed: not before this instant
	$before_open = time() if $i == 3;
	push @b, otp("b$i");
	is(final($b[-1]), 'sent', "breaker row $i sent");
}
my $st = status_of('default');
is($st->{breaker}, 'open', 'breaker open after breaker_failures account-level failures');
is($st->{failures}, 3, 'consecutive_failures 3');
my $opened = time();
is(scalar @{ mock_requests($mock, '/v1/send/verify') }, 3, 'sms.ir saw one request per failing row');
for my $i (4 .. 10)
{
	push @b, otp("b$i");
	is(final($b[-1]), 'sent', "breaker row $i sent");
}
my $elapsed = time() - $opened;
note(sprintf('rows 4-10 took %.2f s (cooldown 2 s)', $elapsed));
# a probe may have gone to sms.ir only once a cooldown passed since the
# breaker opened, which was before $opened (status_of and the count above
# came between): count cooldowns from before row 3 was queued
my $probes = int((time() - $before_open) / 2);
cmp_ok(scalar @{ mock_requests($mock, '/v1/send/verify') },
	'<=', 3 + $probes, 'no sms.ir request while the breaker is open');
is(sql("SELECT count(*) FROM sms_ir.outbox WHERE id IN (" . join(',', @b) . ") AND result->>'account' = 'backup'"),
	'10', 'the backup sent all 10');
is(scalar @{ mock_requests($mock, '/messages/send/template') }, 10, 'smsafzar saw 10 template requests');
is(status_of('backup')->{sent} - $backup_sent, 10, "account_status counts the backup's 10 sends");
is(status_of('default')->{sent} - $default_sent, 0, 'and none for default');
like(sql("SELECT last_error FROM sms_ir.account_status() WHERE account = 'default'"), qr/500/,
	"account_status has default's last error");
is(sql("SELECT last_error_at > now() - interval '1 minute' FROM sms_ir.account_status() WHERE account = 'default'"),
	't', 'and when');
is(status_of('default')->{breaker}, 'open', 'default still open');

# Sleep until the default's breaker has been open for a cooldown (+ margin).
sub past_cooldown
{
	sql("SELECT pg_sleep(greatest(0, extract(epoch FROM last_error_at + interval '2.3 s' - clock_timestamp())))"
		  . " FROM sms_ir.account_status() WHERE account = 'default'");
}

# cooled down, sms.ir still failing: of three rows queued together one
# probes sms.ir, fails (over), and the breaker opens again
past_cooldown();
my $before = scalar @{ mock_requests($mock, '/v1/send/verify') };
my @p = split /\n/,
  sql("SELECT sms_ir.queue_template('09121234567', 'signup_otp', jsonb_build_object('code', c, 'price', '1'))"
	  . " FROM unnest(ARRAY['p1', 'p2', 'p3']) c");
is(final($_), 'sent', "row $_ sent while the probe fails") for @p;
is(scalar @{ mock_requests($mock, '/v1/send/verify') } - $before, 1, 'one probe request, not three');
is(status_of('default')->{breaker}, 'open', 'a failed probe opens the breaker again');

# cooled down again, sms.ir back: the probe succeeds and closes it
mock_clear_faults($mock);
past_cooldown();
$before = scalar @{ mock_requests($mock, '/v1/send/verify') };
$id = otp('bprobe');
is(final($id), 'sent', 'probe row sent');
is(row($id, "result->>'account'"), 'default', 'through sms.ir');
is(scalar @{ tagged('/v1/send/verify', 'bprobe') }, 1, 'one probe request');
is(scalar @{ tagged('/messages/send/template', 'bprobe') }, 0, 'not through the backup');
$st = status_of('default');
is($st->{breaker}, 'closed', 'breaker closed after a good probe');
is($st->{failures}, 0, 'consecutive_failures back to 0');
$id = otp('bafter');
is(final($id), 'sent', 'the next row sent');
is(row($id, "result->>'account'"), 'default', 'through sms.ir again');

# ---- 5. expiry: sms.ir down, no fallback ----------------------------------------
# The breaker and max_attempts out of the way: the row is retried until it
# runs out of time, not stopped by them.
worker_conf($node, fallback => '', breaker_failures => 1000, max_attempts => 100);
mock_reset($mock);
mock_fault($mock, { match => '/v1/send/verify', kind => 'status', status => 500, count => -1 });
$t0 = time();
$id = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"Code\": \"exp1\"}', valid_for => '2 seconds')");
is(final($id, 10), 'expired', 'valid_for ran out: expired');
my $took = time() - $t0;
cmp_ok($took, '>=', 1.5, sprintf('kept trying while valid (expired after %.2f s)', $took));
cmp_ok($took, '<', 4, 'expired soon after its expires_at');
is(row($id, "expires_at - created_at"), '00:00:02', 'valid_for set expires_at');
like(row($id, 'last_error'), qr/expire/i, 'last_error says why');
my $exp = row($id, 'extract(epoch FROM expires_at)');
my $tries = tagged('/v1/send/verify', 'exp1');
cmp_ok(scalar @$tries, '>=', 2, 'it was tried while valid (' . scalar(@$tries) . ' requests)');
# the mock logs a request when its headers arrive: a little after it started
is(scalar(grep { $_->{t} > $exp + 0.2 } @$tries), 0, 'no request started after expires_at');
mock_clear_faults($mock);
sleep(1.5);
is(scalar @{ tagged('/v1/send/verify', 'exp1') }, scalar @$tries, 'none once sms.ir works again');
is(row($id, 'status'), 'expired', 'still expired');
is(status_of('backup')->{sent} - $backup_sent, 13, 'the backup sent nothing more (no fallback)');

# ---- 6. lanes: an OTP queued behind a bulk backlog -----------------------------
worker_conf($node, max_concurrency => 1, worker_enabled => 'off');
mock_reset($mock);
is(sql("SELECT count(*) FROM generate_series(1, 2000) g, sms_ir.queue_bulk('bulk ' || g, ARRAY['09121234567'])"),
	'2000', '2000 bulk rows queued');
$id = sql("SELECT sms_ir.queue_verify('09121234567', 123456, '{\"Code\": \"lane1\"}')");
is(row($id, 'priority'), '10', 'verify row in the OTP lane');
is(sql("SELECT min(priority) || ',' || max(priority) FROM sms_ir.outbox WHERE kind = 'bulk' AND status = 'queued'"),
	'0,0', 'bulk rows in lane 0');
mock_fault($mock, { match => '/v1/send/bulk', kind => 'delay', delay_ms => 20, count => -1 });
worker_conf($node, worker_enabled => 'on');
is(final($id, 20), 'sent', 'the verify row sent');
my @all = @{ mock_requests($mock, '/v1/send/') };
my ($pos) = grep { param($all[$_], 'code') eq 'lane1' } 0 .. $#all;
$pos //= 1e9;
note("the verify request was number " . ($pos + 1) . " of " . scalar(@all));
cmp_ok($pos, '<', 20, 'the verify request is among the first 20, not behind the backlog');
cmp_ok(sql("SELECT count(*) FROM sms_ir.outbox WHERE kind = 'bulk' AND status = 'sent'"),
	'<', 1000, 'most of the backlog still waiting when it went');

stop_mock($mock);
$node->stop;
done_testing();
