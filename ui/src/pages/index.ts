// The pages and the route table: #/<section>[/<id>[/<action>]].
import { Api } from '../api';
import { h } from '../dom';
import { Role } from '../lib';
import { overviewPage } from './overview';
import { webhookEditPage, webhookPage, webhooksPage } from './webhooks';
import { deliveriesPage, deliveryPage } from './deliveries';
import { eventTypePage, eventTypesPage, extensionsPage, sourcesPage } from './catalog';
import { apiKeysPage, tenantsPage } from './admin';

export interface App {
  api: Api;
  role: Role;
  /** May change things (admin, tenant_admin); viewers get no edit controls. */
  edit: boolean;
  tenant(): string | null;
  /** An admin key that has not chosen a tenant yet. */
  needsTenant(): boolean;
  go(hash: string): void;
  onLeave(fn: () => void): void;
  setTenant(t: string | null): void;
  refresh(): void;
}

export type Page = (a: App, path: string[], query: URLSearchParams) => Promise<Node>;

function tenantScoped(p: Page): Page {
  return async (a, path, query) => {
    if (a.role === 'publisher')
      return h('section', null, h('h1', null, 'Publisher key'), h('p', null, 'A publisher key may only publish events (POST /api/v1/events); it cannot read webhooks or deliveries. Sign in with a viewer or tenant admin key.'));
    if (a.needsTenant())
      return h('section', null, h('h1', null, 'Choose a tenant'), h('p', null, 'An admin key acts on one tenant at a time: choose it in the header, or on the '), h('a', { href: '#/tenants' }, 'Tenants'), ' page.');
    return p(a, path, query);
  };
}

export function routes(path: string[]): Page {
  const [section, id, action] = path;
  switch (section ?? '') {
    case '':
      return tenantScoped(overviewPage);
    case 'webhooks':
      if (!id) return tenantScoped(webhooksPage);
      if (id === 'new') return tenantScoped(webhookEditPage);
      return tenantScoped(action === 'edit' ? webhookEditPage : webhookPage);
    case 'deliveries':
      return tenantScoped(id ? deliveryPage : deliveriesPage);
    case 'event-types':
      return tenantScoped(id ? eventTypePage : eventTypesPage);
    case 'sources':
      return tenantScoped(sourcesPage);
    case 'extensions':
      return tenantScoped(extensionsPage);
    case 'tenants':
      return tenantsPage;
    case 'api-keys':
      return apiKeysPage;
  }
  return async () => h('section', null, h('h1', null, 'Not found'), h('p', null, 'No such page. '), h('a', { href: '#/' }, 'Back to the overview'));
}
