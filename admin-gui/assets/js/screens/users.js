// Users: list with search and paging, create, edit (as the group's ACL allows), unlock,
// password, AuthSys / claims / values, devices and tokens (with the enrolment QR), and the
// printable OPIE list.

import { get, post, patch, put, del, enc, qs } from '../api.js';
import { h, mount, table, toast, confirmAction, fmtTime, svgImage } from '../dom.js';
import { form, input, password, select, toggle, textarea, values, section, readonlyField } from '../forms.js';
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

async function authsysSection(u) {
  const a = access('users', 'authsys');
  if (a === 'none') return null;
  const doc = await get(`/v1/users/${enc(u.login)}/authsys`);
  const view = h('div');
  const draw = (d) => mount(view, d.length ? h('ul', { class: 'tree' }, d.map((s) => h('li', {}, h('strong', { text: s.authsys }),
    h('ul', {}, (s.claims || []).map((c) => h('li', {}, c.claim, h('ul', {}, (c.values || []).map((v) => h('li', {}, h('code', { text: v.key }), ' = ', v.content)))))))))
    : h('p', { class: 'empty', text: 'No AuthSys.' }));
  draw(doc);
  const f = form([
    textarea('authsys', 'AuthSys, claims and values (JSON)', { kind: 'json', rows: 8, value: doc, readOnly: a !== 'edit', help: 'e.g. [{"authsys": "vpn", "claims": [{"claim": "device", "values": [{"key": "serial", "content": "X1"}]}]}]' }),
  ], {
    label: 'AuthSys',
    readOnly: a !== 'edit',
    onSubmit: async (fm) => {
      const v = values(fm);
      const saved = await put(`/v1/users/${enc(u.login)}/authsys`, v.authsys || []);
      draw(Array.isArray(saved) ? saved : v.authsys || []);
      return 'Saved.';
    },
  });
  return section('AuthSys, claims and values', view, f);
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
  const f = form([input('name', 'Device name', { required: true })], {
    submit: 'Add device',
    label: 'Add a device',
    onSubmit: async (fm) => {
      const d = await post(`/v1/users/${enc(u.login)}/devices`, values(fm));
      mount(result, d.token ? enrolmentResult(d.token, u.login) : h('p', { text: 'The device shares the principal token.' }));
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
