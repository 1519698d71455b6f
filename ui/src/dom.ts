// Building the page: elements from data with textContent and attributes only (never HTML
// strings, so nothing an API value holds can become markup), forms whose fields carry the
// JSON pointer they edit, and a confirmation dialog.
import { ApiError } from './api';
import { fieldErrors, Problem, problemSummary } from './lib';

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

let uid = 0;
export function nextId(prefix: string): string {
  return `${prefix}-${++uid}`;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(v);
    } else if (k === 'checked' && 'checked' in el) {
      (el as HTMLInputElement).checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

export function link(href: string, ...children: Child[]): HTMLAnchorElement {
  return h('a', { href }, ...children);
}

export function badge(status: string): HTMLElement {
  return h('span', { class: `badge badge-${status}`, 'data-status': status }, status);
}

/** A problem, as hooklinectl prints it: title and detail, then each errors[] entry. */
export function problemBox(e: unknown): HTMLElement {
  if (e instanceof ApiError) {
    return h('div', { class: 'problem', role: 'alert' },
      h('p', null, problemSummary(e.problem, e.status)),
      e.problem.errors?.length
        ? h('ul', null, e.problem.errors.map((x) => h('li', null, h('code', null, x.pointer || '(body)'), ' ', x.detail)))
        : null);
  }
  return h('div', { class: 'problem', role: 'alert' }, String(e));
}

export function copyButton(text: string, label = 'Copy'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy by hand';
    }
    setTimeout(() => (b.textContent = label), 2000);
  });
  return b;
}

/** A value shown once (a new secret or key), with a copy button. */
export function shownOnce(title: string, value: string, note: string): HTMLElement {
  return h('div', { class: 'once', role: 'status' },
    h('p', null, h('strong', null, title)),
    h('p', { class: 'once-value' }, h('code', { 'data-testid': 'once-value' }, value), ' ', copyButton(value)),
    h('p', { class: 'muted' }, note));
}

export interface FieldOpts {
  hint?: string;
  type?: string;
  required?: boolean;
  options?: [string, string][];
  rows?: number;
  value?: string | boolean;
  placeholder?: string;
  list?: string;
  autocomplete?: string;
}

/** A labelled form field editing the JSON member at `pointer`, with a slot for its errors. */
export function field(label: string, pointer: string, o: FieldOpts = {}): HTMLElement {
  const id = nextId('f');
  const errId = id + '-err';
  const hintId = id + '-hint';
  const describedBy = [o.hint ? hintId : '', errId].filter(Boolean).join(' ');
  let input: HTMLElement;
  const common = { id, name: pointer, 'data-pointer': pointer, 'aria-describedby': describedBy, required: o.required };
  if (o.options) {
    input = h('select', common, o.options.map(([v, t]) => h('option', { value: v, selected: v === o.value }, t)));
  } else if (o.type === 'checkbox') {
    input = h('input', { ...common, type: 'checkbox', checked: o.value === true });
  } else if (o.rows) {
    input = h('textarea', { ...common, rows: o.rows, spellcheck: 'false', placeholder: o.placeholder });
    (input as HTMLTextAreaElement).value = typeof o.value === 'string' ? o.value : '';
  } else {
    input = h('input', { ...common, type: o.type ?? 'text', value: typeof o.value === 'string' ? o.value : '', placeholder: o.placeholder, list: o.list, autocomplete: o.autocomplete ?? 'off' });
  }
  const wrapper = h('div', { class: o.type === 'checkbox' ? 'field field-check' : 'field', 'data-field': pointer },
    o.type === 'checkbox' ? [input, h('label', { for: id }, label)] : [h('label', { for: id }, label), input],
    o.hint ? h('p', { class: 'hint', id: hintId }, o.hint) : null,
    h('p', { class: 'field-error', id: errId, 'aria-live': 'polite' }));
  return wrapper;
}

/** The values of a form's fields, keyed by the pointer they edit. */
export function formValues(form: HTMLElement): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  form.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('[data-pointer]').forEach((el) => {
    const p = el.dataset.pointer!;
    out[p] = el instanceof HTMLInputElement && el.type === 'checkbox' ? el.checked : el.value;
  });
  return out;
}

/** Shows a problem's errors next to the fields they point at (data-field wrappers) and the
 *  rest in the form's general slot; focuses the first field in error. */
export function showFormErrors(form: HTMLElement, e: unknown): void {
  clearFormErrors(form);
  const general = form.querySelector<HTMLElement>('.form-problem')!;
  if (!(e instanceof ApiError)) {
    general.replaceChildren(problemBox(e));
    return;
  }
  const wrappers = Array.from(form.querySelectorAll<HTMLElement>('[data-field]'));
  const fields = wrappers.map((w) => w.dataset.field!);
  const fe = fieldErrors(e.problem, fields);
  let first: HTMLElement | null = null;
  for (const w of wrappers) {
    const msgs = fe.byField.get(w.dataset.field!);
    if (!msgs) continue;
    w.classList.add('invalid');
    w.querySelector('.field-error')!.textContent = msgs.join('; ');
    const input = w.querySelector<HTMLElement>('[data-pointer]');
    input?.setAttribute('aria-invalid', 'true');
    if (!first && input) first = input;
  }
  const p: Problem = { ...e.problem, errors: undefined };
  general.replaceChildren(h('div', { class: 'problem', role: 'alert' },
    h('p', null, problemSummary(p, e.status)),
    fe.general.length ? h('ul', null, fe.general.map((g) => h('li', null, g))) : null));
  first?.focus();
}

export function clearFormErrors(form: HTMLElement): void {
  form.querySelectorAll('.invalid').forEach((w) => w.classList.remove('invalid'));
  form.querySelectorAll('.field-error').forEach((x) => (x.textContent = ''));
  form.querySelectorAll('[aria-invalid]').forEach((x) => x.removeAttribute('aria-invalid'));
  form.querySelector('.form-problem')?.replaceChildren();
}

/** A form that submits with fn; the button is disabled while the request runs. */
export function apiForm(label: string, submitLabel: string, children: Child[], fn: (form: HTMLFormElement) => Promise<void>): HTMLFormElement {
  const form = h('form', { class: 'api-form', 'aria-label': label, novalidate: true },
    h('div', { class: 'form-problem' }),
    children,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, submitLabel)));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btn = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    btn.disabled = true;
    try {
      clearFormErrors(form);
      await fn(form);
    } catch (e) {
      showFormErrors(form, e);
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(message: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-label': 'Confirm' },
      h('p', null, message),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', value: 'cancel', onclick: () => dlg.close('cancel') }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', value: 'ok', onclick: () => dlg.close('ok') }, action)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    (dlg.querySelector('button.secondary') as HTMLButtonElement).focus();
  });
}

export function table(headers: string[], rows: Child[][], label: string): HTMLElement {
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 },
    h('table', null,
      h('thead', null, h('tr', null, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows.length
        ? rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))
        : h('tr', null, h('td', { colspan: headers.length, class: 'empty' }, 'Nothing here yet.')))));
}

export function dl(items: [string, Child][]): HTMLElement {
  return h('dl', { class: 'props' }, items.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
