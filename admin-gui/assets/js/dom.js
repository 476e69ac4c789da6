// Tiny DOM helpers: elements are built with h(), never from HTML strings, so API data is
// always text (no injection), and event handlers are attached with addEventListener (the
// Content-Security-Policy forbids inline handlers).

import { t, dateTime, has } from './i18n.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'readOnly', 'required', 'selected', 'multiple', 'indeterminate']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function mount(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let seq = 0;
export const uid = (p = 'id') => `${p}-${++seq}`;

// An SVG from the API (an enrolment QR code) shown as an image: a data: URL keeps any
// markup in it from running in the page.
export function svgImage(svg, alt) {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return h('img', { class: 'qr', src: `data:image/svg+xml;base64,${btoa(bin)}`, alt });
}

export const fmtTime = dateTime;

// A short message in the corner: `ok` (dark) or `error` (red, announced at once). Each
// toast replaces the previous one, so an old answer never looks like the new one's.
export function toast(message, kind = 'ok') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts' });
    document.body.append(box);
  }
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': `toast-${kind}`, text: message });
  box.replaceChildren(el);
  setTimeout(() => el.remove(), kind === 'error' ? 10000 : 4000);
}

// The words for a problem+json answer: the catalogue's sentence for its code when there is
// one (errors.<code>), else the server's detail.
export function problemText(e) {
  if (!e) return t('errors.unknown');
  const code = e.code;
  if (code && code !== 'invalid_field' && has(`errors.${code}`)) return t(`errors.${code}`, { detail: e.message || '' });
  if (e.status === 0) return t('errors.network');
  return e.message || String(e);
}

// The words for a text the API gives as "field: detail" (a warning, a profile's last error):
// the catalogue's sentence for the field (<kind>.<field>) when there is one, else the
// server's text (e.g. a provider's own error). `values` fills the sentence (e.g. the date a
// client secret expires, from the resource itself); its `variant` picks one of the field's
// sentences (<kind>.<field>.<variant>).
export function serverText(kind, text, values = {}) {
  const m = /^([a-z_]+): /.exec(text || '');
  if (!m) return text;
  const key = values.variant ? `${kind}.${m[1]}.${values.variant}` : `${kind}.${m[1]}`;
  return has(key) ? t(key, values) : text;
}

export const warningText = (w, values) => serverText('warnings', w, values);

// Accessible tabs: a tablist with arrow-key navigation; each tab renders lazily.
export function tabs(items, { active, label, onChange } = {}) {
  const list = h('div', { class: 'tablist', role: 'tablist', 'aria-label': label || t('common.tabs') });
  const panel = h('div', { class: 'tabpanel', role: 'tabpanel', tabindex: '0' });
  const buttons = [];
  const select = async (i, focus) => {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', buttons[i].id);
    if (focus) buttons[i].focus();
    mount(panel, h('p', { class: 'loading', text: t('common.loading') }));
    try {
      mount(panel, await items[i].render());
    } catch (e) {
      mount(panel, errorBox(e));
    }
    if (onChange) onChange(items[i].id);
  };
  items.forEach((it, i) => {
    const b = h('button', {
      type: 'button', role: 'tab', id: uid('tab'), class: 'tab', 'data-tab': it.id,
      disabled: it.disabled, title: it.title,
      on: {
        click: () => select(i, false),
        keydown: (e) => {
          const enabled = items.map((x, j) => (x.disabled ? -1 : j)).filter((j) => j >= 0);
          const pos = enabled.indexOf(i);
          if (e.key === 'ArrowRight') select(enabled[(pos + 1) % enabled.length], true);
          else if (e.key === 'ArrowLeft') select(enabled[(pos - 1 + enabled.length) % enabled.length], true);
          else return;
          e.preventDefault();
        },
      },
    }, it.label);
    buttons.push(b);
    list.append(b);
  });
  const start = Math.max(0, items.findIndex((x) => x.id === active));
  select(start, false);
  return h('div', { class: 'tabs' }, list, panel);
}

export function errorBox(e) {
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', { text: t('common.error') }), ' ', problemText(e));
}

// `hideCaption`: the caption repeats a visible heading, so only screen readers get it.
export function table(columns, rows, { caption, empty, hideCaption } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty || t('common.empty') });
  // The wrapper scrolls sideways on narrow screens: focusable, so keyboards can scroll it.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || t('common.table') },
    h('table', {},
      caption ? h('caption', { text: caption, class: hideCaption ? 'sr-only' : null }) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c.label })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => {
        const v = c.render ? c.render(r) : r[c.key];
        return h('td', { 'data-label': c.label }, v === undefined || v === null || v === '' ? '—' : v);
      }))))));
}

// A native modal <dialog> asking to confirm a destructive action: `message` names what is
// destroyed, the confirm button says the action (`verb`); resolves true when confirmed.
// Escape and the cancel button answer false.
export function confirmAction(message, { verb, danger = true } = {}) {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-testid': 'confirm-yes', text: verb || t('common.confirm') });
    const no = h('button', { type: 'button', 'data-testid': 'confirm-no', text: t('common.cancel') });
    const text = h('p', { id: uid('dlg'), text: message });
    const dlg = h('dialog', { class: 'confirm', 'aria-describedby': text.id, 'aria-label': verb || t('common.confirm') },
      text, h('div', { class: 'actions' }, no, yes));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    no.focus();
  });
}

// Runs a row or page action (delete, revoke, unlock, test): the button is disabled while it
// runs; a failure is shown right after the button (and as a red toast), a success as a toast.
// Returns whether it succeeded.
export async function act(button, fn, { confirm, verb, done } = {}) {
  if (confirm && !(await confirmAction(confirm, { verb }))) return false;
  for (const old of button.parentElement.querySelectorAll(':scope > .action-error')) old.remove();
  button.disabled = true;
  try {
    await fn();
    if (done) toast(done);
    return true;
  } catch (e) {
    const text = problemText(e);
    const err = h('p', { class: 'action-error field-error', role: 'alert', 'data-testid': 'action-error', text });
    button.insertAdjacentElement('afterend', err);
    toast(text, 'error');
    return false;
  } finally {
    if (button.isConnected) button.disabled = false;
  }
}

// A pager for lists paged by the server with cursors.
export function pager(pageNo, hasNext, onMove) {
  return h('nav', { class: 'pager', 'aria-label': t('common.pages') },
    h('button', { type: 'button', text: t('common.previous'), disabled: pageNo === 0, on: { click: () => onMove(-1) } }),
    h('span', { text: ` ${t('common.page', { n: pageNo + 1 })} ` }),
    h('button', { type: 'button', text: t('common.next'), disabled: !hasNext, on: { click: () => onMove(1) } }));
}

// Tabs whose panels are all built up front and only shown or hidden (their form controls
// keep their values across tab switches). A 'reveal' event from inside a panel (a field
// error) selects that panel.
export function staticTabs(items, { label, onChange } = {}) {
  const list = h('div', { class: 'tablist', role: 'tablist', 'aria-label': label || t('common.tabs') });
  const buttons = [];
  const select = (i, focus) => {
    items.forEach((it, j) => {
      buttons[j].setAttribute('aria-selected', String(i === j));
      buttons[j].tabIndex = i === j ? 0 : -1;
      it.panel.hidden = i !== j;
    });
    if (focus) buttons[i].focus();
    if (onChange) onChange(items[i].id);
  };
  items.forEach((it, i) => {
    const id = uid('tab');
    it.panel.setAttribute('role', 'tabpanel');
    it.panel.setAttribute('aria-labelledby', id);
    it.panel.classList.add('tabpanel');
    it.panel.addEventListener('reveal', () => select(i, false));
    const b = h('button', {
      type: 'button', role: 'tab', id, class: 'tab', 'data-tab': it.id,
      on: {
        click: () => select(i, false),
        keydown: (e) => {
          if (e.key === 'ArrowRight') select((i + 1) % items.length, true);
          else if (e.key === 'ArrowLeft') select((i - 1 + items.length) % items.length, true);
          else return;
          e.preventDefault();
        },
      },
    }, it.label);
    buttons.push(b);
    list.append(b);
  });
  setTimeout(() => select(0, false));
  items.forEach((it, j) => { it.panel.hidden = j !== 0; });
  buttons.forEach((b, j) => { b.setAttribute('aria-selected', String(j === 0)); b.tabIndex = j === 0 ? 0 : -1; });
  return { list, select };
}
