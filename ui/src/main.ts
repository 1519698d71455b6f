// The dashboard: sign-in, the layout, and a hash router (#/webhooks/<id>) so that the
// gateway serves one index.html for every page. The key lives in sessionStorage only: it
// is gone when the tab closes, and it is sent nowhere but the API's Authorization header.
import './style.css';
import { Api } from './api';
import { h, problemBox } from './dom';
import { canEdit, canManageKeys, parseHash, Role, roleFromProbes } from './lib';
import { App, routes } from './pages';

const KEY = 'hookline.key';
const TENANT = 'hookline.tenant';
const root = document.getElementById('app')!;
let app: App | null = null;
let cleanups: (() => void)[] = [];

function signInPage(message?: string): void {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', 'aria-describedby': 'api-key-hint' });
  const err = h('div', { class: 'form-problem', 'aria-live': 'polite' }, message ? h('div', { class: 'problem', role: 'alert' }, message) : null);
  const form = h('form', { class: 'signin', 'aria-label': 'Sign in' },
    h('h1', null, 'Hookline'),
    h('p', null, 'Sign in with an API key. It decides your tenant and what you may do.'),
    err,
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input,
      h('p', { class: 'hint', id: 'api-key-hint' }, 'Kept in this tab only (session storage) and sent only to this gateway.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    const ok = await signIn(key, null);
    if (!ok) err.replaceChildren(h('div', { class: 'problem', role: 'alert' }, 'That key was not accepted (HTTP 401).'));
  });
  root.replaceChildren(h('main', { id: 'main', class: 'center' }, form));
  input.focus();
}

async function signIn(key: string, tenant: string | null): Promise<boolean> {
  const api = new Api(key, null);
  const [t, w, k] = [await api.status('/tenants?limit=1', false), await api.status('/webhooks?limit=1'), await api.status('/api-keys?limit=1')];
  const role = roleFromProbes(t, w, k);
  if (role === 'invalid') {
    sessionStorage.removeItem(KEY);
    return false;
  }
  let ownTenant: string | null = null;
  if (role === 'tenant_admin') {
    const keys = await api.get('/api-keys?limit=1').catch(() => null);
    ownTenant = keys?.data?.[0]?.tenant_id ?? null;
  }
  sessionStorage.setItem(KEY, key);
  if (role === 'admin') {
    api.tenant = tenant;
    if (tenant) sessionStorage.setItem(TENANT, tenant);
  }
  app = makeApp(api, role, ownTenant);
  render();
  return true;
}

function makeApp(api: Api, role: Role, ownTenant: string | null): App {
  return {
    api,
    role,
    edit: canEdit(role),
    tenant: () => (role === 'admin' ? api.tenant : ownTenant),
    needsTenant: () => role === 'admin' && !api.tenant,
    go: (hash: string) => {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    onLeave: (fn: () => void) => cleanups.push(fn),
    setTenant: (t: string | null) => {
      api.tenant = t;
      if (t) sessionStorage.setItem(TENANT, t);
      else sessionStorage.removeItem(TENANT);
      render();
    },
    refresh: () => render(),
  };
}

function signOut(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
  app = null;
  location.hash = '#/';
  signInPage();
}

const NAV: [string, string, (a: App) => boolean][] = [
  ['#/', 'Overview', () => true],
  ['#/webhooks', 'Webhooks', () => true],
  ['#/deliveries', 'Deliveries', () => true],
  ['#/event-types', 'Event types', () => true],
  ['#/sources', 'Sources', () => true],
  ['#/extensions', 'Extensions', () => true],
  ['#/tenants', 'Tenants', (a) => a.role === 'admin'],
  ['#/api-keys', 'API keys', (a) => canManageKeys(a.role)],
];

async function tenantPicker(a: App): Promise<HTMLElement | null> {
  if (a.role !== 'admin') return null;
  const sel = h('select', { id: 'tenant-picker', 'aria-label': 'Tenant' }, h('option', { value: '' }, '(choose a tenant)'));
  try {
    const page = await a.api.get('/tenants?limit=250', false);
    for (const t of page.data) sel.appendChild(h('option', { value: t.id, selected: t.id === a.api.tenant }, `${t.name} (${t.id})`));
  } catch {
    /* the page itself shows the problem */
  }
  sel.addEventListener('change', () => a.setTenant(sel.value || null));
  return h('label', { class: 'tenant-picker' }, 'Tenant ', sel);
}

async function render(): Promise<void> {
  cleanups.forEach((f) => f());
  cleanups = [];
  if (!app) return signInPage();
  const a = app;
  const { path, query } = parseHash(location.hash);
  const current = '#/' + (path[0] ?? '');
  const main = h('main', { id: 'main', tabindex: -1 }, h('p', { class: 'muted' }, 'Loading…'));
  const skip = h('a', { class: 'skip', href: '#main' }, 'Skip to content');
  skip.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  const roleLabel = a.role.replace('_', ' ');
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, 'Hookline'),
    h('nav', { 'aria-label': 'Main' }, h('ul', null, NAV.filter(([, , show]) => show(a)).map(([href, label]) =>
      h('li', null, h('a', { href, 'aria-current': href === current ? 'page' : undefined }, label))))),
    h('div', { class: 'who' },
      await tenantPicker(a),
      h('span', { class: 'role', 'data-testid': 'role' }, a.tenant() && a.role !== 'admin' ? `${roleLabel} · ${a.tenant()}` : roleLabel),
      h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out')));
  root.replaceChildren(skip, header, main);
  const page = routes(path);
  try {
    const content = await page(a, path, query);
    if (app === a) main.replaceChildren(content);
  } catch (e) {
    main.replaceChildren(problemBox(e));
  }
  // A new page: its title says where we are, and keyboard focus starts at its content
  // (the link that led here is gone with the old page).
  document.title = `${main.querySelector('h1')?.textContent ?? 'Error'} · Hookline`;
  if (navigated && (!document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected))
    main.focus({ preventScroll: true });
  navigated = false;
}

let navigated = false;
window.addEventListener('hashchange', () => {
  navigated = true;
  void render();
});
const saved = sessionStorage.getItem(KEY);
if (saved) {
  signIn(saved, sessionStorage.getItem(TENANT)).then((ok) => ok || signInPage('Your key is no longer accepted; sign in again.'));
} else {
  signInPage();
}
