// The dashboard's logic that needs no browser: roles, problem+json pointers to form fields,
// request bodies from form values, figures and chart geometry. Unit-tested with node --test
// (tests/unit/); everything that touches the DOM lives in the other files.

export type Role = 'admin' | 'tenant_admin' | 'publisher' | 'viewer';

export interface ProblemError {
  pointer: string;
  detail: string;
  keyword?: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: ProblemError[];
}

/** The role of a key, from the answers to three reads the API gives by role (docs/api.md,
 *  "Roles and tenants"): GET /tenants (admin only), /webhooks (not publishers) and
 *  /api-keys (admins and tenant admins). 'invalid' when the key is refused (401). */
export function roleFromProbes(tenants: number, webhooks: number, apiKeys: number): Role | 'invalid' {
  if (tenants === 401 || webhooks === 401) return 'invalid';
  if (tenants === 200) return 'admin';
  if (webhooks === 403) return 'publisher';
  return apiKeys === 200 ? 'tenant_admin' : 'viewer';
}

/** Whether the role may change webhooks, event types, sources and extensions. */
export function canEdit(role: Role): boolean {
  return role === 'admin' || role === 'tenant_admin';
}

/** Whether the role may list and create API keys. */
export function canManageKeys(role: Role): boolean {
  return role === 'admin' || role === 'tenant_admin';
}

export interface FieldErrors {
  byField: Map<string, string[]>;
  general: string[];
}

function isPrefix(prefix: string, pointer: string): boolean {
  return pointer === prefix || pointer.startsWith(prefix + '/');
}

/** Assigns each errors[] entry of a problem to the form field whose JSON pointer is the
 *  longest prefix of the entry's pointer ("/events/1" goes to "/events", "/auth/token" to
 *  "/auth/token" if the form has it, else "/auth"); entries that match no field, the body
 *  itself ("") or a query parameter go to `general`, with their pointer. */
export function fieldErrors(problem: Problem | null | undefined, fields: string[]): FieldErrors {
  const out: FieldErrors = { byField: new Map(), general: [] };
  for (const e of problem?.errors ?? []) {
    let pointer = e.pointer ?? '';
    // A missing member is reported at its parent object: it belongs to the member's field.
    const missing = /^missing required property '([^'/~]+)'$/.exec(e.detail ?? '');
    if (missing) pointer = `${pointer}/${missing[1]}`;
    let best = '';
    for (const f of fields) {
      if (f && isPrefix(f, pointer) && f.length > best.length) best = f;
    }
    if (!best) {
      out.general.push(pointer ? `${pointer}: ${e.detail}` : e.detail);
      continue;
    }
    const detail = pointer === best || missing ? e.detail : `${pointer.slice(best.length + 1)}: ${e.detail}`;
    const list = out.byField.get(best) ?? [];
    list.push(detail);
    out.byField.set(best, list);
  }
  return out;
}

/** One line for a problem, as hooklinectl prints it: "title (HTTP status): detail". */
export function problemSummary(p: Problem | null | undefined, status: number): string {
  const title = p?.title || 'Request failed';
  const detail = p?.detail ? `: ${p.detail}` : '';
  return `${title} (HTTP ${p?.status ?? status})${detail}`;
}

/** A query string ("?a=1&b=x") of the parameters that have a value; "" when none. */
export function queryString(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** Parses "#/a/b?x=1" into path segments and query. */
export function parseHash(hash: string): { path: string[]; query: URLSearchParams } {
  const h = hash.replace(/^#/, '');
  const qi = h.indexOf('?');
  const pathPart = qi >= 0 ? h.slice(0, qi) : h;
  const query = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
  const path = pathPart.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  return { path, query };
}

export function fmtPercent(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  const p = x * 100;
  return (p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)) + ' %';
}

export function fmtMs(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  if (x >= 10000) return (x / 1000).toFixed(1) + ' s';
  return Math.round(x) + ' ms';
}

export function fmtCount(x: number | null | undefined): string {
  if (x === null || x === undefined) return '–';
  return x.toLocaleString('en-US');
}

/** "2026-12-05T12:30:01.123Z" as "2026-12-05 12:30:01 UTC". */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** A datetime-local input's value (taken as UTC, as the dashboard shows times) as RFC 3339. */
export function localInputToIso(v: string): string {
  if (!v) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?$/.exec(v);
  return m ? `${m[1]}T${m[2]}${m[3] ?? ':00'}Z` : v;
}

/** Comma- or space-separated event patterns, trimmed, without repeats. */
export function parseList(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split(/[\s,]+/)) {
    const t = part.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

/** Parses a JSON text area; an empty one is `empty` (e.g. {} or null). */
export function parseJsonField(text: string, empty: unknown): JsonParse {
  if (text.trim() === '') return { ok: true, value: empty };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: 'not valid JSON: ' + (e instanceof Error ? e.message : String(e)) };
  }
}

/** A number field: "" is absent, an integer is a number, anything else is sent as typed so
 *  that the API's validation names the field. */
function numberish(v: string | undefined): number | string | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  return /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

export type FormValues = Record<string, string | boolean | undefined>;

export interface BodyResult {
  body: Record<string, unknown>;
  /** Client-side errors (JSON text areas that do not parse), as problem errors. */
  errors: ProblemError[];
}

const AUTH_FIELDS: Record<string, string[]> = {
  none: [],
  basic: ['username', 'password'],
  bearer: ['token'],
  api_key: ['header', 'value'],
  hmac: ['secret', 'header'],
};

/** The webhook's JSON for POST (original undefined) or PATCH (original: the webhook as the
 *  API returned it; only changed members are sent). Form values are keyed by the JSON
 *  pointer of the member they edit ("/retry_policy/max_attempts"). */
export function webhookBody(v: FormValues, original?: Record<string, unknown>): BodyResult {
  const errors: ProblemError[] = [];
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : '');
  const full: Record<string, unknown> = {
    url: str('/url').trim(),
    events: parseList(str('/events')),
    name: str('/name'),
    description: str('/description'),
    method: str('/method') || 'POST',
    status: str('/status') || 'active',
    timeout_ms: numberish(str('/timeout_ms')),
    rate_limit_per_s: numberish(str('/rate_limit_per_s')) ?? null,
    max_concurrency: numberish(str('/max_concurrency')) ?? null,
    retry_policy: {
      strategy: str('/retry_policy/strategy') || 'exponential',
      max_attempts: numberish(str('/retry_policy/max_attempts')),
      initial_delay_ms: numberish(str('/retry_policy/initial_delay_ms')),
      max_delay_ms: numberish(str('/retry_policy/max_delay_ms')),
    },
    signature: {
      standard: v['/signature/standard'] === true,
      legacy: v['/signature/legacy'] === true,
      legacy_header: str('/signature/legacy_header') || undefined,
      v1a: v['/signature/v1a'] === true,
    },
  };
  const authType = str('/auth/type') || 'none';
  const auth: Record<string, unknown> = { type: authType };
  for (const f of AUTH_FIELDS[authType] ?? []) {
    const val = str('/auth/' + f);
    if (val !== '') auth[f] = val;
  }
  full.auth = auth;
  for (const [k, empty] of [['headers', {}], ['metadata', {}]] as const) {
    const p = parseJsonField(str('/' + k), empty);
    if (p.ok) full[k] = p.value;
    else errors.push({ pointer: '/' + k, detail: p.error });
  }
  if (!original) {
    const secret = str('/secret').trim();
    if (secret) full.secret = secret;
    // Absent numbers take the API's defaults; nulls are the defaults anyway.
    for (const k of Object.keys(full)) if (full[k] === undefined || full[k] === null) delete full[k];
    dropUndefined(full.retry_policy as Record<string, unknown>);
    dropUndefined(full.signature as Record<string, unknown>);
    return { body: full, errors };
  }
  const body: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(full)) {
    if (val === undefined) continue;
    if (k === 'retry_policy' || k === 'signature') {
      // merged key by key by PATCH: send the members that changed
      const orig = (original[k] ?? {}) as Record<string, unknown>;
      const diff: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(val as Record<string, unknown>)) {
        if (mv !== undefined && JSON.stringify(mv) !== JSON.stringify(orig[mk])) diff[mk] = mv;
      }
      if (Object.keys(diff).length) body[k] = diff;
      continue;
    }
    if (k === 'auth') {
      // credentials are never returned: an unchanged type without new credentials stays
      const a = val as Record<string, unknown>;
      const orig = (original.auth ?? { type: 'none' }) as Record<string, unknown>;
      if (canonical(a) !== canonical(orig)) body.auth = a;
      continue;
    }
    if (canonical(val) !== canonical(original[k] ?? null)) body[k] = val;
  }
  return { body, errors };
}

function dropUndefined(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
}

/** JSON with object keys sorted, to compare values regardless of member order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).sort().map((k) => JSON.stringify(k) + ':' + canonical(o[k])).join(',') + '}';
  }
  return JSON.stringify(v ?? null);
}

/** The form values (keyed by pointer) that show a webhook as the API returned it. */
export function webhookFormValues(w: Record<string, any>): FormValues {
  const rp = w.retry_policy ?? {};
  const sig = w.signature ?? {};
  const auth = w.auth ?? { type: 'none' };
  const opt = (x: unknown) => (x === null || x === undefined ? '' : String(x));
  return {
    '/url': w.url ?? '',
    '/events': (w.events ?? []).join(', '),
    '/name': w.name ?? '',
    '/description': w.description ?? '',
    '/method': w.method ?? 'POST',
    '/status': w.status ?? 'active',
    '/timeout_ms': opt(w.timeout_ms),
    '/rate_limit_per_s': opt(w.rate_limit_per_s),
    '/max_concurrency': opt(w.max_concurrency),
    '/retry_policy/strategy': rp.strategy ?? 'exponential',
    '/retry_policy/max_attempts': opt(rp.max_attempts),
    '/retry_policy/initial_delay_ms': opt(rp.initial_delay_ms),
    '/retry_policy/max_delay_ms': opt(rp.max_delay_ms),
    '/signature/standard': sig.standard !== false,
    '/signature/legacy': sig.legacy !== false,
    '/signature/legacy_header': sig.legacy_header ?? 'X-Webhook-Signature',
    '/signature/v1a': sig.v1a === true,
    '/auth/type': auth.type ?? 'none',
    '/auth/username': auth.username ?? '',
    '/auth/header': auth.header ?? '',
    '/headers': w.headers && Object.keys(w.headers).length ? JSON.stringify(w.headers, null, 2) : '',
    '/metadata': w.metadata && Object.keys(w.metadata).length ? JSON.stringify(w.metadata, null, 2) : '',
  };
}

export interface Stats {
  window_hours?: number;
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  skipped: number;
  success_rate: number | null;
  average_attempts?: number | null;
  attempts?: number;
  latency_ms?: { p50: number | null; p95: number | null; p99: number | null };
}

export interface Summary {
  deliveries: number;
  succeeded: number;
  failed: number;
  failureRate: number | null;
}

/** The tenant's figures from its webhooks' stats: volume, and failures among the
 *  deliveries that finished (succeeded or failed). */
export function summarize(stats: Stats[]): Summary {
  let deliveries = 0, succeeded = 0, failed = 0;
  for (const s of stats) {
    deliveries += s.deliveries ?? 0;
    succeeded += s.succeeded ?? 0;
    failed += s.failed ?? 0;
  }
  const finished = succeeded + failed;
  return { deliveries, succeeded, failed, failureRate: finished ? failed / finished : null };
}

/** Why a webhook needs attention, or null: disabled (by the dispatcher or through the API),
 *  its circuit breaker open (a retrying delivery of it was not attempted: error class
 *  circuit_open), failing deliveries in the window, or a success rate under 90 %. */
export function attentionReason(w: { status?: string; disabled_reason?: string | null }, s?: Stats | null, breakerOpen = false): string | null {
  if (w.status === 'disabled') return 'disabled' + (w.disabled_reason ? `: ${w.disabled_reason}` : '');
  if (breakerOpen) return 'circuit breaker open: deliveries wait' + (s?.failed ? ` (${s.failed} failed)` : '');
  if (!s) return null;
  if (s.success_rate !== null && s.success_rate < 0.9)
    return `success rate ${fmtPercent(s.success_rate)} (${s.failed} failed)`;
  if (s.failed > 0) return `${s.failed} failed ${s.failed === 1 ? 'delivery' : 'deliveries'}`;
  return null;
}

export interface Bar {
  label: string;
  value: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Vertical bars for values in a width x height area (labels below are the caller's): bars
 *  are scaled to the largest value (at least 1), with gaps between them. */
export function barGeometry(values: { label: string; value: number | null }[], width: number, height: number): Bar[] {
  const n = values.length;
  if (!n) return [];
  const max = Math.max(1, ...values.map((v) => v.value ?? 0));
  const slot = width / n;
  const w = Math.max(1, slot * 0.6);
  return values.map((v, i) => {
    const val = v.value ?? 0;
    const h = (val / max) * height;
    return { label: v.label, value: val, x: i * slot + (slot - w) / 2, y: height - h, w, h };
  });
}

/** The webhooks whose circuit breaker is open, from deliveries still retrying: the
 *  dispatcher records error class circuit_open on a delivery it held back. */
export function breakerOpenWebhooks(retrying: { webhook_id: string; last_error_class?: string | null }[]): Set<string> {
  return new Set(retrying.filter((d) => d.last_error_class === 'circuit_open').map((d) => d.webhook_id));
}

/** Delivery statuses that will still change (the delivery page refreshes while one holds). */
export function deliveryInFlight(status: string | undefined): boolean {
  return status === 'pending' || status === 'retrying';
}
