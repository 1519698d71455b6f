// Unit tests of the dashboard's DOM-free logic (src/lib.ts), run by CTest (ui_unit) with
// node's built-in test runner.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  attentionReason, barGeometry, breakerOpenWebhooks, canEdit, canonical, deliveryInFlight, fieldErrors, fmtMs, fmtPercent, fmtTime,
  localInputToIso, parseHash, parseJsonField, parseList, problemSummary, queryString, roleFromProbes, summarize,
  webhookBody, webhookFormValues,
} from '../../src/lib';

test('roles come from what the key may read', () => {
  assert.equal(roleFromProbes(200, 400, 200), 'admin');
  assert.equal(roleFromProbes(403, 200, 200), 'tenant_admin');
  assert.equal(roleFromProbes(403, 200, 403), 'viewer');
  assert.equal(roleFromProbes(403, 403, 403), 'publisher');
  assert.equal(roleFromProbes(401, 401, 401), 'invalid');
  assert.equal(canEdit('viewer'), false);
  assert.equal(canEdit('tenant_admin'), true);
});

test('problem pointers go to the field with the longest matching pointer', () => {
  const fields = ['/url', '/events', '/auth', '/auth/token', '/retry_policy', '/retry_policy/max_delay_ms', '/headers'];
  const fe = fieldErrors({
    errors: [
      { pointer: '/url', detail: 'host not allowed' },
      { pointer: '/events/1', detail: 'is not in the event-type catalog' },
      { pointer: '/auth/token', detail: 'too short' },
      { pointer: '/auth', detail: 'bad shape' },
      { pointer: '/retry_policy/max_delay_ms', detail: 'must be >= initial' },
      { pointer: '/headers/Content-Length', detail: 'is reserved' },
      { pointer: '', detail: 'no value is allowed here' },
      { pointer: '/bogus', detail: 'unknown' },
    ],
  }, fields);
  assert.deepEqual(fe.byField.get('/url'), ['host not allowed']);
  assert.deepEqual(fe.byField.get('/events'), ['1: is not in the event-type catalog']);
  assert.deepEqual(fe.byField.get('/auth/token'), ['too short']);
  assert.deepEqual(fe.byField.get('/auth'), ['bad shape']);
  assert.deepEqual(fe.byField.get('/retry_policy/max_delay_ms'), ['must be >= initial']);
  assert.deepEqual(fe.byField.get('/headers'), ['Content-Length: is reserved']);
  assert.deepEqual(fe.general, ['no value is allowed here', '/bogus: unknown']);
  // "/urlx" is not under "/url"
  assert.deepEqual(fieldErrors({ errors: [{ pointer: '/urlx', detail: 'd' }] }, ['/url']).general, ['/urlx: d']);
  assert.equal(fieldErrors(null, fields).general.length, 0);
  // a missing member is reported at its parent: it goes to the member's field
  const missing = fieldErrors({ errors: [{ pointer: '', keyword: 'required', detail: "missing required property 'url'" },
    { pointer: '/retry_policy', keyword: 'required', detail: "missing required property 'strategy'" }] }, ['/url', '/retry_policy']);
  assert.deepEqual(missing.byField.get('/url'), ["missing required property 'url'"]);
  assert.deepEqual(missing.byField.get('/retry_policy'), ["missing required property 'strategy'"]);
});

test('problems read as hooklinectl prints them', () => {
  assert.equal(problemSummary({ title: 'Invalid request', status: 400, detail: 'the webhook is not valid' }, 400),
    'Invalid request (HTTP 400): the webhook is not valid');
  assert.equal(problemSummary(null, 502), 'Request failed (HTTP 502)');
});

test('query strings leave out empty parameters', () => {
  assert.equal(queryString({ limit: 50, status: '', cursor: null, event: 'a.b' }), '?limit=50&event=a.b');
  assert.equal(queryString({ a: undefined }), '');
  assert.equal(queryString({ since: '2026-12-05T10:00:00Z' }), '?since=2026-12-05T10%3A00%3A00Z');
});

test('hash routes', () => {
  const r = parseHash('#/deliveries/msg_1?status=failed&webhook_id=x');
  assert.deepEqual(r.path, ['deliveries', 'msg_1']);
  assert.equal(r.query.get('status'), 'failed');
  assert.deepEqual(parseHash('').path, []);
  assert.deepEqual(parseHash('#/event-types/order.created').path, ['event-types', 'order.created']);
});

test('figures', () => {
  assert.equal(fmtPercent(null), '–');
  assert.equal(fmtPercent(1), '100 %');
  assert.equal(fmtPercent(0.9234), '92.3 %');
  assert.equal(fmtMs(12.4), '12 ms');
  assert.equal(fmtMs(30000), '30.0 s');
  assert.equal(fmtTime('2026-12-05T12:30:01.123Z'), '2026-12-05 12:30:01 UTC');
  assert.equal(localInputToIso('2026-12-05T12:30'), '2026-12-05T12:30:00Z');
  assert.equal(localInputToIso(''), '');
  assert.deepEqual(parseList('a.b, c.*  a.b,,*'), ['a.b', 'c.*', '*']);
});

test('JSON text areas', () => {
  assert.deepEqual(parseJsonField('  ', {}), { ok: true, value: {} });
  assert.deepEqual(parseJsonField('{"a":1}', null), { ok: true, value: { a: 1 } });
  const bad = parseJsonField('{"a":', null);
  assert.equal(bad.ok, false);
});

const defaults = webhookFormValues({});

test('a new webhook body sends what the form holds and leaves empty numbers to the API', () => {
  const { body, errors } = webhookBody({ ...defaults, '/url': ' https://example.com/h ', '/events': 'order.created, invoice.*', '/retry_policy/max_attempts': '3', '/headers': '{"X-Team":"b"}' });
  assert.deepEqual(errors, []);
  assert.equal(body.url, 'https://example.com/h');
  assert.deepEqual(body.events, ['order.created', 'invoice.*']);
  assert.deepEqual(body.retry_policy, { strategy: 'exponential', max_attempts: 3 });
  assert.deepEqual(body.headers, { 'X-Team': 'b' });
  assert.deepEqual(body.auth, { type: 'none' });
  assert.equal('timeout_ms' in body, false);
  assert.equal('rate_limit_per_s' in body, false);
  assert.equal('secret' in body, false);
  assert.deepEqual(body.signature, { standard: true, legacy: true, legacy_header: 'X-Webhook-Signature', v1a: false });
});

test('a number that is not one is sent as typed, for the API to name the field', () => {
  const { body } = webhookBody({ ...defaults, '/url': 'https://e.com', '/events': '*', '/timeout_ms': '5s' });
  assert.equal(body.timeout_ms, '5s');
});

test('JSON that does not parse is an error at its field', () => {
  const { errors } = webhookBody({ ...defaults, '/url': 'https://e.com', '/events': '*', '/metadata': '{oops' });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].pointer, '/metadata');
});

const stored = {
  id: 'w1', url: 'https://e.com/h', events: ['*'], name: 'n', description: '', method: 'POST', status: 'active',
  headers: {}, auth: { type: 'bearer' }, metadata: {}, timeout_ms: 30000, rate_limit_per_s: 5, max_concurrency: null,
  retry_policy: { strategy: 'exponential', max_attempts: 6, initial_delay_ms: 5000, max_delay_ms: 3600000 },
  signature: { standard: true, legacy: true, legacy_header: 'X-Webhook-Signature', v1a: false },
};

test('an edit sends only what changed, and keeps stored credentials', () => {
  const v = webhookFormValues(stored);
  assert.deepEqual(webhookBody(v, stored).body, {});
  const { body } = webhookBody({ ...v, '/name': 'renamed', '/retry_policy/max_attempts': '3', '/rate_limit_per_s': '' }, stored);
  assert.deepEqual(body, { name: 'renamed', retry_policy: { max_attempts: 3 }, rate_limit_per_s: null });
  const withToken = webhookBody({ ...v, '/auth/token': 'new-token' }, stored).body;
  assert.deepEqual(withToken, { auth: { type: 'bearer', token: 'new-token' } });
  const none = webhookBody({ ...v, '/auth/type': 'none' }, stored).body;
  assert.deepEqual(none, { auth: { type: 'none' } });
});

test('canonical JSON ignores member order', () => {
  assert.equal(canonical({ b: 1, a: [1, { d: 2, c: 3 }] }), canonical({ a: [1, { c: 3, d: 2 }], b: 1 }));
  assert.notEqual(canonical([1, 2]), canonical([2, 1]));
});

test('the overview: volume, failure rate, and what needs attention', () => {
  const s = summarize([
    { deliveries: 10, succeeded: 8, failed: 2, pending: 0, skipped: 0, success_rate: 0.8 },
    { deliveries: 5, succeeded: 0, failed: 0, pending: 5, skipped: 0, success_rate: null },
  ]);
  assert.deepEqual(s, { deliveries: 15, succeeded: 8, failed: 2, failureRate: 0.2 });
  assert.equal(summarize([]).failureRate, null);
  assert.equal(attentionReason({ status: 'disabled', disabled_reason: '410 gone' }, null), 'disabled: 410 gone');
  assert.match(attentionReason({ status: 'active' }, { deliveries: 10, succeeded: 5, failed: 5, pending: 0, skipped: 0, success_rate: 0.5 })!, /success rate 50.0 %/);
  assert.equal(attentionReason({ status: 'active' }, { deliveries: 100, succeeded: 99, failed: 1, pending: 0, skipped: 0, success_rate: 0.99 }), '1 failed delivery');
  assert.equal(attentionReason({ status: 'active' }, { deliveries: 3, succeeded: 3, failed: 0, pending: 0, skipped: 0, success_rate: 1 }), null);
  assert.equal(attentionReason({ status: 'paused' }, null), null);
  assert.equal(attentionReason({ status: 'active' }, null, true), 'circuit breaker open: deliveries wait');
  assert.equal(attentionReason({ status: 'disabled', disabled_reason: null }, null, true), 'disabled');
  const open = breakerOpenWebhooks([{ webhook_id: 'a', last_error_class: 'circuit_open' }, { webhook_id: 'b', last_error_class: 'http_status' }, { webhook_id: 'c' }]);
  assert.deepEqual([...open], ['a']);
});

test('bars scale to the largest value and fit the area', () => {
  const bars = barGeometry([{ label: 'a', value: 10 }, { label: 'b', value: 5 }, { label: 'c', value: null }], 300, 100);
  assert.equal(bars.length, 3);
  assert.equal(bars[0].h, 100);
  assert.equal(bars[0].y, 0);
  assert.equal(bars[1].h, 50);
  assert.equal(bars[2].h, 0);
  for (const b of bars) assert.ok(b.x >= 0 && b.x + b.w <= 300);
  assert.equal(barGeometry([{ label: 'z', value: 0 }], 100, 100)[0].h, 0);
  assert.deepEqual(barGeometry([], 100, 100), []);
});

test('deliveries in flight', () => {
  assert.equal(deliveryInFlight('pending'), true);
  assert.equal(deliveryInFlight('retrying'), true);
  assert.equal(deliveryInFlight('failed'), false);
});
