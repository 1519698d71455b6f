// Deliveries: the log (webhook, event type, status, time range) with cursor paging, and a
// delivery's page with its payload, every attempt and a retry button. The page refreshes
// itself while the delivery is still pending or retrying, so attempts appear as they are made.
import { badge, dl, field, formValues, h, link, problemBox, table } from '../dom';
import { deliveryInFlight, fmtMs, fmtTime, localInputToIso, queryString } from '../lib';
import type { App } from './index';

const STATUSES: [string, string][] = [['', 'any status'], ['pending', 'pending'], ['retrying', 'retrying'], ['succeeded', 'succeeded'], ['failed', 'failed'], ['skipped', 'skipped']];
const REFRESH_MS = 2000;

export async function deliveriesPage(a: App, _path: string[], q: URLSearchParams): Promise<Node> {
  const filters = {
    webhook_id: q.get('webhook_id') ?? '',
    event_type: q.get('event_type') ?? '',
    status: q.get('status') ?? '',
    since: q.get('since') ?? '',
    until: q.get('until') ?? '',
  };
  const hooks = await a.api.get('/webhooks?limit=250').catch(() => ({ data: [] }));
  const names = new Map<string, string>(hooks.data.map((w: any) => [w.id, w.name || w.url]));
  const rows = h('tbody');
  const more = h('div', { class: 'actions' });
  const load = async (cursor: string | null) => {
    const page = await a.api.get(`/deliveries${queryString({ ...filters, since: localInputToIso(filters.since), until: localInputToIso(filters.until), limit: 50, cursor })}`);
    for (const d of page.data) {
      rows.appendChild(h('tr', { 'data-delivery': d.id },
        h('td', null, fmtTime(d.created_at)),
        h('td', null, d.event_type),
        h('td', null, link(`#/webhooks/${d.webhook_id}`, names.get(d.webhook_id) ?? d.webhook_id)),
        h('td', null, badge(d.status)),
        h('td', null, String(d.attempts)),
        h('td', null, d.last_status_code ? `HTTP ${d.last_status_code}` : d.last_error_class ?? '–'),
        h('td', null, link(`#/deliveries/${d.id}`, 'Show'))));
    }
    if (!rows.children.length) rows.appendChild(h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No deliveries match.')));
    more.replaceChildren(page.next_cursor ? h('button', { type: 'button', class: 'secondary', onclick: () => load(page.next_cursor).catch((e) => more.replaceChildren(problemBox(e))) }, 'Load more') : '');
  };
  await load(null);

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter deliveries' },
    field('Webhook', 'webhook_id', { options: [['', 'any webhook'], ...hooks.data.map((w: any) => [w.id, w.name || w.url] as [string, string])], value: filters.webhook_id }),
    field('Event type', 'event_type', { value: filters.event_type, placeholder: 'order.created' }),
    field('Status', 'status', { options: STATUSES, value: filters.status }),
    field('Since (UTC)', 'since', { type: 'datetime-local', value: filters.since }),
    field('Until (UTC)', 'until', { type: 'datetime-local', value: filters.until }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(form) as Record<string, string>;
    a.go('#/deliveries' + queryString(v));
  });
  return h('section', null, h('h1', null, 'Deliveries'), form,
    h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Deliveries', tabindex: 0 },
      h('table', null, h('thead', null, h('tr', null, ['Created', 'Event type', 'Webhook', 'Status', 'Attempts', 'Last answer', ''].map((t) => h('th', { scope: 'col' }, t)))), rows)),
    more);
}

export async function deliveryPage(a: App, path: string[]): Promise<Node> {
  const id = path[1];
  const body = h('div');
  const status = h('div', { 'aria-live': 'polite' });
  let timer: number | undefined;
  let followUntil = 0;
  let left = false;
  a.onLeave(() => {
    left = true;
    clearTimeout(timer);
  });

  const render = async () => {
    clearTimeout(timer);
    let d: any;
    try {
      d = await a.api.get(`/deliveries/${id}`);
    } catch (e) {
      status.replaceChildren(problemBox(e));
      return;
    }
    if (left) return;
    body.replaceChildren(view(a, d, async (btn) => {
      btn.disabled = true;
      try {
        await a.api.request('POST', `/deliveries/${id}/retry`);
        status.replaceChildren(h('p', { role: 'status' }, 'Retry requested: the delivery is pending again.'));
        followUntil = Date.now() + 60000;
        await render();
      } catch (e) {
        status.replaceChildren(problemBox(e));
        btn.disabled = false;
      }
    }));
    if (deliveryInFlight(d.status) || Date.now() < followUntil) timer = window.setTimeout(render, REFRESH_MS);
  };
  await render();
  return h('section', null, h('h1', null, 'Delivery ', h('code', null, id)), status, body);
}

function view(a: App, d: any, retry: (b: HTMLButtonElement) => void): Node {
  const btn = h('button', { type: 'button' }, 'Retry');
  btn.addEventListener('click', () => retry(btn));
  const attempts: any[] = d.attempts ?? [];
  return h('div', null,
    dl([
      ['Status', h('span', { 'data-testid': 'delivery-status' }, badge(d.status))],
      ['Webhook', link(`#/webhooks/${d.webhook_id}`, d.webhook_id)],
      ['Event', `${d.event_type} (${d.event_id})`],
      ['Attempts', h('span', { 'data-testid': 'attempt-count' }, String(d.attempt_count ?? d.attempts?.length ?? 0))],
      ['Next attempt', d.next_attempt_at ? fmtTime(d.next_attempt_at) : '–'],
      ['Created', fmtTime(d.created_at)],
    ]),
    a.edit ? h('div', { class: 'actions' }, btn, h('span', { class: 'muted' }, ' Sends it again with a fresh attempt budget.')) : null,
    h('h2', null, 'Attempts'),
    table(['#', 'Started', 'HTTP status', 'Duration', 'Error class', 'Error', 'Response'], attempts.map((t) => [
      String(t.attempt), fmtTime(t.started_at), t.http_status === null ? '–' : String(t.http_status), fmtMs(t.duration_ms),
      t.error_class ?? '–', t.error ?? '–', t.response_excerpt ? h('pre', { class: 'excerpt' }, t.response_excerpt) : '–']), 'Attempts'),
    h('h2', null, 'Payload'),
    h('pre', { class: 'payload', tabindex: 0, 'aria-label': 'Payload' }, JSON.stringify(d.event ?? null, null, 2)));
}
