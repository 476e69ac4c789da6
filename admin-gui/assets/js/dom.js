// Tiny DOM helpers: elements are built with h(), never from HTML strings, so API data is
// always text (no injection), and event handlers are attached with addEventListener (the
// Content-Security-Policy forbids inline handlers).

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

export function fmtTime(t) {
  if (!t) return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function toast(message, kind = 'ok') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast ${kind}`, text: message });
  box.append(t);
  while (box.children.length > 2) box.firstChild.remove();
  setTimeout(() => t.remove(), 4000);
}

// Accessible tabs: a tablist with arrow-key navigation; each tab renders lazily.
export function tabs(items, { active, label, onChange } = {}) {
  const list = h('div', { class: 'tablist', role: 'tablist', 'aria-label': label || 'Tabs' });
  const panel = h('div', { class: 'tabpanel', role: 'tabpanel', tabindex: '0' });
  const buttons = [];
  const select = async (i, focus) => {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', buttons[i].id);
    if (focus) buttons[i].focus();
    mount(panel, h('p', { class: 'loading', text: 'Loading…' }));
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
  const detail = e && e.message ? e.message : String(e);
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', { text: e && e.title ? e.title : 'Error' }), ' ', detail);
}

export function table(columns, rows, { caption, empty = 'Nothing here yet.' } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty });
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', { text: caption }) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c.label })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => {
        const v = c.render ? c.render(r) : r[c.key];
        return h('td', { 'data-label': c.label }, v === undefined || v === null || v === '' ? '—' : v);
      }))))));
}

export function confirmAction(message) {
  // window.confirm is keyboard accessible and needs no extra markup.
  return window.confirm(message);
}

// Tabs whose panels are all built up front and only shown or hidden (their form controls
// keep their values across tab switches). A 'reveal' event from inside a panel (a field
// error) selects that panel.
export function staticTabs(items, { label, onChange } = {}) {
  const list = h('div', { class: 'tablist', role: 'tablist', 'aria-label': label || 'Tabs' });
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
