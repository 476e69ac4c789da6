// Mail: SMTP accounts (with "test configuration") and OAuth2 profiles (presets, renew
// authorization, token status).

import { get, post, put, del, qs } from '../api.js';
import { h, mount, table, tabs, toast, confirmAction, fmtTime } from '../dom.js';
import { form, input, password, select, textarea, toggle, values } from '../forms.js';

async function all(path) {
  const items = [];
  let cursor;
  do {
    const page = await get(`${path}${qs({ limit: 500, cursor })}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

function accountForm(a, profiles, done) {
  const isNew = !a;
  a = a || { active: true, port: 587, security: 'starttls', auth: 'password' };
  const userpass = h('div');
  const oauth = h('div');
  const sync = (auth) => {
    userpass.hidden = auth === 'none';
    oauth.hidden = auth !== 'oauth2';
    for (const [el, on] of [[userpass, auth !== 'none'], [oauth, auth === 'oauth2']]) {
      if (on) el.removeAttribute('data-skip'); else el.setAttribute('data-skip', '');
    }
    const pw = userpass.querySelector('.pw');
    if (pw) {
      pw.hidden = auth !== 'password';
      if (auth === 'password') pw.removeAttribute('data-skip'); else pw.setAttribute('data-skip', '');
    }
  };
  mount(userpass,
    input('username', 'Username (mailbox)', { value: a.username, autocomplete: 'off' }),
    h('div', { class: 'pw' }, password('password', 'Password', { placeholder: a.password_set ? '(stored)' : '', help: 'Stored passwords are never shown; leave empty to keep it.' })));
  mount(oauth, select('oauth2_profile', 'OAuth2 profile', [['', '(choose)']].concat(profiles.map((p) => [p.id, p.name])), a.oauth2_profile ?? '', { kind: 'number' }));
  const f = form([
    h('h2', { text: isNew ? 'New SMTP account' : `SMTP account ${a.name}` }),
    input('name', 'Name', { value: a.name, required: true }),
    toggle('active', 'Active', a.active),
    toggle('default', 'Default account', a.default),
    input('sender', 'Sender (From)', { value: a.sender, type: 'email' }),
    input('reply_to', 'Reply-To', { value: a.reply_to, type: 'email' }),
    input('return_path', 'Return path', { value: a.return_path, type: 'email' }),
    input('confirmation_address', 'Confirmation address', { value: a.confirmation_address, type: 'email', help: 'Where read receipts go. Only notifications ask for them, never a mail carrying a code.' }),
    toggle('read_confirmation', 'Request read confirmation', a.read_confirmation),
    toggle('force_use', 'Force use of this account', a.force_use, { help: 'While an active account is forced, only forced accounts send: the others are not used as fallbacks.' }),
    toggle('footer', 'Enable footer', a.footer),
    textarea('footer_text', 'Footer text', { value: a.footer_text, rows: 3, help: 'Plain text, at most 1000 characters, added to every mail of this account after a “-- ” line.' }),
    input('host', 'SMTP host', { value: a.host }),
    input('port', 'Port', { type: 'number', value: a.port, min: 1, max: 65535 }),
    select('security', 'Security', [['starttls', 'STARTTLS'], ['tls', 'TLS'], ['none', 'None']], a.security),
    select('auth', 'Authentication', [['password', 'Password'], ['oauth2', 'OAuth2 (XOAUTH2)'], ['none', 'None']], a.auth, { on: { change: (e) => sync(e.target.value) } }),
    userpass, oauth,
    toggle('ignore_cert_errors', 'Ignore certificate errors (testing only)', a.ignore_cert_errors),
    a.warnings && a.warnings.length ? h('ul', { class: 'notice warn' }, a.warnings.map((w) => h('li', { text: w }))) : null,
  ], {
    submit: isNew ? 'Create account' : 'Save account',
    label: 'SMTP account',
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/smtp/accounts', v);
      else await put(`/v1/smtp/accounts/${a.id}`, v);
      toast('SMTP account saved.');
      done();
      return 'Saved.';
    },
  });
  sync(a.auth);
  return f;
}

async function smtpTab() {
  const box = h('div');
  const editor = h('div');
  const profiles = await all('/v1/oauth2/profiles');
  const refresh = async () => {
    const items = await all('/v1/smtp/accounts');
    mount(box, table([
      { label: 'Name', key: 'name' },
      { label: 'Sender', key: 'sender' },
      { label: 'Server', render: (a) => `${a.host}:${a.port} (${a.security})` },
      { label: 'Auth', key: 'auth' },
      { label: 'Active', render: (a) => (a.active ? 'yes' : 'no') },
      { label: 'Default', render: (a) => (a.default ? 'yes' : 'no') },
      { label: 'Forced', render: (a) => (a.force_use ? 'yes' : 'no') },
      { label: 'Actions', render: (a) => h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: `Edit ${a.name}`, on: { click: () => { mount(editor, accountForm(a, profiles, refresh)); editor.querySelector('input').focus(); } } }),
        h('button', { type: 'button', class: 'small danger', text: `Delete ${a.name}`, on: { click: async () => {
          if (!confirmAction(`Delete the SMTP account ${a.name}?`)) return;
          await del(`/v1/smtp/accounts/${a.id}`);
          refresh();
        } } })) },
    ], items, { caption: 'SMTP accounts', empty: 'No SMTP accounts.' }),
    items.length ? testForm(items) : null);
    mount(editor, accountForm(null, profiles, refresh));
  };
  await refresh();
  return h('div', {}, box, editor);
}

function testForm(items) {
  const out = h('div', { 'aria-live': 'polite' });
  return h('div', { class: 'card' }, form([
    h('h3', { text: 'Test configuration' }),
    select('account', 'Account', items.map((a) => [a.id, a.name]), items[0].id),
    input('to', 'Send a test message to', { type: 'email' }),
  ], {
    submit: 'Send test e-mail',
    label: 'Test an SMTP account',
    onSubmit: async (fm) => {
      const v = values(fm);
      const r = await post(`/v1/smtp/accounts/${v.account}/test`, { to: v.to || '' });
      mount(out, h('p', { class: r.ok ? 'notice ok' : 'notice warn', text: r.ok ? 'The test message was accepted by the server.' : `Failed: ${r.error}` }));
      return '';
    },
  }), out);
}

function status(p) {
  const rows = [
    ['Token', p.token_present ? 'present' : 'none'],
    ['Valid', p.valid ? 'yes' : 'no'],
    ['Expires', fmtTime(p.expires_at)],
    ['Last refresh', fmtTime(p.last_refresh_at)],
    ['Mailbox', p.authorized_mailbox || '—'],
    ['Last error', p.last_error || '—'],
  ];
  return h('dl', { class: `status ${p.needs_reauthorization ? 'bad' : ''}`, 'data-testid': `profile-status-${p.id}` },
    rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]),
    p.needs_reauthorization ? [h('dt', { text: 'Action' }), h('dd', { text: 'Renew the authorization.' })] : null);
}

function profileForm(p, presets, done) {
  const isNew = !p;
  p = p || { flow: 'authorization_code' };
  const fields = h('div');
  const fill = (v) => mount(fields,
    input('name', 'Name', { value: v.name, required: true }),
    select('flow', 'Flow', [['authorization_code', 'Authorization code (a mailbox signs in)'], ['client_credentials', 'Client credentials (application)']], v.flow),
    input('authorization_url', 'Authorization URL', { value: v.authorization_url, type: 'url' }),
    input('token_url', 'Token URL', { value: v.token_url, type: 'url' }),
    input('redirect_url', 'Redirect URL (empty: this server\'s /v1/oauth2/callback)', { value: v.redirect_url, type: 'url' }),
    input('client_id', 'Client ID', { value: v.client_id, autocomplete: 'off' }),
    password('client_secret', 'Client secret', { placeholder: v.client_secret_set ? '(stored)' : '', help: 'Never shown again; leave empty to keep the stored one.' }),
    input('scope', 'Scope', { value: v.scope }));
  fill(p);
  const tenant = input('tenant', 'Tenant (Microsoft 365: directory id or domain)', {});
  tenant.querySelector('input').removeAttribute('data-field');
  const presetBox = isNew ? h('fieldset', { class: 'presets' }, h('legend', { text: 'Copy a preset' }), tenant,
    presets.map((pr) => h('button', { type: 'button', class: 'small', text: `Copy ${pr.label}`, on: { click: () => {
      const t = tenant.querySelector('input').value.trim() || '{tenant}';
      const sub = (s) => (s ? s.replaceAll('{tenant}', t) : s);
      const cur = values(fields);
      fill({ ...cur, name: cur.name || pr.label, flow: pr.flow, authorization_url: sub(pr.authorization_url), token_url: sub(pr.token_url), scope: pr.scope, client_id: cur.client_id });
    } } }))) : null;
  return form([
    h('h2', { text: isNew ? 'New OAuth2 profile' : `OAuth2 profile ${p.name}` }),
    presetBox,
    fields,
  ], {
    submit: isNew ? 'Create profile' : 'Save profile',
    label: 'OAuth2 profile',
    onSubmit: async (fm) => {
      const v = values(fields);
      if (isNew) await post('/v1/oauth2/profiles', v);
      else await put(`/v1/oauth2/profiles/${p.id}`, v);
      toast('Profile saved.');
      done();
      return 'Saved.';
    },
  });
}

async function oauthTab() {
  const presets = (await get('/v1/oauth2/presets')).items;
  const box = h('div');
  const editor = h('div');
  const notes = new Map();
  const renew = async (p, note) => {
    const r = await post(`/v1/oauth2/profiles/${p.id}/authorize`);
    if (r.authorization_url) {
      // The provider opens in a new tab; this page polls the profile until the callback
      // has stored a new token, then shows the new status.
      window.open(r.authorization_url, '_blank', 'noopener');
      const before = p.last_refresh_at;
      mount(note, h('p', { class: 'notice', text: 'Sign in at the provider in the new tab; this page updates when the authorization returns.' }));
      for (let i = 0; i < 200; i += 1) {
        await new Promise((res) => { setTimeout(res, 3000); });
        if (!box.isConnected) return;
        const now = await get(`/v1/oauth2/profiles/${p.id}`);
        if (now.last_refresh_at !== before || now.last_error !== p.last_error) {
          mount(note, h('p', { class: now.valid ? 'notice ok' : 'notice warn', text: now.valid ? 'Authorization renewed.' : `Authorization failed: ${now.last_error || 'unknown error'}` }));
          refresh();
          return;
        }
      }
    } else {
      mount(note, h('p', { class: r.valid ? 'notice ok' : 'notice warn', text: r.valid ? 'A new token was obtained.' : `Failed: ${r.last_error || 'no token'}` }));
      refresh();
    }
  };
  const refresh = async () => {
    const items = await all('/v1/oauth2/profiles');
    mount(box, items.length ? items.map((p) => {
      // The note of a profile survives re-renders (the renewal result is written into it).
      if (!notes.has(p.id)) notes.set(p.id, h('div', { 'aria-live': 'polite', class: 'renew-note' }));
      const note = notes.get(p.id);
      return h('section', { class: 'card profile' }, h('h3', { text: `${p.name} (${p.flow})` }),
        h('p', { class: 'muted', text: `Client ${p.client_id} · scope ${p.scope}` }),
        status(p),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', text: 'Renew authorization', on: { click: () => renew(p, note).catch((e) => toast(e.message, 'error')) } }),
          h('button', { type: 'button', text: `Edit ${p.name}`, on: { click: () => { mount(editor, profileForm(p, presets, refresh)); editor.querySelector('input').focus(); } } }),
          h('button', { type: 'button', class: 'danger', text: `Delete ${p.name}`, on: { click: async () => {
            if (!confirmAction(`Delete the profile ${p.name}?`)) return;
            try {
              await del(`/v1/oauth2/profiles/${p.id}`);
            } catch (e) {
              toast(e.message, 'error');
            }
            refresh();
          } } })),
        note);
    }) : h('p', { class: 'empty', text: 'No OAuth2 profiles.' }));
    mount(editor, profileForm(null, presets, refresh));
  };
  await refresh();
  return h('div', {}, box, editor);
}

export async function render() {
  return h('div', {}, h('h1', { text: 'Mail' }), tabs([
    { id: 'smtp', label: 'SMTP accounts', render: smtpTab },
    { id: 'oauth2', label: 'OAuth2 profiles', render: oauthTab },
  ], { label: 'Mail' }));
}
