// The tenant's catalog and inputs: event types (with their schemas, checked as JSON while
// typed), incoming sources (with the URL to give the sender) and extensions.
import { ApiError } from '../api';
import { apiForm, badge, confirmDialog, copyButton, dl, field, formValues, h, link, problemBox, shownOnce, table } from '../dom';
import { fmtTime, parseJsonField, parseList } from '../lib';
import type { App } from './index';

/** A JSON text area that says at once whether what is typed parses. */
function jsonField(label: string, pointer: string, value: string, hint: string): HTMLElement {
  const f = field(label, pointer, { rows: 8, value, hint });
  const ta = f.querySelector('textarea')!;
  const err = f.querySelector('.field-error')!;
  ta.addEventListener('input', () => {
    const p = parseJsonField(ta.value, null);
    err.textContent = p.ok ? '' : p.error;
    f.classList.toggle('invalid', !p.ok);
  });
  return f;
}

function schemaFrom(v: string): unknown {
  const p = parseJsonField(v, null);
  if (!p.ok) throw new ApiError(400, { title: 'Invalid input', detail: 'fix the fields marked below', errors: [{ pointer: '/schema', detail: p.error }] });
  return p.value;
}

function deleteButton(what: string, fn: () => Promise<void>, onError: (e: unknown) => void, label = 'Delete'): HTMLButtonElement {
  return h('button', { type: 'button', class: 'danger small', onclick: async () => {
    if (!(await confirmDialog(`${label} ${what}? This cannot be undone.`, label))) return;
    try {
      await fn();
    } catch (e) {
      onError(e);
    }
  } }, label);
}

export async function eventTypesPage(a: App): Promise<Node> {
  const list = await a.api.get('/event-types');
  const msg = h('div', { 'aria-live': 'polite' });
  const rows = list.data.map((t: any) => [link(`#/event-types/${encodeURIComponent(t.name)}`, t.name), t.description || '–', t.schema ? 'yes' : 'no', t.deprecated ? 'deprecated' : '', t.builtin ? 'built in' : 'tenant']);
  const form = a.edit ? apiForm('New event type', 'Create event type', [
    field('Name', '/name', { required: true, placeholder: 'order.created' }),
    field('Description', '/description'),
    jsonField('Payload schema (JSON Schema, optional)', '/schema', '', 'Events of this type must match it; leave empty for none.'),
  ], async (f) => {
    const v = formValues(f) as Record<string, string>;
    const body: Record<string, unknown> = { name: v['/name'], description: v['/description'] };
    const schema = schemaFrom(v['/schema']);
    if (schema !== null) body.schema = schema;
    await a.api.request('POST', '/event-types', body);
    a.refresh();
  }) : null;
  return h('section', null, h('h1', null, 'Event types'), msg,
    table(['Name', 'Description', 'Schema', '', 'Owner'], rows, 'Event types'),
    form ? [h('h2', null, 'New event type'), form] : null);
}

export async function eventTypePage(a: App, path: string[]): Promise<Node> {
  const name = path[1];
  const t = await a.api.get(`/event-types/${encodeURIComponent(name)}`);
  const msg = h('div', { 'aria-live': 'polite' });
  const editable = a.edit && !t.builtin;
  const form = editable ? apiForm('Edit event type', 'Save', [
    field('Description', '/description', { value: t.description }),
    jsonField('Payload schema (JSON Schema)', '/schema', t.schema === null ? '' : JSON.stringify(t.schema, null, 2), 'Empty removes the schema.'),
    field('Deprecated', '/deprecated', { type: 'checkbox', value: t.deprecated }),
  ], async (f) => {
    const v = formValues(f);
    await a.api.request('PATCH', `/event-types/${encodeURIComponent(name)}`, { description: v['/description'], schema: schemaFrom(v['/schema'] as string), deprecated: v['/deprecated'] });
    a.refresh();
  }) : null;
  return h('section', null, h('h1', null, t.name), msg,
    dl([['Description', t.description || '–'], ['Built in', t.builtin ? 'yes' : 'no'], ['Deprecated', t.deprecated ? 'yes' : 'no'], ['Updated', fmtTime(t.updated_at)]]),
    h('h2', null, 'Payload schema'), h('pre', { class: 'payload' }, t.schema === null ? '(none)' : JSON.stringify(t.schema, null, 2)),
    form ? [h('h2', null, 'Edit'), form, h('div', { class: 'actions' }, deleteButton(`the event type ${name}`, async () => {
      await a.api.request('DELETE', `/event-types/${encodeURIComponent(name)}`);
      a.go('#/event-types');
    }, (e) => msg.replaceChildren(problemBox(e))))] : null);
}

const VERIFICATIONS: [string, string][] = [['github', 'GitHub (X-Hub-Signature-256)'], ['stripe', 'Stripe (Stripe-Signature)'], ['standard_webhooks', 'Standard Webhooks'], ['hmac', 'HMAC in a header'], ['basic', 'HTTP basic'], ['api_key', 'API key header']];

export async function sourcesPage(a: App): Promise<Node> {
  const list = await a.api.get('/sources?limit=250');
  const msg = h('div', { 'aria-live': 'polite' });
  const rows = list.data.map((s: any) => {
    const url = location.origin + s.incoming_path;
    return [s.name || '(unnamed)', badge(s.status), s.verification?.type ?? '', h('span', { class: 'incoming' }, h('code', null, url), ' ', copyButton(url, 'Copy URL')),
      s.event_type?.from === 'fixed' ? s.event_type.value : `${s.event_type?.prefix ?? ''}<${s.event_type?.header ?? s.event_type?.pointer}>`,
      a.edit ? deleteButton(`the source ${s.name || s.id}`, async () => { await a.api.request('DELETE', `/sources/${s.id}`); a.refresh(); }, (e) => msg.replaceChildren(problemBox(e))) : ''];
  });
  const result = h('div');
  const form = a.edit ? apiForm('New source', 'Create source', [
    field('Name', '/name', { placeholder: 'github' }),
    field('Verification', '/verification/type', { options: VERIFICATIONS }),
    field('Header (HMAC, API key)', '/verification/header', { placeholder: 'X-Acme-Signature' }),
    field('Username (basic)', '/verification/username'),
    field('Event type', '/event_type/value', { placeholder: 'incoming.received', hint: 'Every request becomes an event of this type.' }),
  ], async (f) => {
    const v = formValues(f) as Record<string, string>;
    const verification: Record<string, string> = { type: v['/verification/type'] };
    if (['hmac', 'api_key'].includes(verification.type)) verification.header = v['/verification/header'];
    if (verification.type === 'basic') verification.username = v['/verification/username'];
    const body: Record<string, unknown> = { name: v['/name'], verification };
    if (v['/event_type/value']) body.event_type = { from: 'fixed', value: v['/event_type/value'] };
    const s = await a.api.request('POST', '/sources', body);
    const cred = s.verification.secret ?? s.verification.password ?? s.verification.value;
    result.replaceChildren(h('p', { role: 'status' }, 'Source created. Give the sender this URL: ', h('code', null, location.origin + s.incoming_path), ' ', copyButton(location.origin + s.incoming_path, 'Copy URL')),
      cred ? shownOnce('Credential', cred, 'Shown only now: give it to the sender.') : '');
  }) : null;
  return h('section', null, h('h1', null, 'Sources'),
    h('p', { class: 'muted' }, 'Incoming webhooks: other services post to a source\'s URL; each verified request becomes an event of this tenant.'),
    msg, table(['Name', 'Status', 'Verification', 'Incoming URL', 'Event type', ''], rows, 'Sources'),
    form ? [h('h2', null, 'New source'), form, result] : null);
}

export async function extensionsPage(a: App): Promise<Node> {
  const list = await a.api.get('/extensions?limit=250');
  const msg = h('div', { 'aria-live': 'polite' });
  const rows = list.data.map((x: any) => [x.extension_key, x.display_name ?? '', x.version ?? '', badge(x.status), (x.capabilities ?? []).join(', '),
    x.webhook_id ? link(`#/webhooks/${x.webhook_id}`, 'webhook') : '–',
    a.edit ? deleteButton(`the extension ${x.extension_key}`, async () => { await a.api.request('DELETE', `/extensions/${x.id}`); a.refresh(); }, (e) => msg.replaceChildren(problemBox(e))) : '']);
  const form = a.edit ? apiForm('New extension', 'Register extension', [
    field('Extension key', '/extension_key', { required: true, placeholder: 'k12.sync' }),
    field('Display name', '/display_name'),
    field('Version', '/version', { placeholder: '1.0.0' }),
    field('Capabilities', '/capabilities', { hint: 'Comma-separated.' }),
  ], async (f) => {
    const v = formValues(f) as Record<string, string>;
    const body: Record<string, unknown> = { extension_key: v['/extension_key'] };
    if (v['/display_name']) body.display_name = v['/display_name'];
    if (v['/version']) body.version = v['/version'];
    if (v['/capabilities']) body.capabilities = parseList(v['/capabilities']);
    await a.api.request('POST', '/extensions', body);
    a.refresh();
  }) : null;
  return h('section', null, h('h1', null, 'Extensions'), msg,
    table(['Key', 'Name', 'Version', 'Status', 'Capabilities', 'Linked to', ''], rows, 'Extensions'),
    form ? [h('h2', null, 'Register an extension'), form] : null);
}
