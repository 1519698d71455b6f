// Tenants (admin keys) and API keys (admins and tenant admins). A new key is shown once.
import { apiForm, confirmDialog, field, formValues, h, problemBox, shownOnce, table } from '../dom';
import { canManageKeys, fmtTime } from '../lib';
import type { App } from './index';

export async function tenantsPage(a: App): Promise<Node> {
  if (a.role !== 'admin') return h('p', null, 'Only admin keys manage tenants.');
  const list = await a.api.get('/tenants?limit=250', false);
  const msg = h('div', { 'aria-live': 'polite' });
  const rows = list.data.map((t: any) => [t.id, t.name, fmtTime(t.created_at),
    h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'secondary small', onclick: () => { a.setTenant(t.id); a.go('#/'); } }, t.id === a.api.tenant ? 'In use' : 'Use'),
      h('button', { type: 'button', class: 'danger small', onclick: async () => {
        if (!(await confirmDialog(`Delete the tenant ${t.id} and everything it owns (webhooks, keys, event types)? This cannot be undone.`, 'Delete tenant'))) return;
        try {
          await a.api.request('DELETE', `/tenants/${encodeURIComponent(t.id)}`, undefined, false);
          if (a.api.tenant === t.id) a.setTenant(null);
          else a.refresh();
        } catch (e) {
          msg.replaceChildren(problemBox(e));
        }
      } }, 'Delete'))]);
  const form = apiForm('New tenant', 'Create tenant', [
    field('Id', '/id', { placeholder: 'acme', hint: 'Optional: [A-Za-z0-9_-], generated when empty.' }),
    field('Name', '/name', { required: true }),
  ], async (f) => {
    const v = formValues(f) as Record<string, string>;
    const body: Record<string, string> = { name: v['/name'] };
    if (v['/id']) body.id = v['/id'];
    await a.api.request('POST', '/tenants', body, false);
    a.refresh();
  });
  return h('section', null, h('h1', null, 'Tenants'), msg, table(['Id', 'Name', 'Created', ''], rows, 'Tenants'), h('h2', null, 'New tenant'), form);
}

export async function apiKeysPage(a: App): Promise<Node> {
  if (!canManageKeys(a.role)) return h('p', null, 'Your key may not manage API keys.');
  const list = await a.api.get('/api-keys?limit=250');
  const msg = h('div', { 'aria-live': 'polite' });
  const rows = list.data.map((k: any) => [h('code', null, k.key_prefix + '…'), k.name || '–', k.role, k.tenant_id ?? '(all)', fmtTime(k.created_at),
    k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : h('button', { type: 'button', class: 'danger small', onclick: async () => {
      if (!(await confirmDialog(`Revoke the key ${k.key_prefix}…? Requests with it fail at once, on every gateway.`, 'Revoke key'))) return;
      try {
        await a.api.request('DELETE', `/api-keys/${k.id}`);
        a.refresh();
      } catch (e) {
        msg.replaceChildren(problemBox(e));
      }
    } }, 'Revoke')]);
  const result = h('div');
  const roles: [string, string][] = [['viewer', 'viewer (read only)'], ['publisher', 'publisher (events only)'], ['tenant_admin', 'tenant admin']];
  if (a.role === 'admin') roles.push(['admin', 'admin (every tenant)']);
  const form = apiForm('New API key', 'Create key', [
    field('Role', '/role', { options: roles }),
    field('Name', '/name', { placeholder: 'shop backend' }),
    a.role === 'admin' ? field('Tenant', '/tenant_id', { value: a.api.tenant ?? '', hint: 'For every role but admin.' }) : null,
  ], async (f) => {
    const v = formValues(f) as Record<string, string>;
    const body: Record<string, string> = { role: v['/role'] };
    if (v['/name']) body.name = v['/name'];
    if (v['/tenant_id'] && v['/role'] !== 'admin') body.tenant_id = v['/tenant_id'];
    const k = await a.api.request('POST', '/api-keys', body);
    result.replaceChildren(shownOnce(`New ${k.role} key`, k.key, 'Shown only now: store it; only its prefix is kept.'));
  });
  return h('section', null, h('h1', null, 'API keys'), msg,
    table(['Prefix', 'Name', 'Role', 'Tenant', 'Created', ''], rows, 'API keys'),
    h('h2', null, 'New API key'), form, result);
}
