// Webhooks: the list (status, event, search), the create/edit form with the API's errors
// next to their fields, and a webhook's page: its settings, pause/resume, rotate-secret,
// test, delete, replay, stats over a chosen window and its recent deliveries. Words as in
// hooklinectl's webhooks:* commands.
import { ApiError } from '../api';
import { barChart } from '../charts';
import { apiForm, badge, confirmDialog, dl, field, formValues, h, link, problemBox, shownOnce, table } from '../dom';
import { fmtCount, fmtMs, fmtPercent, fmtTime, localInputToIso, queryString, Stats, webhookBody, webhookFormValues } from '../lib';
import type { App } from './index';

const STATUSES: [string, string][] = [['', 'any status'], ['active', 'active'], ['paused', 'paused'], ['disabled', 'disabled']];

export async function webhooksPage(a: App, _path: string[], query: URLSearchParams): Promise<Node> {
  const status = query.get('status') ?? '';
  const event = query.get('event') ?? '';
  const search = query.get('q') ?? '';
  const rows = h('tbody');
  const more = h('div', { class: 'actions' });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  let shown = 0;

  const load = async (cursor: string | null) => {
    const page = await a.api.get(`/webhooks${queryString({ limit: 50, status, event, cursor })}`);
    const needle = search.toLowerCase();
    for (const w of page.data) {
      if (needle && ![w.name, w.url, w.description, w.id].some((s: string) => (s ?? '').toLowerCase().includes(needle))) continue;
      shown++;
      rows.appendChild(h('tr', { 'data-webhook': w.id },
        h('td', null, link(`#/webhooks/${w.id}`, w.name || '(unnamed)')),
        h('td', { class: 'url' }, w.url),
        h('td', null, w.events.join(', ')),
        h('td', null, badge(w.status))));
    }
    count.textContent = `${shown} webhook${shown === 1 ? '' : 's'}${page.next_cursor ? ' so far' : ''}`;
    more.replaceChildren(page.next_cursor ? h('button', { type: 'button', class: 'secondary', onclick: () => load(page.next_cursor).catch((e) => more.replaceChildren(problemBox(e))) }, 'Load more') : '');
  };
  await load(null);

  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter webhooks' },
    field('Status', 'status', { options: STATUSES, value: status }),
    field('Receives event', 'event', { value: event, placeholder: 'order.created' }),
    field('Search', 'q', { value: search, placeholder: 'name or URL', type: 'search' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(filters);
    a.go('#/webhooks' + queryString({ status: v.status as string, event: v.event as string, q: v.q as string }));
  });

  return h('section', null,
    h('div', { class: 'title-row' }, h('h1', null, 'Webhooks'), a.edit ? h('a', { class: 'button', href: '#/webhooks/new' }, 'New webhook') : null),
    filters, count,
    h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Webhooks', tabindex: 0 },
      h('table', null, h('thead', null, h('tr', null, ['Name', 'URL', 'Events', 'Status'].map((t) => h('th', { scope: 'col' }, t)))), rows)),
    more);
}

async function catalogList(a: App): Promise<HTMLDataListElement> {
  const list = h('datalist', { id: 'event-type-names' });
  const cat = await a.api.get('/event-types').catch(() => ({ data: [] }));
  for (const t of cat.data) list.appendChild(h('option', { value: t.name }));
  return list;
}

export async function webhookEditPage(a: App, path: string[]): Promise<Node> {
  const id = path[1] === 'new' ? null : path[1];
  if (!a.edit) return h('p', null, 'Your key may only read webhooks.');
  const original = id ? await a.api.get(`/webhooks/${id}`) : null;
  const v = original ? webhookFormValues(original) : webhookFormValues({});
  const list = await catalogList(a);
  const s = (k: string) => v[k] as string;
  const authFields = h('div', { class: 'auth-fields' });
  const authType = field('Authentication', '/auth', { options: [['none', 'none'], ['basic', 'basic'], ['bearer', 'bearer token'], ['api_key', 'API key header'], ['hmac', 'HMAC of the body']], value: s('/auth/type') });
  const authSelect = authType.querySelector('select')!;
  authSelect.dataset.pointer = '/auth/type';
  const renderAuth = () => {
    const t = authSelect.value;
    const keep = original && original.auth?.type === t ? ' (leave empty to keep the stored one)' : '';
    authFields.replaceChildren(...({
      none: [],
      basic: [field('Username', '/auth/username', { value: s('/auth/username') }), field('Password' + keep, '/auth/password', { type: 'password' })],
      bearer: [field('Token' + keep, '/auth/token', { type: 'password' })],
      api_key: [field('Header', '/auth/header', { value: s('/auth/header') }), field('Value' + keep, '/auth/value', { type: 'password' })],
      hmac: [field('Secret (16+ characters)' + keep, '/auth/secret', { type: 'password' }), field('Header', '/auth/header', { value: s('/auth/header'), placeholder: 'X-Hookline-Hmac' })],
    } as Record<string, HTMLElement[]>)[t] ?? []);
  };
  authSelect.addEventListener('change', renderAuth);
  renderAuth();
  const result = h('div');

  const form = apiForm(id ? 'Edit webhook' : 'New webhook', id ? 'Save' : 'Create webhook', [
    h('fieldset', null, h('legend', null, 'Endpoint'),
      field('URL', '/url', { value: s('/url'), required: true, placeholder: 'https://example.com/hooks', type: 'url' }),
      field('Events', '/events', { value: s('/events'), required: true, hint: 'Event types, comma-separated: order.created, invoice.*, or * for everything.', list: 'event-type-names' }),
      list,
      field('Name', '/name', { value: s('/name') }),
      field('Description', '/description', { value: s('/description') }),
      field('Method', '/method', { options: [['POST', 'POST'], ['PUT', 'PUT'], ['PATCH', 'PATCH']], value: s('/method') }),
      field('Status', '/status', { options: id ? [['active', 'active'], ['paused', 'paused'], ['disabled', 'disabled']] : [['active', 'active'], ['paused', 'paused']], value: s('/status') }),
      id ? null : field('Signing secret', '/secret', { hint: 'Optional: whsec_ + base64 of 24..64 bytes. Generated when empty, and shown once.' })),
    h('fieldset', { 'data-field': '/auth' }, h('legend', null, 'Credentials sent with each delivery'), authType, authFields),
    h('fieldset', { 'data-field': '/retry_policy' }, h('legend', null, 'Retries and limits'),
      field('Retry strategy', '/retry_policy/strategy', { options: [['exponential', 'exponential'], ['linear', 'linear'], ['fixed', 'fixed']], value: s('/retry_policy/strategy') }),
      field('Attempts in all', '/retry_policy/max_attempts', { value: s('/retry_policy/max_attempts'), placeholder: '6', hint: '1..20, the first attempt included' }),
      field('First retry after (ms)', '/retry_policy/initial_delay_ms', { value: s('/retry_policy/initial_delay_ms'), placeholder: '5000' }),
      field('Longest delay (ms)', '/retry_policy/max_delay_ms', { value: s('/retry_policy/max_delay_ms'), placeholder: '3600000' }),
      field('Timeout per attempt (ms)', '/timeout_ms', { value: s('/timeout_ms'), placeholder: '30000' }),
      field('Rate limit (deliveries/s)', '/rate_limit_per_s', { value: s('/rate_limit_per_s'), placeholder: 'no limit' }),
      field('Concurrency limit', '/max_concurrency', { value: s('/max_concurrency'), placeholder: 'no limit' })),
    h('fieldset', { 'data-field': '/signature' }, h('legend', null, 'Signatures'),
      field('Standard Webhooks signature (webhook-signature)', '/signature/standard', { type: 'checkbox', value: v['/signature/standard'] }),
      field('Legacy signature header', '/signature/legacy', { type: 'checkbox', value: v['/signature/legacy'] }),
      field('Legacy header name', '/signature/legacy_header', { value: s('/signature/legacy_header') }),
      field('ed25519 signature (v1a)', '/signature/v1a', { type: 'checkbox', value: v['/signature/v1a'] })),
    h('fieldset', null, h('legend', null, 'Extra'),
      field('Headers (JSON object)', '/headers', { rows: 3, value: s('/headers'), placeholder: '{"X-Team": "billing"}' }),
      field('Metadata (JSON object)', '/metadata', { rows: 3, value: s('/metadata'), placeholder: '{"owner": "team-b"}' })),
  ], async (f) => {
    const { body, errors } = webhookBody(formValues(f), original ?? undefined);
    if (errors.length) throw new ApiError(400, { title: 'Invalid input', detail: 'fix the fields marked below', errors });
    if (id && Object.keys(body).length === 0) {
      a.go(`#/webhooks/${id}`);
      return;
    }
    const w = await a.api.request(id ? 'PATCH' : 'POST', id ? `/webhooks/${id}` : '/webhooks', body);
    if (id) {
      a.go(`#/webhooks/${id}`);
      return;
    }
    f.remove();
    result.replaceChildren(
      h('p', { role: 'status' }, 'Webhook created.'),
      shownOnce('Signing secret', w.secret, 'Shown only now: store it with the receiver. Rotate it from the webhook\'s page to get a new one.'),
      h('p', null, link(`#/webhooks/${w.id}`, 'Go to the webhook')));
    result.querySelector<HTMLElement>('.once')?.focus();
  });
  return h('section', null,
    h('h1', null, id ? `Edit ${original.name || original.url}` : 'New webhook'),
    form, result);
}

export async function webhookPage(a: App, path: string[]): Promise<Node> {
  const id = path[1];
  const w = await a.api.get(`/webhooks/${id}`);
  const panel = h('div', { class: 'panel', 'aria-live': 'polite' });
  const act = (label: string, fn: () => Promise<void>, cls = 'secondary') => {
    const b = h('button', { type: 'button', class: cls }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await fn();
      } catch (e) {
        panel.replaceChildren(problemBox(e));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const actions = a.edit ? h('div', { class: 'actions toolbar', role: 'toolbar', 'aria-label': 'Webhook actions' },
    h('a', { class: 'button secondary', href: `#/webhooks/${id}/edit` }, 'Edit'),
    w.status === 'active'
      ? act('Pause', async () => { await a.api.request('POST', `/webhooks/${id}/pause`); a.refresh(); })
      : act('Resume', async () => { await a.api.request('POST', `/webhooks/${id}/resume`); a.refresh(); }),
    act('Send test', async () => {
      panel.replaceChildren(h('p', { 'data-testid': 'test-outcome' }, 'Sending a system.webhook.test event and waiting for the outcome…'));
      const d = await a.api.request('POST', `/webhooks/${id}/test?wait=true`);
      panel.replaceChildren(h('p', { 'data-testid': 'test-outcome', 'data-status': d.status },
        'Test delivery ', badge(d.status),
        d.last_status_code ? ` HTTP ${d.last_status_code}` : '',
        d.last_error ? ` (${d.last_error_class ?? ''}: ${d.last_error})` : '',
        ' ', link(`#/deliveries/${d.id}`, 'Show the delivery')));
    }),
    act('Rotate secret', async () => {
      if (!(await confirmDialog('Rotate the signing secret? The old one keeps signing for 24 hours alongside the new one.', 'Rotate secret'))) return;
      const r = await a.api.request('POST', `/webhooks/${id}/rotate-secret`, {});
      panel.replaceChildren(shownOnce('New signing secret', r.secret, `Shown only now. The old secret keeps signing until ${fmtTime(r.previous_secret_expires_at)}.`));
    }),
    act('Delete', async () => {
      if (!(await confirmDialog(`Delete the webhook ${w.name || w.url}? Pending retries to it are dropped. This cannot be undone.`, 'Delete webhook'))) return;
      await a.api.request('DELETE', `/webhooks/${id}`);
      a.go('#/webhooks');
    }, 'danger')) : null;

  const auth = w.auth?.type && w.auth.type !== 'none' ? `${w.auth.type}${w.auth.username ? ` (${w.auth.username})` : ''}${w.auth.header ? ` in ${w.auth.header}` : ''}` : 'none';
  const rp = w.retry_policy;
  const settings = dl([
    ['URL', h('code', null, w.url)],
    ['Events', w.events.join(', ')],
    ['Status', [badge(w.status), w.disabled_reason ? ` ${w.disabled_reason}` : '']],
    ['Method', w.method],
    ['Description', w.description || '–'],
    ['Retries', `${rp.strategy}, ${rp.max_attempts} attempts, ${fmtMs(rp.initial_delay_ms)} to ${fmtMs(rp.max_delay_ms)}`],
    ['Timeout', fmtMs(w.timeout_ms)],
    ['Limits', `${w.rate_limit_per_s ? `${w.rate_limit_per_s} deliveries/s` : 'no rate limit'}, ${w.max_concurrency ? `at most ${w.max_concurrency} in flight` : 'no concurrency limit'}`],
    ['Credentials', auth],
    ['Signatures', [w.signature.standard ? 'standard' : '', w.signature.legacy ? `legacy (${w.signature.legacy_header})` : '', w.signature.v1a ? 'v1a' : ''].filter(Boolean).join(', ')],
    ['Public key (v1a)', w.public_key ?? '–'],
    ['Headers', Object.keys(w.headers ?? {}).length ? h('code', null, JSON.stringify(w.headers)) : '–'],
    ['Metadata', Object.keys(w.metadata ?? {}).length ? h('code', null, JSON.stringify(w.metadata)) : '–'],
    ['Created', fmtTime(w.created_at)],
    ['Id', h('code', null, w.id)],
  ]);

  const statsBox = h('div', { class: 'stats', 'aria-live': 'polite' });
  const windowSel = h('select', { id: 'stats-window', 'aria-label': 'Window' },
    [[1, 'last hour'], [24, 'last 24 hours'], [168, 'last 7 days'], [720, 'last 30 days']].map(([v, t]) => h('option', { value: v, selected: v === 24 }, t)));
  const loadStats = async () => {
    try {
      const s = await a.api.get<Stats>(`/webhooks/${id}/stats?window_hours=${windowSel.value}`);
      statsBox.replaceChildren(statsView(s));
    } catch (e) {
      statsBox.replaceChildren(problemBox(e));
    }
  };
  windowSel.addEventListener('change', loadStats);
  await loadStats();

  const recent = await a.api.get(`/webhooks/${id}/deliveries?limit=10`);
  const replay = a.edit ? replayForm(a, id) : null;

  return h('section', null,
    h('div', { class: 'title-row' }, h('h1', null, w.name || w.url), badge(w.status)),
    actions, panel,
    h('h2', null, 'Stats'), h('label', { class: 'inline' }, 'Window ', windowSel), statsBox,
    h('h2', null, 'Recent deliveries'),
    table(['Created', 'Event type', 'Status', 'Attempts', 'Last answer', ''], recent.data.map((d: any) => [
      fmtTime(d.created_at), d.event_type, badge(d.status), String(d.attempts), d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error_class ?? '–', link(`#/deliveries/${d.id}`, 'Show')]), 'Recent deliveries'),
    h('p', null, link(`#/deliveries?webhook_id=${id}`, 'All deliveries of this webhook')),
    replay,
    h('h2', null, 'Settings'), settings);
}

function statsView(s: Stats): Node {
  return h('div', null,
    h('div', { class: 'tiles' },
      h('div', { class: 'tile', 'data-testid': 'stat-success-rate' }, h('p', { class: 'tile-label' }, 'Success rate'), h('p', { class: 'tile-value' }, fmtPercent(s.success_rate))),
      h('div', { class: 'tile' }, h('p', { class: 'tile-label' }, 'Deliveries'), h('p', { class: 'tile-value' }, fmtCount(s.deliveries))),
      h('div', { class: 'tile' }, h('p', { class: 'tile-label' }, 'Attempts'), h('p', { class: 'tile-value' }, fmtCount(s.attempts ?? null)), h('p', { class: 'tile-sub' }, `${s.average_attempts?.toFixed(2) ?? '–'} per finished delivery`))),
    h('div', { class: 'charts' },
      barChart('Deliveries by outcome', [
        { label: 'succeeded', value: s.succeeded, cls: 'ok' },
        { label: 'failed', value: s.failed, cls: 'bad' },
        { label: 'pending', value: s.pending, cls: 'wait' },
        { label: 'skipped', value: s.skipped, cls: 'skip' },
      ], fmtCount),
      barChart('Attempt latency', [
        { label: 'p50', value: s.latency_ms?.p50 ?? null },
        { label: 'p95', value: s.latency_ms?.p95 ?? null },
        { label: 'p99', value: s.latency_ms?.p99 ?? null },
      ], fmtMs)));
}

function replayForm(a: App, id: string): HTMLElement {
  const out = h('div', { 'aria-live': 'polite' });
  const form = apiForm('Replay failures', 'Replay', [
    h('p', { class: 'muted' }, 'Sends the failed and skipped deliveries created in the range again (times in UTC).'),
    field('Since', '/since', { type: 'datetime-local', required: true }),
    field('Until', '/until', { type: 'datetime-local' }),
  ], async (f) => {
    const v = formValues(f);
    const body: Record<string, string> = { since: localInputToIso(v['/since'] as string) };
    if (v['/until']) body.until = localInputToIso(v['/until'] as string);
    const r = await a.api.request('POST', `/webhooks/${id}/replay`, body);
    out.replaceChildren(h('p', { role: 'status' }, `${r.replayed} ${r.replayed === 1 ? 'delivery' : 'deliveries'} replayed${r.truncated ? ' (more remain: replay again)' : ''}.`));
  });
  return h('div', null, h('h2', null, 'Replay failures'), form, out);
}

