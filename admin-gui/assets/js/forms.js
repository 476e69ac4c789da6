// Form building blocks. Every control carries data-field="<API field name>" (dotted for
// nested objects: "primary.url"), so a problem+json answer's `field` finds the control it
// is about and the message is shown right under it.

import { h, uid, problemText } from './dom.js';
import { Problem } from './api.js';
import { t, has } from './i18n.js';

function wrap(name, label, control, { help, cls } = {}) {
  const id = control.id || (control.id = uid('f'));
  const helpEl = help ? h('p', { class: 'help', id: `${id}-help` }, help) : null;
  const err = h('p', { class: 'field-error', id: `${id}-err`, role: 'alert', hidden: true });
  control.setAttribute('aria-describedby', [helpEl ? helpEl.id : null, err.id].filter(Boolean).join(' '));
  return h('div', { class: ['field', cls], 'data-field-wrap': name },
    h('label', { for: id, text: label }), control, helpEl, err);
}

export function input(name, label, opts = {}) {
  const { type = 'text', value, help, required, readOnly, min, max, step, placeholder, autocomplete, kind, inputmode, disabled } = opts;
  const el = h('input', {
    type, name, 'data-field': name, 'data-type': kind || (type === 'number' ? 'number' : undefined),
    value: value === undefined || value === null ? '' : String(value),
    required, readOnly, min, max, step, placeholder, autocomplete, inputmode, disabled,
  });
  if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) el.addEventListener(ev, fn);
  return wrap(name, label, el, { help, cls: opts.cls });
}

export function password(name, label, opts = {}) {
  return input(name, label, { ...opts, type: 'password', autocomplete: opts.autocomplete || 'new-password' });
}

export function textarea(name, label, opts = {}) {
  const { value, help, rows = 3, kind, readOnly, placeholder } = opts;
  let text = value;
  if (kind === 'json' && value !== undefined && value !== null && typeof value !== 'string') text = JSON.stringify(value, null, 2);
  const el = h('textarea', { name, 'data-field': name, 'data-type': kind, rows, readOnly, placeholder });
  el.value = text === undefined || text === null ? '' : String(text);
  if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) el.addEventListener(ev, fn);
  return wrap(name, label, el, { help, cls: opts.cls });
}

export function select(name, label, options, value, opts = {}) {
  const el = h('select', { name, 'data-field': name, 'data-type': opts.kind, disabled: opts.disabled },
    options.map((o) => {
      const [v, l] = Array.isArray(o) ? o : [o, o];
      return h('option', { value: v, selected: String(v) === String(value ?? '') }, l);
    }));
  if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) el.addEventListener(ev, fn);
  return wrap(name, label, el, { help: opts.help, cls: opts.cls });
}

// A switch: a real checkbox (keyboard and screen readers understand it) styled as a toggle.
export function toggle(name, label, checked, opts = {}) {
  const id = uid('f');
  const el = h('input', { type: 'checkbox', id, name, 'data-field': name, 'data-type': 'bool', checked: !!checked, disabled: opts.disabled, role: 'switch' });
  if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) el.addEventListener(ev, fn);
  const err = h('p', { class: 'field-error', id: `${id}-err`, role: 'alert', hidden: true });
  const helpEl = opts.help ? h('p', { class: 'help', id: `${id}-help` }, opts.help) : null;
  el.setAttribute('aria-describedby', [helpEl ? helpEl.id : null, err.id].filter(Boolean).join(' '));
  return h('div', { class: 'field switch', 'data-field-wrap': name },
    h('label', { for: id }, el, h('span', { class: 'slider', 'aria-hidden': 'true' }), ' ', label), helpEl, err);
}

export function radios(name, legend, options, value, opts = {}) {
  const err = h('p', { class: 'field-error', role: 'alert', hidden: true, id: uid('err') });
  const fs = h('fieldset', { class: 'field radios', 'data-field-wrap': name },
    h('legend', { text: legend }),
    options.map(([v, l]) => {
      const id = uid('r');
      const el = h('input', { type: 'radio', id, name: `${name}-${fs_seq}`, value: v, 'data-field': name, checked: String(v) === String(value), 'aria-describedby': err.id });
      if (opts.on) for (const [ev, fn] of Object.entries(opts.on)) el.addEventListener(ev, fn);
      return h('label', { for: id, class: 'radio' }, el, ' ', l);
    }),
    opts.help ? h('p', { class: 'help' }, opts.help) : null, err);
  fs_seq += 1;
  return fs;
}
let fs_seq = 0;

export function readonlyField(label, value) {
  const id = uid('f');
  return h('div', { class: 'field' }, h('label', { for: id, text: label }),
    h('output', { id, class: 'readonly' }, value === undefined || value === null || value === '' ? '—' : String(value)));
}

function setPath(obj, path, v) {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p];
  }
  o[parts[parts.length - 1]] = v;
}

// Reads every [data-field] control of `root` (skipping disabled ones and those inside a
// [data-skip] container) into an object; empty text fields are left out.
export function values(root) {
  const out = {};
  for (const el of root.querySelectorAll('[data-field]')) {
    if (el.disabled || el.closest('[data-skip]')) continue;
    const name = el.dataset.field;
    const kind = el.dataset.type;
    if (el.type === 'radio') {
      if (el.checked) setPath(out, name, el.value);
      continue;
    }
    if (kind === 'bool' || el.type === 'checkbox') {
      setPath(out, name, el.checked);
      continue;
    }
    const raw = el.value;
    if (raw.trim() === '') continue;
    if (kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Problem(400, { field: name, detail: t('rule.number') });
      setPath(out, name, n);
    } else if (kind === 'json') {
      try {
        setPath(out, name, JSON.parse(raw));
      } catch (e) {
        throw new Problem(400, { field: name, detail: t('rule.json', { error: e.message }) });
      }
    } else if (kind === 'lines') {
      setPath(out, name, raw.split('\n').map((s) => s.trim()).filter(Boolean));
    } else {
      setPath(out, name, raw);
    }
  }
  return out;
}

export function clearErrors(root) {
  for (const e of root.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
  for (const e of root.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  for (const e of root.querySelectorAll('.form-error')) {
    e.hidden = true;
    e.textContent = '';
  }
}

// "patterns[0].pattern" → ["patterns[0].pattern", "patterns[0]", "patterns"].
function candidates(field) {
  const out = [field];
  let f = field;
  for (;;) {
    const m = f.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
    if (!m || !m[1]) break;
    f = m[1];
    out.push(f);
  }
  return out;
}

// The words for one offending field of a problem+json answer: the catalogue's sentence for
// its documented rule (with the rule's bound), else the server's detail.
export function fieldText(e) {
  // A sentence for this field and rule (field.<name>.<rule>) says more than the rule alone.
  const own = `field.${e.field}.${e.rule}`;
  if (e.rule && has(own)) return t(own);
  // A pattern's name (`limit`) says which form was expected.
  if (e.rule === 'pattern' && e.limit && has(`pattern.${e.limit}`)) return t(`pattern.${e.limit}`);
  const key = `rule.${e.rule}`;
  if (e.rule && e.rule !== 'pattern' && has(key)) {
    const allowed = Array.isArray(e.allowed) ? e.allowed.join(', ') : '';
    return t(key, { limit: e.limit, n: typeof e.limit === 'number' ? e.limit : 0, allowed });
  }
  return e.detail || '';
}

// Shows one message under the control its field names; false when no control matches.
function atField(root, field, text, prefix, first) {
  for (const c of candidates(prefix + field).concat(prefix ? candidates(field) : [])) {
    const el = root.querySelector(`[data-field="${CSS.escape(c)}"]`);
    if (!el) continue;
    const wrapEl = el.closest('[data-field-wrap]');
    const err = wrapEl && wrapEl.querySelector('.field-error');
    if (!err) continue;
    err.textContent = err.hidden || !err.textContent ? text : `${err.textContent} ${text}`;
    err.hidden = false;
    el.setAttribute('aria-invalid', 'true');
    if (first) {
      wrapEl.dispatchEvent(new CustomEvent('reveal', { bubbles: true }));
      if (!wrapEl.closest('[hidden]')) el.focus();
    }
    return true;
  }
  return false;
}

// Shows a Problem: every offending field (`errors`, or the single `field`) under its
// control, in the console's words; what has no control is listed at the top of the form.
export function showProblem(root, problem, { prefix = '' } = {}) {
  const body = problem.body || {};
  const list = Array.isArray(body.errors) && body.errors.length
    ? body.errors
    : (problem.field ? [{ field: problem.field, detail: problem.message }] : []);
  const rest = [];
  let first = true;
  for (const e of list) {
    const text = fieldText(e);
    if (e.field && atField(root, e.field, text, prefix, first)) first = false;
    else rest.push(e.field ? t('form.field_problem', { field: e.field, detail: text }) : text);
  }
  if (!list.length) rest.push(problemText(problem));
  if (!rest.length) return;
  let top = root.querySelector('.form-error');
  if (!top) {
    top = h('div', { class: 'form-error problem', role: 'alert' });
    root.prepend(top);
  }
  top.textContent = rest.join(' ');
  top.hidden = false;
}

// A <form> whose submit runs `onSubmit(form)`; a thrown Problem is shown next to its field.
// onSubmit may answer a string (shown as a success) or {text, ok: false} (shown as a failure).
export function form(children, { submit, onSubmit, buttons = [], label, readOnly } = {}) {
  const status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const f = h('form', { class: 'form', novalidate: true, 'aria-label': label },
    h('div', { class: 'form-error problem', role: 'alert', hidden: true }),
    children,
    h('div', { class: 'actions' },
      readOnly ? null : h('button', { type: 'submit', class: 'primary', text: submit || t('common.save') }),
      buttons, status));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    status.textContent = '';
    status.className = 'form-status';
    const btn = f.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    try {
      const msg = await onSubmit(f);
      if (msg && typeof msg === 'object') {
        status.textContent = msg.text;
        status.classList.add(msg.ok === false ? 'failed' : 'succeeded');
      } else {
        status.textContent = typeof msg === 'string' ? msg : t('common.saved');
        if (status.textContent) status.classList.add('succeeded');
      }
    } catch (e) {
      if (e instanceof Problem) showProblem(f, e);
      else showProblem(f, { message: String(e && e.message ? e.message : e) });
    } finally {
      if (btn) btn.disabled = false;
    }
  });
  if (readOnly) for (const el of f.querySelectorAll('input, select, textarea')) el.disabled = true;
  return f;
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', { text: title }), children);
}
