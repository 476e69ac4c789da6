// Users: list with search and paging, create, edit (as the group's ACL allows), unlock,
// password, AuthSys / claims / values, devices and tokens (with the enrolment QR), and the
// printable OPIE list.

import { get, post, patch, put, del, enc, qs, Problem } from '../api.js';
import { h, mount, table, toast, act, fmtTime, svgImage, pager } from '../dom.js';
import { form, input, password, select, toggle, values, section, readonlyField } from '../forms.js';
import { access, go } from '../app.js';
import { t } from '../i18n.js';

// OPIE paper lists are shown once, at enrolment; they live here (memory only) until the
// page is reloaded, so that the printable page can show them.
const opieLists = new Map();

// [API field, input options]; labels are users.field.<name>.
const FIELDS = [
  ['name', {}],
  ['email', { type: 'email' }],
  ['document', {}],
  ['mobile', { type: 'tel' }],
];

async function walletOptions() {
  try {
    const list = await get('/v1/wallets?limit=500');
    return [['', t('users.no_wallet')]].concat(list.items.map((w) => [w.name, w.name]));
  } catch (e) {
    return null; // wallets not visible to this group
  }
}

export async function renderList() {
  const results = h('div');
  const cursors = [null];
  let pageNo = 0;
  let filters = {};
  const load = async () => {
    const page = await get(`/v1/users${qs({ ...filters, limit: 20, cursor: cursors[pageNo] })}`);
    cursors[pageNo + 1] = page.next_cursor;
    const cols = [{ label: t('common.login'), render: (u) => h('a', { href: `#/users/${enc(u.login)}`, text: u.login }) }];
    for (const f of ['name', 'email', 'mobile', 'wallet']) {
      if (access('users', f) !== 'none') cols.push({ label: t(`users.field.${f}`), key: f });
    }
    if (access('users', 'status') !== 'none') cols.push({ label: t('common.status'), render: (u) => t(`users.status_${u.status}`) });
    mount(results,
      table(cols, page.items, { caption: t('users.caption', { n: pageNo + 1 }), empty: t('users.none') }),
      pager(pageNo, !!page.next_cursor, (d) => { pageNo += d; load(); }));
  };
  const sorts = [['-created', t('users.sort_newest')], ['created', t('users.sort_oldest')], ['login', t('users.sort_login')], ['-login', t('users.sort_login_desc')]];
  for (const f of ['name', 'email', 'wallet']) if (access('users', f) !== 'none') sorts.push([f, t(`users.sort_${f}`)]);
  const search = form([
    // Filters only on fields the group may see (the API refuses the others).
    h('div', { class: 'search-row' },
      access('users', 'login') !== 'none' ? input('q', t('users.q'), { type: 'search', help: t('users.q_help') }) : null,
      access('users', 'wallet') !== 'none' ? input('wallet', t('users.field.wallet'), { type: 'search' }) : null,
      access('users', 'status') !== 'none' ? select('status', t('common.status'), [['', t('users.any')], ['active', t('users.status_active')], ['disabled', t('users.status_disabled')], ['locked', t('users.status_locked')]], '') : null,
      select('sort', t('common.order'), sorts, '-created')),
  ], {
    submit: t('users.search'),
    label: t('users.search'),
    onSubmit: async (fm) => {
      filters = values(fm);
      cursors.length = 1;
      pageNo = 0;
      await load();
      return '';
    },
  });
  await load();
  const canCreate = access('users', 'login') === 'edit';
  return h('div', {}, h('h1', { text: t('nav.users') }),
    canCreate ? h('p', {}, h('a', { class: 'button primary', href: '#/users/new', text: t('users.new') })) : null,
    search, results);
}

function userFields(u, wallets, creating) {
  const out = [];
  for (const [f, opts] of FIELDS) {
    const a = creating ? (access('users', f) === 'edit' ? 'edit' : 'none') : access('users', f);
    if (a === 'none') continue;
    const help = a === 'view' ? t('users.view_only') : (f === 'mobile' ? t('users.mobile_help') : undefined);
    out.push(input(f, t(`users.field.${f}`), { ...opts, value: u[f], readOnly: a === 'view', help }));
  }
  const wa = creating ? (access('users', 'wallet') === 'edit' ? 'edit' : 'none') : access('users', 'wallet');
  if (wa !== 'none') {
    if (wallets && wa === 'edit') out.push(select('wallet', t('users.field.wallet'), wallets, u.wallet || ''));
    else out.push(input('wallet', t('users.field.wallet'), { value: u.wallet, readOnly: wa === 'view' }));
  }
  return out;
}

export async function renderCreate() {
  const wallets = await walletOptions();
  const f = form([
    input('login', t('common.login'), { required: true, autocomplete: 'off' }),
    ...userFields({}, wallets, true),
    access('users', 'password') === 'edit' ? password('password', t('users.password_optional')) : null,
  ], {
    submit: t('users.create'),
    label: t('users.new'),
    onSubmit: async (fm) => {
      const v = values(fm);
      const u = await post('/v1/users', v);
      toast(t('users.created', { login: u.login }));
      go(`/users/${enc(u.login)}`);
      return '';
    },
  });
  return h('div', {}, h('h1', { text: t('users.new') }), f);
}

function detailsSection(u, wallets, refresh) {
  const editable = FIELDS.some(([f]) => access('users', f) === 'edit') || access('users', 'wallet') === 'edit' || access('users', 'status') === 'edit';
  const sa = access('users', 'status');
  const f = form([
    readonlyField(t('common.login'), u.login),
    ...userFields(u, wallets, false),
    u.email_bouncing ? h('p', { class: 'notice warn', 'data-testid': 'email-bouncing', text: t('users.email_bouncing', { status: u.email_bouncing.status || t('users.no_status'), since: fmtTime(u.email_bouncing.since) }) }) : null,
    sa === 'none' ? null : readonlyField(t('common.status'), t(`users.status_${u.status}`)),
    sa === 'edit' ? toggle('disabled', t('users.disabled'), u.status === 'disabled') : null,
  ], {
    label: t('users.details'),
    readOnly: !editable,
    onSubmit: async (fm) => {
      const v = values(fm);
      const body = {};
      for (const el of fm.querySelectorAll('[data-field]')) {
        if (el.readOnly || el.disabled) continue;
        const k = el.dataset.field;
        if (k === 'disabled') body.disabled = v.disabled;
        else body[k] = k in v ? v[k] : null;
      }
      const saved = await patch(`/v1/users/${enc(u.login)}`, body);
      Object.assign(u, saved);
      return t('common.saved');
    },
  });
  const actions = [];
  if (sa !== 'none' && (u.status === 'locked' || (u.failures && (u.failures.password || u.failures.otp || u.failures.hash)))) {
    actions.push(h('button', { type: 'button', text: t('users.unlock'), on: { click: async (e) => {
      if (await act(e.currentTarget, () => post(`/v1/users/${enc(u.login)}/unlock`), { done: t('users.unlocked', { login: u.login }) })) refresh();
    } } }));
  }
  return section(t('users.details'), f, actions.length ? h('div', { class: 'actions' }, actions) : null,
    u.failures && sa !== 'none' ? h('p', { class: 'help', text: t('users.failures', u.failures) }) : null);
}

function passwordSection(u) {
  if (access('users', 'password') !== 'edit') return null;
  return section(t('common.password'), form([
    u.password_changed_at ? h('p', { class: 'help', text: t('users.password_changed', { at: fmtTime(u.password_changed_at) }) }) : null,
    password('password', t('users.new_password')),
  ], {
    submit: t('users.set_password'),
    label: t('users.set_password'),
    onSubmit: async (fm) => {
      await post(`/v1/users/${enc(u.login)}/password`, { password: values(fm).password || '' });
      fm.reset();
      return t('users.password_set');
    },
  }));
}

// The user's AuthSys → claims → values as a structured editor: add / remove at each level,
// contents masked (they are credentials) with a per-value "Show" toggle. Every input carries
// the API path of its value as data-field ("[0].claims[1].values[0].key"), so a problem's
// `field` puts the message right under it.
function authsysEditor(doc, { editable, onSave }) {
  const state = (doc || []).map((s) => ({
    authsys: s.authsys,
    claims: (s.claims || []).map((c) => ({ claim: c.claim, values: (c.values || []).map((v) => ({ key: v.key, content: v.content })) })),
  }));
  const shown = new Set(); // value paths whose content is shown in clear
  const tree = h('div', { class: 'authsys-editor' });
  const name = (path, label, obj, prop, opts = {}) => {
    const w = input(path, label, { value: obj[prop], readOnly: !editable, autocomplete: 'off', cls: 'inline', ...opts });
    const el = w.querySelector('input');
    el.addEventListener('input', () => { obj[prop] = el.value; });
    return w;
  };
  // focusId: where focus returns after a redraw (add buttons).
  const button = (text, label, onClick, cls = 'small', focusId = undefined) => h('button', { type: 'button', class: cls, text, 'aria-label': label, dataset: focusId ? { focusId } : undefined, on: { click: onClick } });
  const focusField = (path) => {
    const el = tree.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (el) el.focus();
  };
  const draw = (focus) => {
    mount(tree,
      state.length ? state.map((s, i) => {
        const sp = `[${i}]`;
        const n1 = `${i + 1}`;
        return h('fieldset', { class: 'authsys-item' }, h('legend', { text: `${t('users.authsys_n', { n: n1 })}${s.authsys ? `: ${s.authsys}` : ''}` }),
          h('div', { class: 'authsys-row' },
            name(`${sp}.authsys`, t('users.authsys_name', { n: n1 }), s, 'authsys'),
            editable ? button(t('users.remove'), t('users.remove_authsys', { n: n1 }), () => { state.splice(i, 1); draw(state.length ? `[${Math.min(i, state.length - 1)}].authsys` : 'add-authsys'); }, 'small danger') : null),
          s.claims.map((c, j) => {
            const cp = `${sp}.claims[${j}]`;
            const n2 = `${n1}.${j + 1}`;
            return h('fieldset', { class: 'authsys-claim' }, h('legend', { text: `${t('users.claim_n', { n: n2 })}${c.claim ? `: ${c.claim}` : ''}` }),
              h('div', { class: 'authsys-row' },
                name(`${cp}.claim`, t('users.claim_name', { n: n2 }), c, 'claim'),
                editable ? button(t('users.remove'), t('users.remove_claim', { n: n2 }), () => { s.claims.splice(j, 1); draw(`add-claim-${i}`); }, 'small danger') : null),
              c.values.length ? h('ul', { class: 'authsys-values' }, c.values.map((v, k) => {
                const vp = `${cp}.values[${k}]`;
                const n3 = `${n2}.${k + 1}`;
                const visible = shown.has(vp);
                return h('li', { class: 'authsys-row' },
                  name(`${vp}.key`, t('users.value_key', { n: n3 }), v, 'key'),
                  name(`${vp}.content`, t('users.value_content', { n: n3 }), v, 'content', { type: visible ? 'text' : 'password', autocomplete: 'new-password', help: undefined }),
                  h('button', { type: 'button', class: 'small', text: visible ? t('users.hide') : t('users.show'), 'aria-label': t(visible ? 'users.hide_value' : 'users.show_value', { n: n3 }), dataset: { focusId: `toggle-${vp}` }, on: { click: () => {
                    if (visible) shown.delete(vp); else shown.add(vp);
                    draw(`toggle-${vp}`);
                  } } }),
                  editable ? button(t('users.remove'), t('users.remove_value', { n: n3 }), () => { c.values.splice(k, 1); draw(`add-value-${i}-${j}`); }, 'small danger') : null);
              })) : h('p', { class: 'empty', text: t('users.no_values') }),
              editable ? h('p', {}, button(t('users.add_value'), t('users.add_value_to', { n: n2 }), () => { c.values.push({ key: '', content: '' }); draw(`${cp}.values[${c.values.length - 1}].key`); }, 'small', `add-value-${i}-${j}`)) : null);
          }),
          s.claims.length ? null : h('p', { class: 'empty', text: t('users.no_claims') }),
          editable ? h('p', {}, button(t('users.add_claim'), t('users.add_claim_to', { n: n1 }), () => { s.claims.push({ claim: '', values: [] }); draw(`${sp}.claims[${s.claims.length - 1}].claim`); }, 'small', `add-claim-${i}`)) : null);
      }) : h('p', { class: 'empty', text: t('users.no_authsys') }),
      editable ? h('p', {}, button(t('users.add_authsys'), t('users.add_authsys'), () => { state.push({ authsys: '', claims: [] }); draw(`[${state.length - 1}].authsys`); }, 'small', 'add-authsys')) : null);
    if (focus) {
      const b = tree.querySelector(`[data-focus-id="${CSS.escape(focus)}"]`);
      if (b) b.focus(); else focusField(focus);
    }
  };
  draw();
  const f = form([tree], {
    submit: t('users.save_authsys'),
    label: t('users.authsys'),
    readOnly: !editable,
    onSubmit: async () => {
      const body = state.map((s) => ({ authsys: s.authsys, claims: s.claims.map((c) => ({ claim: c.claim, values: c.values.map((v) => ({ key: v.key, content: v.content })) })) }));
      try {
        await onSave(body);
      } catch (e) {
        // A problem about a whole value / claim whose message names the inner field
        // ("[0].claims[0]" + "values[1].key: …") is shown next to that inner field.
        if (e instanceof Problem && e.field && !tree.querySelector(`[data-field="${CSS.escape(e.field)}"]`)) {
          const m = (e.message || '').match(/^((?:\[\d+\]|[a-z_]+)(?:\.[a-z_]+|\[\d+\])*): /);
          if (m) {
            const inner = `${e.field}${m[1].startsWith('[') ? '' : '.'}${m[1]}`;
            if (tree.querySelector(`[data-field="${CSS.escape(inner)}"]`)) {
              e.field = inner;
              e.message = e.message.slice(m[0].length); // the input already says which field
            }
          }
        }
        throw e;
      }
      draw(); // legends show the saved names
      return t('common.saved');
    },
  });
  return f;
}

async function authsysSection(u) {
  const a = access('users', 'authsys');
  if (a === 'none') return null;
  const doc = await get(`/v1/users/${enc(u.login)}/authsys`);
  const editor = authsysEditor(doc, {
    editable: a === 'edit',
    onSave: async (body) => {
      await put(`/v1/users/${enc(u.login)}/authsys`, body);
    },
  });
  return section(t('users.authsys_title'), h('p', { class: 'help', text: t('users.authsys_help') }), editor);
}

function enrolmentResult(tok, login) {
  const parts = [h('p', { class: 'notice warn', text: t('users.shown_once') })];
  if (tok.qr_svg) parts.push(svgImage(tok.qr_svg, t('users.qr_alt', { type: tok.type.toUpperCase() })));
  if (tok.secret_base32) parts.push(h('p', {}, t('login.secret'), ' ', h('code', { class: 'secret', 'data-testid': 'token-secret', text: tok.secret_base32 })));
  if (tok.otpauth_uri) parts.push(h('p', { class: 'uri' }, h('code', { text: tok.otpauth_uri })));
  if (tok.list) {
    opieLists.set(tok.id, { login, seed: tok.seed, count: tok.count, list: tok.list });
    parts.push(h('p', {}, h('a', { class: 'button', href: `#/users/${enc(login)}/opie/${enc(tok.id)}`, text: t('users.open_opie') })));
  } else if (tok.seed) parts.push(h('p', { text: t('users.opie_seed', { seed: tok.seed, count: tok.count }) }));
  return h('div', { class: 'enrolment', 'data-testid': 'enrolment', role: 'region', 'aria-label': t('users.enrolment') }, parts);
}

async function tokensSection(u) {
  const a = access('users', 'tokens');
  if (a === 'none') return null;
  const list = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  const refresh = async () => {
    const page = await get(`/v1/users/${enc(u.login)}/tokens`);
    mount(list, table([
      { label: t('users.type'), render: (x) => x.type.toUpperCase() },
      { label: t('users.algorithm'), key: 'algorithm' },
      { label: t('users.digits'), key: 'digits' },
      { label: t('users.device'), key: 'device' },
      { label: t('users.opie_count'), key: 'count' },
      { label: t('common.created'), render: (x) => fmtTime(x.created_at) },
      { label: t('users.last_used'), render: (x) => fmtTime(x.last_used_at) },
      { label: t('common.actions'), render: (x) => (a === 'edit' ? h('button', { type: 'button', class: 'small danger', text: t('users.delete_token', { id: x.id.slice(0, 6) }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => del(`/v1/users/${enc(u.login)}/tokens/${enc(x.id)}`), { confirm: t('users.delete_token_confirm', { type: x.type.toUpperCase(), id: x.id.slice(0, 6), login: u.login }), verb: t('common.delete'), done: t('users.token_deleted') })) refresh();
      } } }) : '') },
    ], page.items, { caption: t('users.tokens'), empty: t('users.no_tokens') }));
  };
  await refresh();
  if (a !== 'edit') return section(t('users.tokens'), list);
  const opts = h('div');
  const syncType = (type) => {
    mount(opts,
      type === 'opie' ? null : select('algorithm', t('users.algorithm'), [['sha1', t('users.sha1')], ['sha256', 'SHA-256'], ['sha512', 'SHA-512']], 'sha1'),
      type === 'opie' ? null : select('digits', t('users.digits'), [6, 7, 8, 9, 10].map((n) => [n, String(n)]), 6, { kind: 'number' }),
      type === 'totp' ? input('period', t('users.period'), { type: 'number', value: 30, min: 1, max: 3600 }) : null,
      type === 'opie' ? input('list_size', t('users.list_size'), { type: 'number', value: 20, min: 1, max: 100 }) : null,
      type === 'opie' ? input('count', t('users.count'), { type: 'number', value: 500, min: 1, max: 10000 }) : null);
  };
  syncType('totp');
  const f = form([
    select('type', t('users.type'), [['totp', t('users.totp')], ['hotp', t('users.hotp')], ['opie', t('users.opie')]], 'totp', { on: { change: (e) => syncType(e.target.value) } }),
    opts,
  ], {
    submit: t('users.enrol'),
    label: t('users.enrol_title'),
    onSubmit: async (fm) => {
      const tok = await post(`/v1/users/${enc(u.login)}/tokens`, values(fm));
      mount(result, enrolmentResult(tok, u.login));
      await refresh();
      return t('users.enrolled');
    },
  });
  return section(t('users.tokens'), list, h('h3', { text: t('users.enrol_title') }), f, result);
}

async function devicesSection(u) {
  const a = access('users', 'devices');
  if (a === 'none') return null;
  const list = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  const refresh = async () => {
    const page = await get(`/v1/users/${enc(u.login)}/devices`);
    mount(list, table([
      { label: t('users.device'), key: 'name' },
      { label: t('users.shares_principal'), render: (d) => (d.shares_principal ? t('common.yes') : t('common.no')) },
      { label: t('common.created'), render: (d) => fmtTime(d.created_at) },
      { label: t('common.actions'), render: (d) => (a === 'edit' ? h('button', { type: 'button', class: 'small danger', text: t('users.delete_device', { name: d.name }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => del(`/v1/users/${enc(u.login)}/devices/${enc(d.name)}`), { confirm: t('users.delete_device_confirm', { name: d.name, login: u.login }), verb: t('common.delete'), done: t('users.device_deleted', { name: d.name }) })) refresh();
      } } }) : '') },
    ], page.items, { caption: t('users.devices'), empty: t('users.no_devices') }));
  };
  await refresh();
  if (a !== 'edit') return section(t('users.devices'), list);
  const f = form([
    input('name', t('users.device_name'), { required: true }),
    select('type', t('users.device_token'), [['totp', t('users.totp')], ['hotp', t('users.hotp')]], 'totp', { help: t('users.device_token_help') }),
  ], {
    submit: t('users.add_device'),
    label: t('users.add_device'),
    onSubmit: async (fm) => {
      const d = await post(`/v1/users/${enc(u.login)}/devices`, values(fm));
      mount(result,
        d.shares_principal ? h('p', { class: 'notice', text: t('users.shares_notice') }) : null,
        d.token ? enrolmentResult(d.token, u.login) : null);
      fm.reset();
      await refresh();
      return t('users.device_added');
    },
  });
  return section(t('users.devices'), list, h('h3', { text: t('users.add_device') }), f, result);
}

export async function renderEdit([login]) {
  const u = await get(`/v1/users/${enc(login)}`);
  const wallets = await walletOptions();
  const page = h('div');
  const refresh = async () => {
    const fresh = await get(`/v1/users/${enc(login)}`);
    Object.assign(u, fresh);
    await draw();
  };
  const draw = async () => {
    mount(page, h('p', {}, h('a', { href: '#/users', text: `← ${t('nav.users')}` })),
      h('h1', { text: t('users.title', { login: u.login }) }),
      detailsSection(u, wallets, refresh),
      passwordSection(u),
      await authsysSection(u),
      await tokensSection(u),
      await devicesSection(u),
      access('users', 'login') === 'edit' && access('users', 'status') === 'edit' ? section(t('common.delete'), h('button', { type: 'button', class: 'danger', text: t('users.delete', { login: u.login }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => del(`/v1/users/${enc(u.login)}`), { confirm: t('users.delete_confirm', { login: u.login }), verb: t('users.delete', { login: u.login }), done: t('users.deleted', { login: u.login }) })) go('/users');
      } } })) : null);
  };
  await draw();
  return page;
}

export async function renderOpie([login, id]) {
  const entry = opieLists.get(id);
  const back = h('p', { class: 'no-print' }, h('a', { href: `#/users/${enc(login)}`, text: `← ${t('users.title', { login })}` }));
  if (!entry) {
    return h('div', {}, back, h('h1', { text: t('users.opie_list') }),
      h('p', { class: 'notice warn', text: t('users.opie_gone') }));
  }
  return h('div', { class: 'opie-print' }, back,
    h('h1', { text: t('users.opie_title', { login: entry.login }) }),
    h('p', { text: t('users.opie_use', { seed: entry.seed }) }),
    h('p', { class: 'no-print' }, h('button', { type: 'button', text: t('users.print'), on: { click: () => window.print() } })),
    h('table', { class: 'opie-list' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('users.sequence') }), h('th', { scope: 'col', text: t('users.words') }), h('th', { scope: 'col', text: 'Hex' }))),
      h('tbody', {}, entry.list.map((r) => h('tr', {}, h('td', { text: String(r.sequence) }), h('td', { class: 'words', text: r.words }), h('td', {}, h('code', { text: r.hex })))))));
}
