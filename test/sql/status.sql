--
-- status: delivery reports, credit, lines, cancelling scheduled sends and
-- the raw sms_api() against the mock provider (SPEC §3, §4).
--
\set SHOW_CONTEXT never
SELECT sms_ir.sms_api('POST', '/__mock/reset');

------------------------------------------------------------------------
-- sms_credit and sms_lines
------------------------------------------------------------------------

-- the mock account starts with 10000
SELECT sms_ir.sms_credit();
SELECT method, path, body FROM sms_test.requests();

-- the credit goes down by the cost of each send: 1 + 8
SELECT * FROM sms_ir.sms_send_verify('09121234567', 123456, '{"Code": "1"}');
SELECT * FROM sms_ir.sms_send_bulk('Status',
  ARRAY['09121000001', '09121000002', '09121000003', '09121000004',
        '09121000005', '09121000006', '09121000007', '989121000008']);
SELECT sms_ir.sms_credit();

-- the account's sender lines, one row each
SELECT * FROM sms_ir.sms_lines();
SELECT method, path FROM sms_test.requests();

------------------------------------------------------------------------
-- sms_delivery_status(text)
------------------------------------------------------------------------

-- a message sent now reports delivered (deliveryState 1); the mobile comes
-- back in the canonical form
SELECT * FROM sms_ir.sms_delivery_status('89545112');
SELECT method, path, body FROM sms_test.requests();

-- every deliveryState, set through /__mock/delivery: 2..7 and an unmapped 99
SELECT bool_and((sms_ir.sms_api('POST', '/__mock/delivery',
                   jsonb_build_object('messageId', id, 'state', state)) ->> 'ok')::boolean) AS set
  FROM (VALUES (89545113, 2), (89545114, 3), (89545115, 4), (89545116, 5),
               (89545117, 6), (89545118, 7), (89545119, 99)) AS v(id, state);
SELECT d.*
  FROM unnest(ARRAY['89545113', '89545114', '89545115', '89545116', '89545117',
                    '89545118', '89545119', '89545120']) WITH ORDINALITY AS u(id, i),
       LATERAL sms_ir.sms_delivery_status(u.id) AS d
 ORDER BY u.i;

-- a report without a deliveryState yet is "queued"
SELECT sms_test.fault('{"match": "/v1/send/89545112", "kind": "status", "status": 200,
  "body": {"status": 1, "message": "موفق",
           "data": {"messageId": 89545112, "mobile": "9121234567", "deliveryState": null}}}');
SELECT * FROM sms_ir.sms_delivery_status('89545112');

-- an unknown id: provider code 111 is 42704
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status('1')$$);

-- a non-numeric id: the provider's ProblemDetails is 22023
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status('abc')$$);

-- ids are percent-encoded into the path: no way to reach another endpoint
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status('../credit?x=1%202')$$);
SELECT method, path FROM sms_test.requests();

------------------------------------------------------------------------
-- sms_delivery_status(text[])
------------------------------------------------------------------------

-- rows in the order of the ids, one request per id
SELECT sms_test.mock_count() AS requests_before \gset
SELECT * FROM sms_ir.sms_delivery_status(ARRAY['89545120', '89545112', '89545116', '89545112']);
SELECT sms_test.mock_count() - :requests_before AS new_requests;

-- an unknown id among them fails the whole call
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status(ARRAY['89545112', '1'])$$);

-- a NULL or empty id anywhere is rejected before the first request
SELECT sms_test.mock_count() AS requests_before \gset
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status(ARRAY['89545112', '89545113', NULL])$$);
SELECT sms_test.try($$SELECT sms_ir.sms_delivery_status(ARRAY['89545112', ''])$$);
SELECT sms_test.mock_count() - :requests_before AS new_requests;

------------------------------------------------------------------------
-- sms_cancel_scheduled
------------------------------------------------------------------------

-- a pack scheduled two hours ahead: cancelled once (true), then false
SELECT pack_id AS scheduled_pack
  FROM sms_ir.sms_send_bulk('Later', ARRAY['09121111111', '09122222222'],
                            send_at => now() + interval '2 hours') \gset
SELECT :'scheduled_pack' AS scheduled_pack;
SELECT sms_ir.sms_credit();
SELECT sms_ir.sms_cancel_scheduled(:'scheduled_pack');
SELECT method, path, body FROM sms_test.requests();
SELECT sms_ir.sms_cancel_scheduled(:'scheduled_pack');

-- the credit came back, and the cancelled messages report failed
SELECT sms_ir.sms_credit();
SELECT * FROM sms_ir.sms_delivery_status(ARRAY['89545121', '89545122']);

-- a pack sent at once cannot be cancelled: false
SELECT sms_ir.sms_cancel_scheduled('00000000-0000-4000-8000-000000000001');

-- a pack id that does not exist: false
SELECT sms_ir.sms_cancel_scheduled('00000000-0000-4000-8000-00000000ffff');
SELECT sms_ir.sms_cancel_scheduled('9b2f6c1e-3d4a-4f5b-8c7d-1e2f3a4b5c6d');

-- a malformed pack id is an error (the provider's ProblemDetails), not false
SELECT sms_test.fail($$SELECT sms_ir.sms_cancel_scheduled('not-a-guid')$$);

-- other failures are raised too, not turned into false
SELECT sms_test.fault('{"match": "/v1/send/scheduled/", "kind": "status", "status": 500}');
SELECT sms_test.try($$SELECT sms_ir.sms_cancel_scheduled('00000000-0000-4000-8000-000000000001')$$);

-- many "false" answers in a row, then an error: all reported intact
SELECT sms_ir.sms_cancel_scheduled('00000000-0000-4000-8000-0000000000' || lpad(i::text, 2, '0'))
  FROM generate_series(90, 94) AS i;
SELECT sms_test.fail($$SELECT sms_ir.sms_delivery_status('1')$$);

------------------------------------------------------------------------
-- sms_api
------------------------------------------------------------------------

-- GET /v1/credit returns the provider's whole envelope
SELECT sms_ir.sms_api('GET', '/v1/credit');

-- method names are case-insensitive; query strings pass through
SELECT sms_ir.sms_api('get', '/v1/line') -> 'data' AS lines;
SELECT sms_ir.sms_api('GET', '/v1/receive/latest?count=2');
SELECT method, path FROM sms_test.requests();

-- POST with a body: sent as JSON, as given
SELECT sms_ir.sms_api('POST', '/v1/send/verify',
  '{"mobile": "09121234567", "templateId": 100200, "parameters": [{"name": "order", "value": "77"}]}');
SELECT method, path, body FROM sms_test.requests();
SELECT r -> 'headers' ->> 'content-type' AS content_type,
       r -> 'headers' ->> 'x-api-key' = 'test-key' AS api_key_header_ok
  FROM sms_test.last_request() AS r;

-- DELETE
SELECT pack_id AS scheduled_pack
  FROM sms_ir.sms_send_bulk('Later', ARRAY['09121111111'],
                            send_at => now() + interval '3 hours') \gset
SELECT sms_ir.sms_api('DELETE', '/v1/send/scheduled/' || :'scheduled_pack');

-- failures are raised like the other functions': an envelope code, a
-- ProblemDetails reply, an unknown path, a method the path does not take
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/v1/send/1')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('POST', '/v1/send/bulk', '{"mobiles": []}')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('GET', '/v1/nothing-here')$$);
SELECT sms_test.fail($$SELECT sms_ir.sms_api('PUT', '/v1/credit', '{}')$$);
