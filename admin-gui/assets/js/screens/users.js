// Users: list with search and paging, create, edit (as the group's ACL allows), unlock,
// password, AuthSys / claims / values, devices and tokens (with the enrolment QR), and the
// printable OPIE list.

import { get, post, patch, put, del, enc, qs, Problem } from '../api.js';
import { h, mount, table, toast, confirmAction, fmtTime, svgImage } from '../dom.js';
import { form, input, password, select, toggle, values, section, readonlyField } from '../forms.js';
import { access, go } from '../app.js';

// OPIE paper lists are shown once, at enrolment; they live here (memory only) until the
// page is reloaded, so that the printable page can show them.
const opieLists = new Map();

const FIELDS = [
  ['name', 'Name', {}],
  ['email', 'E-mail', { type: 'email' }],
  ['document', 'Document', {}],
  ['mobile', 'Mobile phone (E.164)', { type: 'tel' }],
];

async function walletOptions() {
  try {
    const list = await get('/v1/wallets?limit=500');
    return [['', '(none)']].concat(list.items.map((w) => [w.name, w.name]));
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
    const cols = [{ label: 'Login', render: (u) => h('a', { href: `#/users/${enc(u.login)}`, text: u.login }) }];
    for (const [f, label] of [['name', 'Name'], ['email', 'E-mail'], ['mobile', 'Mobile'], ['wallet', 'Wallet'], ['status', 'Status']]) {
      if (access('users', f) !== 'none') cols.push({ label, key: f });
    }
    mount(results,
      table(cols, page.items, { caption: `Users, page ${pageNo + 1}`, empty: 'No user matches.' }),
      h('nav', { class: 'pager', 'aria-label': 'Pages' },
        h('button', { type: 'button', text: 'Previous page', disabled: pageNo === 0, on: { click: () => { pageNo -= 1; load(); } } }),
        h('span', { text: ` Page ${pageNo + 1} ` }),
        h('button', { type: 'button', text: 'Next page', disabled: !page.next_cursor, on: { click: () => { pageNo += 1; load(); } } })));
  };
  const search = form([
    // Filters only on fields the group may see (the API refuses the others).
    h('div', { class: 'search-row' },
      access('users', 'login') !== 'none' ? input('login_prefix', 'Login starts with', { type: 'search' }) : null,
      access('users', 'email') !== 'none' ? input('email', 'E-mail', { type: 'search' }) : null,
      access('users', 'mobile') !== 'none' ? input('mobile', 'Mobile', { type: 'search' }) : null,
      access('users', 'document') !== 'none' ? input('document', 'Document', { type: 'search' }) : null,
      access('users', 'wallet') !== 'none' ? input('wallet', 'Wallet', { type: 'search' }) : null,
      access('users', 'status') !== 'none' ? select('status', 'Status', [['', 'Any'], ['active', 'Active'], ['disabled', 'Disabled'], ['locked', 'Locked']], '') : null),
  ], {
    submit: 'Search',
    label: 'Search users',
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
  return h('div', {}, h('h1', { text: 'Users' }),
    canCreate ? h('p', {}, h('a', { class: 'button primary', href: '#/users/new', text: 'New user' })) : null,
    search, results);
}

function userFields(u, wallets, creating) {
  const out = [];
  for (const [f, label, opts] of FIELDS) {
    const a = creating ? (access('users', f) === 'edit' ? 'edit' : 'none') : access('users', f);
    if (a === 'none') continue;
    out.push(input(f, label, { ...opts, value: u[f], readOnly: a === 'view', help: a === 'view' ? 'View only for your group.' : undefined }));
  }
  const wa = creating ? (access('users', 'wallet') === 'edit' ? 'edit' : 'none') : access('users', 'wallet');
  if (wa !== 'none') {
    if (wallets && wa === 'edit') out.push(select('wallet', 'Wallet', wallets, u.wallet || ''));
    else out.push(input('wallet', 'Wallet', { value: u.wallet, readOnly: wa === 'view' }));
  }
  return out;
}

export async function renderCreate() {
  const wallets = await walletOptions();
  const f = form([
    input('login', 'Login', { required: true, autocomplete: 'off' }),
    ...userFields({}, wallets, true),
    access('users', 'password') === 'edit' ? password('password', 'Password (optional)') : null,
  ], {
    submit: 'Create user',
    label: 'New user',
    onSubmit: async (fm) => {
      const v = values(fm);
      const u = await post('/v1/users', v);
      toast(`User ${u.login} created.`);
      go(`/users/${enc(u.login)}`);
      return 'Created.';
    },
  });
  return h('div', {}, h('h1', { text: 'New user' }), f);
}

function detailsSection(u, wallets, refresh) {
  const editable = FIELDS.some(([f]) => access('users', f) === 'edit') || access('users', 'wallet') === 'edit' || access('users', 'status') === 'edit';
  const sa = access('users', 'status');
  const f = form([
    readonlyField('Login', u.login),
    ...userFields(u, wallets, false),
    sa === 'none' ? null : readonlyField('Status', u.status),
    sa === 'edit' ? toggle('disabled', 'Disabled', u.status === 'disabled') : null,
  ], {
    label: 'User details',
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
      toast('User saved.');
      return 'Saved.';
    },
  });
  const actions = [];
  if (sa !== 'none' && (u.status === 'locked' || (u.failures && (u.failures.password || u.failures.otp || u.failures.hash)))) {
    actions.push(h('button', { type: 'button', text: 'Unlock', on: { click: async () => {
      await post(`/v1/users/${enc(u.login)}/unlock`);
      toast(`${u.login} unlocked.`);
      refresh();
    } } }));
  }
  return section('Details', f, actions.length ? h('div', { class: 'actions' }, actions) : null,
    u.failures && sa !== 'none' ? h('p', { class: 'help', text: `Failures in a row: password ${u.failures.password}, code ${u.failures.otp}, hash ${u.failures.hash}.` }) : null);
}

function passwordSection(u) {
  if (access('users', 'password') !== 'edit') return null;
  return section('Password', form([
    u.password_changed_at ? h('p', { class: 'help', text: `Last changed ${fmtTime(u.password_changed_at)}.` }) : null,
    password('password', 'New password'),
  ], {
    submit: 'Set password',
    label: 'Set password',
    onSubmit: async (fm) => {
      await post(`/v1/users/${enc(u.login)}/password`, { password: values(fm).password || '' });
      fm.reset();
      return 'Password set.';
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
  const button = (text, label, onClick, cls = 'small') => h('button', { type: 'button', class: cls, text, 'aria-label': label, on: { click: onClick } });
  const focusField = (path) => {
    const el = tree.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (el) el.focus();
  };
  const draw = (focus) => {
    mount(tree,
      state.length ? state.map((s, i) => {
        const sp = `[${i}]`;
        const n1 = `${i + 1}`;
        return h('fieldset', { class: 'authsys-item' }, h('legend', { text: `AuthSys ${n1}${s.authsys ? `: ${s.authsys}` : ''}` }),
          h('div', { class: 'authsys-row' },
            name(`${sp}.authsys`, `AuthSys ${n1} name`, s, 'authsys'),
            editable ? button('Remove', `Remove AuthSys ${n1}`, () => { state.splice(i, 1); draw(state.length ? `[${Math.min(i, state.length - 1)}].authsys` : 'add-authsys'); }, 'small danger') : null),
          s.claims.map((c, j) => {
            const cp = `${sp}.claims[${j}]`;
            const n2 = `${n1}.${j + 1}`;
            return h('fieldset', { class: 'authsys-claim' }, h('legend', { text: `Claim ${n2}${c.claim ? `: ${c.claim}` : ''}` }),
              h('div', { class: 'authsys-row' },
                name(`${cp}.claim`, `Claim ${n2} name`, c, 'claim'),
                editable ? button('Remove', `Remove claim ${n2}`, () => { s.claims.splice(j, 1); draw(`add-claim-${i}`); }, 'small danger') : null),
              c.values.length ? h('ul', { class: 'authsys-values' }, c.values.map((v, k) => {
                const vp = `${cp}.values[${k}]`;
                const n3 = `${n2}.${k + 1}`;
                const visible = shown.has(vp);
                return h('li', { class: 'authsys-row' },
                  name(`${vp}.key`, `Value ${n3} key`, v, 'key'),
                  name(`${vp}.content`, `Value ${n3} content`, v, 'content', { type: visible ? 'text' : 'password', autocomplete: 'new-password', help: undefined }),
                  button(visible ? 'Hide' : 'Show', `${visible ? 'Hide' : 'Show'} value ${n3} content`, () => {
                    if (visible) shown.delete(vp); else shown.add(vp);
                    draw(`toggle-${vp}`);
                  }),
                  editable ? button('Remove', `Remove value ${n3}`, () => { c.values.splice(k, 1); draw(`add-value-${i}-${j}`); }, 'small danger') : null);
              })) : h('p', { class: 'empty', text: 'No values.' }),
              editable ? h('p', {}, button('Add value', `Add value to claim ${n2}`, () => { c.values.push({ key: '', content: '' }); draw(`${cp}.values[${c.values.length - 1}].key`); })) : null);
          }),
          s.claims.length ? null : h('p', { class: 'empty', text: 'No claims.' }),
          editable ? h('p', {}, button('Add claim', `Add claim to AuthSys ${n1}`, () => { s.claims.push({ claim: '', values: [] }); draw(`${sp}.claims[${s.claims.length - 1}].claim`); })) : null);
      }) : h('p', { class: 'empty', text: 'No AuthSys.' }),
      editable ? h('p', {}, button('Add AuthSys', 'Add AuthSys', () => { state.push({ authsys: '', claims: [] }); draw(`[${state.length - 1}].authsys`); })) : null);
    // Ids on the add / toggle buttons so that focus can return to them after a redraw.
    for (const b of tree.querySelectorAll('button')) {
      const l = b.getAttribute('aria-label') || '';
      let m = l.match(/^Add claim to AuthSys (\d+)$/);
      if (m) b.dataset.focusId = `add-claim-${m[1] - 1}`;
      m = l.match(/^Add value to claim (\d+)\.(\d+)$/);
      if (m) b.dataset.focusId = `add-value-${m[1] - 1}-${m[2] - 1}`;
      m = l.match(/^(?:Show|Hide) value (\d+)\.(\d+)\.(\d+) content$/);
      if (m) b.dataset.focusId = `toggle-[${m[1] - 1}].claims[${m[2] - 1}].values[${m[3] - 1}]`;
      if (l === 'Add AuthSys') b.dataset.focusId = 'add-authsys';
    }
    if (focus) {
      const b = tree.querySelector(`[data-focus-id="${CSS.escape(focus)}"]`);
      if (b) b.focus(); else focusField(focus);
    }
  };
  draw();
  const f = form([tree], {
    submit: 'Save AuthSys',
    label: 'AuthSys',
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
      return 'Saved.';
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
      toast('AuthSys saved.');
    },
  });
  return section('AuthSys, claims and values', h('p', { class: 'help', text: 'Contents are credentials: they are masked until you press Show.' }), editor);
}

function enrolmentResult(t, login) {
  const parts = [h('p', { class: 'notice warn', text: 'Shown once: enrol it now.' })];
  if (t.qr_svg) parts.push(svgImage(t.qr_svg, `Enrolment QR code of the ${t.type} token`));
  if (t.secret_base32) parts.push(h('p', {}, 'Secret: ', h('code', { class: 'secret', 'data-testid': 'token-secret', text: t.secret_base32 })));
  if (t.otpauth_uri) parts.push(h('p', { class: 'uri' }, h('code', { text: t.otpauth_uri })));
  if (t.list) {
    opieLists.set(t.id, { login, seed: t.seed, count: t.count, list: t.list });
    parts.push(h('p', {}, h('a', { class: 'button', href: `#/users/${enc(login)}/opie/${enc(t.id)}`, text: 'Open the printable OPIE list' })));
  } else if (t.seed) parts.push(h('p', { text: `OPIE seed ${t.seed}, count ${t.count}.` }));
  return h('div', { class: 'enrolment', 'data-testid': 'enrolment', role: 'region', 'aria-label': 'Enrolment' }, parts);
}

async function tokensSection(u) {
  const a = access('users', 'tokens');
  if (a === 'none') return null;
  const list = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  const refresh = async () => {
    const page = await get(`/v1/users/${enc(u.login)}/tokens`);
    mount(list, table([
      { label: 'Type', key: 'type' },
      { label: 'Algorithm', key: 'algorithm' },
      { label: 'Digits', key: 'digits' },
      { label: 'Device', key: 'device' },
      { label: 'OPIE count', key: 'count' },
      { label: 'Created', render: (t) => fmtTime(t.created_at) },
      { label: 'Last used', render: (t) => fmtTime(t.last_used_at) },
      { label: 'Actions', render: (t) => (a === 'edit' ? h('button', { type: 'button', class: 'small danger', text: `Delete token ${t.id.slice(0, 6)}`, on: { click: async () => {
        if (!confirmAction('Delete this token? The user can no longer sign in with it.')) return;
        await del(`/v1/users/${enc(u.login)}/tokens/${enc(t.id)}`);
        refresh();
      } } }) : '') },
    ], page.items, { caption: 'Tokens', empty: 'No tokens.' }));
  };
  await refresh();
  if (a !== 'edit') return section('Tokens', list);
  const opts = h('div');
  const syncType = (type) => {
    mount(opts,
      type === 'opie' ? null : select('algorithm', 'Algorithm', [['sha1', 'SHA-1 (most compatible)'], ['sha256', 'SHA-256'], ['sha512', 'SHA-512']], 'sha1'),
      type === 'opie' ? null : select('digits', 'Digits', [[6, '6'], [7, '7'], [8, '8']], 6, { kind: 'number' }),
      type === 'totp' ? input('period', 'Period (seconds)', { type: 'number', value: 30, min: 1 }) : null,
      type === 'opie' ? input('list_size', 'Paper list size (printable list)', { type: 'number', value: 20, min: 1 }) : null,
      type === 'opie' ? input('count', 'Sequence count', { type: 'number', value: 500, min: 1 }) : null);
  };
  syncType('totp');
  const f = form([
    select('type', 'Type', [['totp', 'TOTP (time based)'], ['hotp', 'HOTP (event based)'], ['opie', 'OPIE (paper list)']], 'totp', { on: { change: (e) => syncType(e.target.value) } }),
    opts,
  ], {
    submit: 'Enrol token',
    label: 'Enrol a token',
    onSubmit: async (fm) => {
      const t = await post(`/v1/users/${enc(u.login)}/tokens`, values(fm));
      mount(result, enrolmentResult(t, u.login));
      await refresh();
      return 'Token enrolled.';
    },
  });
  return section('Tokens', list, h('h3', { text: 'Enrol a token' }), f, result);
}

async function devicesSection(u) {
  const a = access('users', 'devices');
  if (a === 'none') return null;
  const list = h('div');
  const result = h('div', { 'aria-live': 'polite' });
  const refresh = async () => {
    const page = await get(`/v1/users/${enc(u.login)}/devices`);
    mount(list, table([
      { label: 'Device', key: 'name' },
      { label: 'Shares the principal secret', render: (d) => (d.shares_principal ? 'yes' : 'no') },
      { label: 'Created', render: (d) => fmtTime(d.created_at) },
      { label: 'Actions', render: (d) => (a === 'edit' ? h('button', { type: 'button', class: 'small danger', text: `Delete ${d.name}`, on: { click: async () => {
        if (!confirmAction(`Delete the device ${d.name}?`)) return;
        await del(`/v1/users/${enc(u.login)}/devices/${enc(d.name)}`);
        refresh();
      } } }) : '') },
    ], page.items, { caption: 'Devices', empty: 'No devices.' }));
  };
  await refresh();
  if (a !== 'edit') return section('Devices', list);
  const f = form([
    input('name', 'Device name', { required: true }),
    select('type', 'Device token (TOTP or HOTP)', [['totp', 'TOTP (time based)'], ['hotp', 'HOTP (event based)']], 'totp', { help: 'Used when devices get their own token (not when they share the principal secret).' }),
  ], {
    submit: 'Add device',
    label: 'Add a device',
    onSubmit: async (fm) => {
      const d = await post(`/v1/users/${enc(u.login)}/devices`, values(fm));
      mount(result,
        d.shares_principal ? h('p', { class: 'notice', text: 'The device shares the principal token: set it up with the principal’s secret below (same codes, same replay protection).' }) : null,
        d.token ? enrolmentResult(d.token, u.login) : null);
      fm.reset();
      await refresh();
      return 'Device added.';
    },
  });
  return section('Devices', list, h('h3', { text: 'Add a device' }), f, result);
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
    mount(page, h('p', {}, h('a', { href: '#/users', text: '← Users' })),
      h('h1', { text: `User ${u.login}` }),
      detailsSection(u, wallets, refresh),
      passwordSection(u),
      await authsysSection(u),
      await tokensSection(u),
      await devicesSection(u),
      access('users', 'login') === 'edit' && access('users', 'status') === 'edit' ? section('Delete', h('button', { type: 'button', class: 'danger', text: `Delete user ${u.login}`, on: { click: async () => {
        if (!confirmAction(`Delete the user ${u.login} with their tokens and devices?`)) return;
        await del(`/v1/users/${enc(u.login)}`);
        toast(`User ${u.login} deleted.`);
        go('/users');
      } } })) : null);
  };
  await draw();
  return page;
}

export async function renderOpie([login, id]) {
  const entry = opieLists.get(id);
  const back = h('p', { class: 'no-print' }, h('a', { href: `#/users/${enc(login)}`, text: `← User ${login}` }));
  if (!entry) {
    return h('div', {}, back, h('h1', { text: 'OPIE list' }),
      h('p', { class: 'notice warn', text: 'The list is shown only once, right after enrolment, and is not kept. Enrol a new OPIE token to print a new list.' }));
  }
  return h('div', { class: 'opie-print' }, back,
    h('h1', { text: `One-time passwords for ${entry.login}` }),
    h('p', { text: `Seed ${entry.seed}. Use the codes in order, from the top; cross each one out after use.` }),
    h('p', { class: 'no-print' }, h('button', { type: 'button', text: 'Print', on: { click: () => window.print() } })),
    h('table', { class: 'opie-list' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Sequence' }), h('th', { scope: 'col', text: 'Words' }), h('th', { scope: 'col', text: 'Hex' }))),
      h('tbody', {}, entry.list.map((r) => h('tr', {}, h('td', { text: String(r.sequence) }), h('td', { class: 'words', text: r.words }), h('td', {}, h('code', { text: r.hex })))))));
}
