// Browser tests of the dashboard against a real stack (tests/integration/test_dashboard.py
// starts it and runs this script): Debian's Chromium driven by playwright-core, real
// receivers on 127.0.0.1 (node's http servers below), the real gateway and dispatchers.
//
// Input: HL_E2E, a JSON object {base_url, tenant, tenant_key, admin_key, viewer_key, other_key,
// artifacts_dir}; HL_E2E_SCREENSHOTS=<dir> also saves the screenshots docs/dashboard.md
// shows. Prints one line per step and a summary; exits 1 when a step failed.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';

const cfg = JSON.parse(process.env.HL_E2E ?? '{}');
const BASE = cfg.base_url;
const SHOTS = process.env.HL_E2E_SCREENSHOTS || '';
const ARTIFACTS = cfg.artifacts_dir || '.';
// The machine is shared and loaded: generous timeouts everywhere.
const T = 30000;
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A real HTTP receiver on 127.0.0.1 answering status() to every request. */
async function receiver(status) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      const st = status();
      res.writeHead(st, { 'Content-Type': 'text/plain' });
      res.end(st < 300 ? 'ok\n' : 'failing on purpose\n');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/hook`, requests, close: () => server.close() };
}

/** The public API, for the test's own setup (never the way the UI is checked). */
async function api(key, method, p, body) {
  const res = await fetch(BASE + '/api/v1' + p, {
    method, headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function until(fn, what, timeout = 60000, every = 500) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
}

const results = [];
let broken = false;
async function step(name, fn) {
  if (broken) {
    results.push(['SKIP', name, 0]);
    console.log(`skip - ${name} (an earlier step failed)`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push(['PASS', name, Date.now() - t0]);
    console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    broken = true;
    results.push(['FAIL', name, Date.now() - t0]);
    console.log(`not ok - ${name}\n${String(e.stack || e).replace(/^/gm, '    ')}`);
    const file = path.join(ARTIFACTS, `dashboard-failure-${results.length}.png`);
    await page?.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.log(`    screenshot: ${file}`);
  }
}

async function shot(name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `dashboard-${name}.png`), fullPage: true });
}

const ok = await receiver(() => 200);
let fixed = false;
const flaky = await receiver(() => (fixed ? 200 : 500));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS, timeout: 60000 });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(T);
const foreign = [];
const consoleErrors = [];
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.origin !== new URL(BASE).origin && u.protocol !== 'data:') foreign.push(r.url());
});
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) consoleErrors.push(m.text());
});

/** Signs out (as a user would) and in again with key. */
async function signIn(key) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the key is forgotten at sign-out');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Opens a page of the dashboard afresh (a reload when it is the current one: an unchanged
 *  hash fires no hashchange) and waits until it has rendered. */
async function go(hash) {
  const url = BASE + '/ui/' + hash;
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await page.waitForFunction(() => {
    const m = document.querySelector('main#main');
    return m && !m.classList.contains('center') && !m.textContent.includes('Loading…');
  });
}

let hookId, testDeliveryId, flakyHook, flakyDeliveryId;

await step('sign in: a wrong key is refused, a tenant admin key signs in', async () => {
  await page.goto(BASE + '/ui/');
  await shot('signin');
  await page.getByLabel('API key').fill('hl_not-a-key-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
  await page.getByLabel('API key').fill(cfg.tenant_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  assert.equal(await page.getByTestId('role').textContent(), `tenant admin · ${cfg.tenant}`);
  // the key is in session storage only
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hookline.key')), cfg.tenant_key);
});

await step('create a webhook: the API\'s error is shown at its field, then fixed', async () => {
  await go('#/webhooks/new');
  await page.getByLabel('URL').fill('http://10.0.0.1/hook'); // refused by SSRF protection: never contacted
  await page.getByLabel('Events').fill('*');
  await page.getByLabel('Name', { exact: true }).fill('orders to the shop');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const urlError = page.locator('[data-field="/url"] .field-error');
  await urlError.filter({ hasText: 'not allowed' }).waitFor();
  assert.equal(await page.getByLabel('URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-pointer')), '/url');
  await shot('webhook-form-error');
  await page.getByLabel('URL').fill(ok.url);
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const secret = await page.getByTestId('once-value').textContent({ timeout: T });
  assert.match(secret, /^whsec_/);
  await page.getByRole('link', { name: 'Go to the webhook' }).click();
  await page.getByRole('heading', { name: 'orders to the shop' }).waitFor();
  hookId = new URL(page.url()).hash.split('/')[2];
  const w = await api(cfg.tenant_key, 'GET', `/webhooks/${hookId}`);
  assert.equal(w.url, ok.url);
});

await step('send a test and see it succeed at a real receiver', async () => {
  await page.getByRole('button', { name: 'Send test' }).click();
  await page.locator('[data-testid=test-outcome][data-status=succeeded]').waitFor({ timeout: 60000 });
  const href = await page.getByRole('link', { name: 'Show the delivery' }).getAttribute('href');
  testDeliveryId = href.split('/').pop();
  const got = ok.requests.find((r) => r.headers['webhook-id'] === testDeliveryId);
  assert.ok(got, `the receiver got no request with webhook-id ${testDeliveryId}`);
  assert.equal(JSON.parse(got.body).event, 'system.webhook.test');
});

await step('watch a failing delivery\'s attempts appear', async () => {
  await api(cfg.tenant_key, 'POST', '/event-types', { name: 'order.created' }).catch(() => {});
  flakyHook = await api(cfg.tenant_key, 'POST', '/webhooks', {
    url: flaky.url, events: ['order.created'], name: 'flaky endpoint',
    retry_policy: { strategy: 'fixed', max_attempts: 4, initial_delay_ms: 3000, max_delay_ms: 3000 },
  });
  // the dispatchers see a new webhook within 2 s (docs/api.md); wait it out
  await new Promise((r) => setTimeout(r, 2500));
  await api(cfg.tenant_key, 'POST', '/events', { event: 'order.created', data: { order_id: 42 } });
  await until(async () => {
    await go(`#/deliveries?webhook_id=${flakyHook.id}`);
    return (await page.locator('tr[data-delivery]').count()) > 0;
  }, 'the delivery in the log');
  await shot('deliveries');
  flakyDeliveryId = await page.locator('tr[data-delivery]').first().getAttribute('data-delivery');
  await page.locator('tr[data-delivery]').first().getByRole('link', { name: 'Show' }).click();
  const count = page.getByTestId('attempt-count');
  await count.waitFor();
  const seen = new Set();
  const first = Number(await count.textContent());
  // the page refreshes itself: no reload from here on
  await until(async () => {
    seen.add(Number(await count.textContent()));
    return (await page.getByTestId('delivery-status').textContent()) === 'failed';
  }, 'the delivery to fail after 4 attempts', 90000, 200);
  assert.equal(Number(await count.textContent()), 4);
  assert.ok(first < 4 && seen.size >= 2, `attempts did not appear while watching (first ${first}, seen ${[...seen]})`);
  const rows = page.getByRole('region', { name: 'Attempts' }).locator('tbody tr');
  assert.equal(await rows.count(), 4);
  assert.match(await rows.first().textContent(), /500.*http_status/);
  assert.ok(flaky.requests.length >= 4);
  await shot('delivery-failed');
});

await step('the overview shows the volume, the failure rate and the failing webhook', async () => {
  await go('#/');
  const volume = Number((await page.getByTestId('tile-volume').locator('.tile-value').textContent()).replace(/,/g, ''));
  assert.ok(volume >= 2, `volume ${volume}`);
  assert.match(await page.getByTestId('tile-failure-rate').textContent(), /\d+(\.\d)? %/);
  await page.getByRole('region', { name: 'Webhooks that need attention' }).getByText('flaky endpoint').waitFor();
  await shot('overview');
});

await step('retry the failed delivery after fixing the receiver', async () => {
  fixed = true;
  const before = flaky.requests.length;
  await go(`#/deliveries/${flakyDeliveryId}`);
  await page.getByRole('button', { name: 'Retry' }).click();
  await until(async () => (await page.getByTestId('delivery-status').textContent()) === 'succeeded',
    'the retried delivery to succeed', 60000, 300);
  assert.equal(Number(await page.getByTestId('attempt-count').textContent()), 5);
  assert.equal(flaky.requests.length, before + 1);
  assert.equal(flaky.requests.at(-1).headers['webhook-id'], flakyDeliveryId);
  // nothing failed or skipped is left to replay (times are UTC, as the form says)
  await go(`#/webhooks/${flakyHook.id}`);
  await page.getByLabel('Since').fill(new Date(Date.now() - 3600e3).toISOString().slice(0, 16));
  await page.getByRole('button', { name: 'Replay' }).click();
  await page.getByRole('status').filter({ hasText: '0 deliveries replayed.' }).waitFor();
});

await step('the webhook page charts its stats', async () => {
  await go(`#/webhooks/${flakyHook.id}`);
  await page.locator('figure svg.chart').first().waitFor();
  assert.equal(await page.locator('figure svg.chart').count(), 2);
  assert.match(await page.getByTestId('stat-success-rate').textContent(), /100 %/);
  await page.getByRole('region', { name: 'Recent deliveries' }).getByText('succeeded').waitFor();
  await shot('webhook');
  await go('#/webhooks');
  await shot('webhooks');
});

await step('pause, resume, rotate the secret, and delete only after confirming', async () => {
  await go(`#/webhooks/${hookId}`);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.locator('h1 + .badge[data-status=paused]').waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('h1 + .badge[data-status=active]').waitFor();
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  const secret = await page.getByTestId('once-value').textContent();
  assert.match(secret, /^whsec_/);
  assert.ok((await api(cfg.tenant_key, 'GET', `/webhooks/${hookId}`)).previous_secret_expires_at);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await api(cfg.tenant_key, 'GET', `/webhooks/${hookId}`); // still there
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete webhook' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await until(async () => (await fetch(`${BASE}/api/v1/webhooks/${hookId}`, { headers: { Authorization: 'Bearer ' + cfg.tenant_key } })).status === 404, 'the webhook to be gone', 10000);
});

await step('event types, sources, extensions and API keys', async () => {
  await go('#/event-types');
  await page.getByRole('cell', { name: 'system.webhook.test' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('invoice.paid');
  const schema = page.getByLabel('Payload schema (JSON Schema, optional)');
  await schema.fill('{"type": "object", ');
  await page.locator('[data-field="/schema"] .field-error').filter({ hasText: 'not valid JSON' }).waitFor();
  await schema.fill('{"type": "object", "required": ["invoice_id"]}');
  assert.equal(await page.locator('[data-field="/schema"] .field-error').textContent(), '');
  await page.getByRole('button', { name: 'Create event type' }).click();
  await page.getByRole('link', { name: 'invoice.paid' }).click();
  await page.getByText('"invoice_id"').first().waitFor();
  // the schema is the API's now: an event without invoice_id is refused
  const bad = await fetch(`${BASE}/api/v1/events`, { method: 'POST', headers: { Authorization: 'Bearer ' + cfg.tenant_key, 'Content-Type': 'application/json' }, body: JSON.stringify({ event: 'invoice.paid', data: {} }) });
  assert.equal(bad.status, 422);

  await go('#/sources');
  await page.getByLabel('Name', { exact: true }).fill('partner');
  await page.getByLabel('Verification').selectOption('api_key');
  await page.getByLabel('Header (HMAC, API key)').fill('X-Partner-Key');
  await page.getByRole('button', { name: 'Create source' }).click();
  const credential = await page.getByTestId('once-value').textContent();
  const incoming = await page.getByRole('status').locator('code').first().textContent();
  assert.match(incoming, new RegExp(`^${BASE}/api/v1/incoming/[0-9a-f-]{36}$`));
  const sent = await fetch(incoming, { method: 'POST', headers: { 'X-Partner-Key': credential, 'Content-Type': 'application/json' }, body: '{"hello":"world"}' });
  assert.equal(sent.status, 202, 'the URL and credential the page showed work');

  await go('#/extensions');
  await page.getByLabel('Extension key').fill('k12.sync');
  await page.getByLabel('Capabilities').fill('k12, roster');
  await page.getByRole('button', { name: 'Register extension' }).click();
  // the API reports missing members at the body: they are shown at their own fields
  await page.locator('[data-field="/display_name"] .field-error').filter({ hasText: 'missing required property' }).waitFor();
  await page.locator('[data-field="/version"] .field-error').filter({ hasText: 'missing required property' }).waitFor();
  await page.getByLabel('Display name').fill('K-12 sync');
  await page.getByLabel('Version').fill('1.2.0');
  await page.getByRole('button', { name: 'Register extension' }).click();
  await page.getByRole('cell', { name: 'k12, roster' }).waitFor();

  await go('#/api-keys');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByLabel('Name', { exact: true }).fill('wallboard');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.getByTestId('once-value').textContent();
  assert.equal((await fetch(`${BASE}/api/v1/webhooks`, { headers: { Authorization: 'Bearer ' + key } })).status, 200);
  await go('#/api-keys');
  const row = page.locator('tr').filter({ hasText: 'wallboard' });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.locator('tr').filter({ hasText: 'wallboard' }).filter({ hasText: 'revoked' }).waitFor();
  assert.equal((await fetch(`${BASE}/api/v1/webhooks`, { headers: { Authorization: 'Bearer ' + key } })).status, 401);
});

await step('an admin key chooses the tenant it acts on', async () => {
  await signIn(cfg.admin_key);
  assert.equal(await page.getByTestId('role').textContent(), 'admin');
  await page.getByRole('heading', { name: 'Choose a tenant' }).waitFor();
  await page.getByLabel('Tenant', { exact: true }).selectOption(cfg.tenant);
  await page.getByTestId('tile-volume').waitFor();
  await go('#/webhooks');
  await page.getByRole('link', { name: 'flaky endpoint' }).waitFor();
  await go('#/tenants');
  await page.getByRole('region', { name: 'Tenants' }).getByText(cfg.tenant, { exact: true }).waitFor();
});

await step('a viewer key sees no edit controls', async () => {
  await signIn(cfg.viewer_key);
  assert.equal(await page.getByTestId('role').textContent(), 'viewer');
  await go('#/webhooks');
  await page.getByRole('link', { name: 'flaky endpoint' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New webhook' }).count(), 0);
  await go(`#/webhooks/${flakyHook.id}`);
  await page.getByRole('heading', { name: 'flaky endpoint' }).waitFor();
  for (const name of ['Send test', 'Pause', 'Delete', 'Rotate secret', 'Replay'])
    assert.equal(await page.getByRole('button', { name }).count(), 0, `viewer sees '${name}'`);
  assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  await go(`#/deliveries/${flakyDeliveryId}`);
  await page.getByTestId('delivery-status').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Retry' }).count(), 0);
  await go('#/event-types');
  assert.equal(await page.getByRole('button', { name: 'Create event type' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'API keys' }).count(), 0);
});

await step('another tenant\'s key sees nothing of the first', async () => {
  await signIn(cfg.other_key);
  await go('#/webhooks');
  await page.getByText('0 webhooks').waitFor();
  assert.equal(await page.locator('tr[data-webhook]').count(), 0);
  await go('#/deliveries');
  assert.equal(await page.locator('tr[data-delivery]').count(), 0);
  await go(`#/webhooks/${hookId}`);
  await page.getByRole('alert').filter({ hasText: 'HTTP 404' }).waitFor();
  await go(`#/deliveries/${flakyDeliveryId}`);
  await page.getByRole('alert').filter({ hasText: 'HTTP 404' }).waitFor();
  assert.equal(await page.getByText('flaky endpoint').count(), 0);
});

await step('keyboard: the skip link comes first, and a followed link focuses the new page', async () => {
  await go('#/webhooks');
  await go('#/webhooks'); // a fresh load (the same page again reloads it): focus at the top
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  // following a link with the keyboard lands on the new page's content, which names itself
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
  await until(async () => (await page.evaluate(() => document.activeElement?.id)) === 'main', 'focus on the content', 5000, 100);
  assert.equal(await page.title(), 'Deliveries · Hookline');
});

await step('phone width: nothing wider than the screen', async () => {
  await signIn(cfg.tenant_key);
  await page.setViewportSize({ width: 390, height: 844 });
  for (const hash of ['#/', '#/webhooks', `#/webhooks/${flakyHook.id}`, `#/deliveries/${flakyDeliveryId}`]) {
    await go(hash);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `${hash} is ${width} px wide`);
  }
  await go(`#/webhooks/${flakyHook.id}`);
  await shot('phone');
  await page.setViewportSize({ width: 1280, height: 900 });
});

await step('no request left for another host, and nothing broke the CSP', async () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Refused to/.test(e)), []);
});

await browser.close();
ok.close();
flaky.close();
const failed = results.filter((r) => r[0] !== 'PASS').length;
console.log(`\n===== dashboard browser tests: ${results.length - failed} passed, ${results.filter((r) => r[0] === 'FAIL').length} failed, ${results.filter((r) => r[0] === 'SKIP').length} skipped =====`);
for (const [st, name, ms] of results) console.log(`${st}  ${name} (${(ms / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
