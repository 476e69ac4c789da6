// Mail: SMTP accounts (with "test configuration"), OAuth2 profiles (presets, renew
// authorization, token status) and inbound accounts (inbound.js).

import { get, post, put, del, qs } from '../api.js';
import { h, mount, table, tabs, toast, act, fmtTime, warningText, serverText } from '../dom.js';
import { form, input, password, select, textarea, toggle, values } from '../forms.js';
import { t, has } from '../i18n.js';
import { inboundTab } from './inbound.js';
import { notificationsTab } from './notifications.js';

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

function accountForm(a, profiles, done, editor) {
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
    input('username', t('mail.username'), { value: a.username, autocomplete: 'off' }),
    h('div', { class: 'pw' }, password('password', t('common.password'), { placeholder: a.password_set ? t('sms.stored') : '', help: t('sms.secret_help') })));
  mount(oauth, select('oauth2_profile', t('mail.oauth2_profile'), [['', t('mail.choose')]].concat(profiles.map((p) => [p.id, p.name])), a.oauth2_profile ?? '', { kind: 'number' }));
  const f = form([
    h('h2', { text: isNew ? t('mail.new_account') : t('mail.account_title', { name: a.name }) }),
    input('name', t('common.name'), { value: a.name, required: true }),
    toggle('active', t('mail.active'), a.active),
    toggle('default', t('mail.default'), a.default),
    input('sender', t('mail.sender'), { value: a.sender, help: t('mail.sender_help') }),
    input('reply_to', t('mail.reply_to'), { value: a.reply_to, type: 'email' }),
    input('return_path', t('mail.return_path'), { value: a.return_path, type: 'email' }),
    input('confirmation_address', t('mail.confirmation'), { value: a.confirmation_address, type: 'email', help: t('mail.confirmation_help') }),
    toggle('read_confirmation', t('mail.read_confirmation'), a.read_confirmation),
    toggle('force_use', t('mail.force'), a.force_use, { help: t('mail.force_help') }),
    toggle('footer', t('mail.footer'), a.footer),
    textarea('footer_text', t('mail.footer_text'), { value: a.footer_text, rows: 3, help: t('mail.footer_help') }),
    input('host', t('mail.host'), { value: a.host }),
    input('port', t('mail.port'), { type: 'number', value: a.port, min: 1, max: 65535 }),
    select('security', t('mail.security'), [['starttls', 'STARTTLS'], ['tls', 'TLS'], ['none', t('common.none')]], a.security),
    select('auth', t('mail.auth'), [['password', t('common.password')], ['oauth2', 'OAuth2 (XOAUTH2)'], ['none', t('common.none')]], a.auth, { on: { change: (e) => sync(e.target.value) } }),
    userpass, oauth,
    toggle('ignore_cert_errors', t('mail.ignore_cert'), a.ignore_cert_errors),
    a.warnings && a.warnings.length ? h('ul', { class: 'notice warn' }, a.warnings.map((w) => h('li', { text: warningText(w) }))) : null,
  ], {
    submit: isNew ? t('mail.create_account') : t('mail.save_account'),
    label: isNew ? t('mail.new_account') : t('mail.account_title', { name: a.name }),
    buttons: isNew ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, accountForm(null, profiles, done, editor)) } })],
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/smtp/accounts', v);
      else await put(`/v1/smtp/accounts/${a.id}`, v);
      toast(t('mail.account_saved', { name: v.name }));
      done();
      return '';
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
      { label: t('common.name'), key: 'name' },
      { label: t('mail.sender_short'), key: 'sender' },
      { label: t('mail.server'), render: (a) => `${a.host}:${a.port} (${a.security})` },
      { label: t('mail.auth'), key: 'auth' },
      { label: t('mail.active'), render: (a) => (a.active ? t('common.yes') : t('common.no')) },
      { label: t('sms.default'), render: (a) => (a.default ? t('common.yes') : t('common.no')) },
      { label: t('mail.forced'), render: (a) => (a.force_use ? t('common.yes') : t('common.no')) },
      { label: t('common.actions'), render: (a) => h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: t('mail.edit', { name: a.name }), on: { click: () => { mount(editor, accountForm(a, profiles, refresh, editor)); editor.querySelector('input').focus(); } } }),
        h('button', { type: 'button', class: 'small danger', text: t('mail.delete', { name: a.name }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => del(`/v1/smtp/accounts/${a.id}`), { confirm: t('mail.delete_account_confirm', { name: a.name }), verb: t('common.delete'), done: t('mail.deleted', { name: a.name }) })) refresh();
        } } })) },
    ], items, { caption: t('mail.accounts'), empty: t('mail.no_accounts') }),
    items.length ? testForm(items) : null);
    mount(editor, accountForm(null, profiles, refresh, editor));
  };
  await refresh();
  return h('div', {}, box, editor);
}

function testForm(items) {
  const out = h('div', { 'aria-live': 'polite' });
  return h('div', { class: 'card' }, form([
    h('h3', { text: t('mail.test') }),
    select('account', t('mail.account'), items.map((a) => [a.id, a.name]), items[0].id),
    input('to', t('mail.test_to'), { type: 'email' }),
  ], {
    submit: t('mail.test_send'),
    label: t('mail.test'),
    onSubmit: async (fm) => {
      const v = values(fm);
      const r = await post(`/v1/smtp/accounts/${v.account}/test`, { to: v.to || '' });
      mount(out, h('p', { class: r.ok ? 'notice ok' : 'notice error', 'data-testid': 'smtp-test-outcome', text: r.ok ? t('mail.test_ok') : t('mail.test_failed', { error: r.error }) }));
      return { text: r.ok ? t('mail.test_ok') : t('mail.test_failed_short'), ok: r.ok };
    },
  }), out);
}

// What the client-secret warning says: when the secret expires and in how many days (the
// server decides whether to warn; the words are the console's).
function secretExpiry(p) {
  const at = Date.parse(p.client_secret_expires_at || '');
  if (Number.isNaN(at)) return {};
  const left = at - Date.now();
  const n = Math.max(1, Math.ceil(left / 86400000));
  return { variant: left > 0 ? 'soon' : 'expired', when: fmtTime(p.client_secret_expires_at), n };
}

function status(p) {
  const rows = [
    [t('mail.token'), p.token_present ? t('mail.present') : t('common.none')],
    [t('mail.valid'), p.valid ? t('common.yes') : t('common.no')],
    [t('mail.expires'), fmtTime(p.expires_at)],
    [t('mail.last_refresh'), fmtTime(p.last_refresh_at)],
    [t('mail.mailbox'), p.authorized_mailbox || '—'],
    [t('dashboard.last_error'), p.last_error ? serverText('last_error', p.last_error) : '—'],
    [t('mail.enabled'), p.enabled === false ? t('common.no') : t('common.yes')],
    [t('mail.secret_expires'), fmtTime(p.client_secret_expires_at)],
  ];
  if (p.subject) rows.push([t('mail.subject'), p.subject]);
  return h('dl', { class: `status ${p.needs_reauthorization ? 'bad' : ''}`, 'data-testid': `profile-status-${p.id}` },
    rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]),
    p.needs_reauthorization ? [h('dt', { text: t('mail.action') }), h('dd', { text: t('mail.renew_needed') })] : null,
    (p.warnings || []).map((w) => [h('dt', { text: t('mail.warning') }), h('dd', { class: 'warn', text: warningText(w, secretExpiry(p)) })]));
}

// A preset's name in the console's language (the API's label for a preset the catalogue does
// not know yet).
const presetLabel = (pr) => (has(`mail.preset.${pr.id}`) ? t(`mail.preset.${pr.id}`) : pr.label);

function profileForm(p, presets, done, editor) {
  const isNew = !p;
  p = p || { flow: 'authorization_code' };
  const fields = h('div');
  // A client secret for the first two flows; a service account's key and the mailbox it
  // acts as for jwt_bearer. The hidden box is left out of the body ([data-skip]).
  const secretBox = h('div');
  const jwtBox = h('div');
  const syncFlow = (flow) => {
    for (const [el, on] of [[secretBox, flow !== 'jwt_bearer'], [jwtBox, flow === 'jwt_bearer']]) {
      el.hidden = !on;
      if (on) el.removeAttribute('data-skip'); else el.setAttribute('data-skip', '');
    }
  };
  const fill = (v) => {
    mount(secretBox, password('client_secret', t('mail.client_secret'), { placeholder: v.client_secret_set ? t('sms.stored') : '', help: t('sms.secret_help') }));
    mount(jwtBox,
      textarea('service_account_key', t('mail.service_account_key'), { rows: 4, placeholder: v.client_secret_set ? t('sms.stored') : '', help: t('mail.service_account_key_help') }),
      input('subject', t('mail.subject'), { value: v.subject, type: 'email', help: t('mail.subject_help') }));
    mountFields(v);
    syncFlow(v.flow);
  };
  const mountFields = (v) => mount(fields,
    input('name', t('common.name'), { value: v.name, required: true }),
    select('flow', t('mail.flow'), [['authorization_code', t('mail.flow_code')], ['client_credentials', t('mail.flow_client')], ['jwt_bearer', t('mail.flow_jwt')]], v.flow, { on: { change: (e) => syncFlow(e.target.value) } }),
    input('authorization_url', t('mail.authorization_url'), { value: v.authorization_url, type: 'url' }),
    input('token_url', t('mail.token_url'), { value: v.token_url, type: 'url' }),
    input('redirect_url', t('mail.redirect_url'), { value: v.redirect_url, type: 'url' }),
    input('client_id', t('mail.client_id'), { value: v.client_id, autocomplete: 'off' }),
    secretBox, jwtBox,
    input('scope', t('mail.scope'), { value: v.scope }),
    toggle('enabled', t('mail.enabled'), v.enabled !== false, { help: t('mail.enabled_help') }),
    input('client_secret_expires_at', t('mail.secret_expires_at'), { value: v.client_secret_expires_at, help: t('mail.secret_expires_help') }));
  fill(p);
  const tenant = input('tenant', t('mail.tenant'), {});
  tenant.querySelector('input').removeAttribute('data-field');
  const presetBox = isNew ? h('fieldset', { class: 'presets' }, h('legend', { text: t('mail.copy_preset') }), tenant,
    presets.map((pr) => h('button', { type: 'button', class: 'small', text: t('mail.copy', { label: presetLabel(pr) }), on: { click: () => {
      const tn = tenant.querySelector('input').value.trim() || '{tenant}';
      const sub = (s) => (s ? s.replaceAll('{tenant}', tn) : s);
      const cur = values(fields);
      fill({ ...cur, name: cur.name || presetLabel(pr), flow: pr.flow, authorization_url: sub(pr.authorization_url), token_url: sub(pr.token_url), scope: pr.scope, client_id: cur.client_id });
    } } }))) : null;
  return form([
    h('h2', { text: isNew ? t('mail.new_profile') : t('mail.profile_title', { name: p.name }) }),
    presetBox,
    fields,
  ], {
    submit: isNew ? t('mail.create_profile') : t('mail.save_profile'),
    label: isNew ? t('mail.new_profile') : t('mail.profile_title', { name: p.name }),
    buttons: isNew ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, profileForm(null, presets, done, editor)) } })],
    onSubmit: async (fm) => {
      const v = values(fields);
      if (isNew) await post('/v1/oauth2/profiles', v);
      else await put(`/v1/oauth2/profiles/${p.id}`, v);
      toast(t('mail.profile_saved', { name: v.name }));
      done();
      return '';
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
      mount(note, h('p', { class: 'notice', text: t('mail.renew_wait') }));
      for (let i = 0; i < 200; i += 1) {
        await new Promise((res) => { setTimeout(res, 3000); });
        if (!box.isConnected) return;
        const now = await get(`/v1/oauth2/profiles/${p.id}`);
        if (now.last_refresh_at !== before || now.last_error !== p.last_error) {
          mount(note, h('p', { class: now.valid ? 'notice ok' : 'notice error', text: now.valid ? t('mail.renewed') : t('mail.renew_failed', { error: now.last_error || '' }) }));
          refresh();
          return;
        }
      }
    } else {
      mount(note, h('p', { class: r.valid ? 'notice ok' : 'notice error', text: r.valid ? t('mail.new_token') : t('mail.renew_failed', { error: r.last_error || '' }) }));
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
        h('p', { class: 'muted', text: t('mail.client_scope', { client: p.client_id, scope: p.scope }) }),
        status(p),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', text: t('mail.renew'), on: { click: (e) => act(e.currentTarget, () => renew(p, note)) } }),
          h('button', { type: 'button', text: t('mail.edit', { name: p.name }), on: { click: () => { mount(editor, profileForm(p, presets, refresh, editor)); editor.querySelector('input').focus(); } } }),
          h('button', { type: 'button', class: 'danger', text: t('mail.delete', { name: p.name }), on: { click: async (e) => {
            if (await act(e.currentTarget, () => del(`/v1/oauth2/profiles/${p.id}`), { confirm: t('mail.delete_profile_confirm', { name: p.name }), verb: t('common.delete'), done: t('mail.deleted', { name: p.name }) })) refresh();
          } } })),
        note);
    }) : h('p', { class: 'empty', text: t('mail.no_profiles') }));
    mount(editor, profileForm(null, presets, refresh, editor));
  };
  await refresh();
  return h('div', {}, box, editor);
}

export async function render() {
  return h('div', {}, h('h1', { text: t('nav.mail') }), tabs([
    { id: 'smtp', label: t('mail.accounts'), render: smtpTab },
    { id: 'oauth2', label: t('mail.profiles'), render: oauthTab },
    { id: 'inbound', label: t('inbound.tab'), render: inboundTab },
    { id: 'notifications', label: t('notify.tab'), render: notificationsTab },
  ], { label: t('nav.mail') }));
}
