// The landing page: the tenant's volume and failure rate over 24 hours, and the webhooks
// that need attention (disabled, failing), from the webhooks' own stats.
import { barChart } from '../charts';
import { badge, h, link, table } from '../dom';
import { attentionReason, breakerOpenWebhooks, fmtCount, fmtPercent, fmtTime, Stats, summarize } from '../lib';
import type { App } from './index';

const MAX_WEBHOOKS = 50;

/** Runs fns with at most n at a time (the gateway is shared; so is the browser's pool). */
export async function limited<T>(fns: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(fns.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]();
    }
  }));
  return out;
}

export async function overviewPage(a: App): Promise<Node> {
  const page = await a.api.get(`/webhooks?limit=${MAX_WEBHOOKS}`);
  const hooks: any[] = page.data;
  const stats = await limited(hooks.map((w) => () => a.api.get<Stats>(`/webhooks/${w.id}/stats?window_hours=24`).catch(() => null)), 4);
  const sum = summarize(stats.filter((s): s is Stats => !!s));
  const counts = { active: 0, paused: 0, disabled: 0 } as Record<string, number>;
  hooks.forEach((w) => (counts[w.status] = (counts[w.status] ?? 0) + 1));
  const retrying = await a.api.get('/deliveries?status=retrying&limit=250').catch(() => ({ data: [] }));
  const breakers = breakerOpenWebhooks(retrying.data);
  const attention = hooks.map((w, i) => ({ w, reason: attentionReason(w, stats[i], breakers.has(w.id)) })).filter((x) => x.reason);
  const failed = await a.api.get('/deliveries?status=failed&limit=5').catch(() => ({ data: [] }));
  const pending = stats.reduce((n, s) => n + (s?.pending ?? 0), 0);
  const skipped = stats.reduce((n, s) => n + (s?.skipped ?? 0), 0);

  return h('section', null,
    h('h1', null, 'Overview'),
    h('p', { class: 'muted' }, `Last 24 hours${page.next_cursor ? `, first ${MAX_WEBHOOKS} webhooks` : ''}.`),
    h('div', { class: 'tiles' },
      tile('Deliveries', fmtCount(sum.deliveries), 'volume'),
      tile('Failure rate', fmtPercent(sum.failureRate), 'failure-rate'),
      tile('Webhooks', `${hooks.length}${page.next_cursor ? '+' : ''}`, 'webhooks', `${counts.active} active · ${counts.paused} paused · ${counts.disabled} disabled`),
      tile('Need attention', String(attention.length), 'attention')),
    h('div', { class: 'charts' },
      barChart('Deliveries by outcome', [
        { label: 'succeeded', value: sum.succeeded, cls: 'ok' },
        { label: 'failed', value: sum.failed, cls: 'bad' },
        { label: 'pending', value: pending, cls: 'wait' },
        { label: 'skipped', value: skipped, cls: 'skip' },
      ], fmtCount),
      barChart('Deliveries per webhook (busiest)', hooks.map((w, i) => ({ w, s: stats[i] }))
        .sort((x, y) => (y.s?.deliveries ?? 0) - (x.s?.deliveries ?? 0)).slice(0, 6)
        .map(({ w, s }) => ({ label: shortName(w.name || w.url), value: s?.deliveries ?? 0, cls: s && s.failed ? 'bad' : 'ok' })), fmtCount)),
    h('h2', null, 'Webhooks that need attention'),
    table(['Webhook', 'Status', 'Why'], attention.map(({ w, reason }) => [link(`#/webhooks/${w.id}`, w.name || w.url), badge(w.status), reason]), 'Webhooks that need attention'),
    h('h2', null, 'Recent failed deliveries'),
    table(['Created', 'Event type', 'Error', ''], failed.data.map((d: any) => [fmtTime(d.created_at), d.event_type, d.last_error_class ?? d.last_error ?? '', link(`#/deliveries/${d.id}`, 'Show')]), 'Recent failed deliveries'));
}

function shortName(s: string): string {
  return s.length > 12 ? s.slice(0, 11) + '…' : s;
}

function tile(label: string, value: string, id: string, sub?: string): HTMLElement {
  return h('div', { class: 'tile', 'data-testid': `tile-${id}` }, h('p', { class: 'tile-label' }, label), h('p', { class: 'tile-value' }, value), sub ? h('p', { class: 'tile-sub' }, sub) : null);
}
