// Mail → Inbound (bounces): IMAP/POP3 accounts with "test" and "check now", and the
// e-mail delivery switch that re-sends a bounced code by SMS.

import { get, post, put, del, qs } from '../api.js';
import { h, mount, table, toast, act, fmtTime, warningText } from '../dom.js';
import { form, input, password, select, toggle, values } from '../forms.js';
import { t } from '../i18n.js';

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
  a = a || { active: true, protocol: 'imap', security: 'tls', auth: 'password', folder: 'INBOX', keep_copy: true, check_every_s: 300, timeout_s: 30 };
  const pw = h('div');
  const oauth = h('div');
  const sync = (auth) => {
    for (const [el, on] of [[pw, auth === 'password'], [oauth, auth === 'oauth2']]) {
      el.hidden = !on;
      if (on) el.removeAttribute('data-skip'); else el.setAttribute('data-skip', '');
    }
  };
  mount(pw, password('password', t('common.password'), { placeholder: a.password_set ? t('sms.stored') : '', help: t('inbound.password_help') }));
  mount(oauth,
    select('oauth2_profile', t('inbound.profile'), [['', t('inbound.choose')]].concat(profiles.map((p) => [p.id, p.name])), a.oauth2_profile ?? '', { kind: 'number' }),
    select('mechanism', t('inbound.mechanism'), [['xoauth2', 'XOAUTH2'], ['oauthbearer', 'OAUTHBEARER (RFC 7628)']], a.mechanism || 'xoauth2'));
  const f = form([
    h('h2', { text: isNew ? t('inbound.new') : t('inbound.title', { name: a.name }) }),
    input('name', t('common.name'), { value: a.name, required: true }),
    toggle('active', t('inbound.active'), a.active),
    select('protocol', t('inbound.protocol'), [['imap', 'IMAP'], ['pop3', 'POP3']], a.protocol),
    input('host', t('inbound.host'), { value: a.host }),
    input('port', t('inbound.port'), { type: 'number', value: a.port, min: 1, max: 65535 }),
    select('security', t('inbound.security'), [['tls', 'TLS'], ['starttls', 'STARTTLS'], ['none', t('common.none')]], a.security),
    select('auth', t('inbound.auth'), [['password', t('common.password')], ['oauth2', 'OAuth2']], a.auth, { on: { change: (e) => sync(e.target.value) } }),
    input('username', t('inbound.username'), { value: a.username, autocomplete: 'off' }),
    pw, oauth,
    input('folder', t('inbound.folder'), { value: a.folder }),
    toggle('keep_copy', t('inbound.keep_copy'), a.keep_copy, { help: t('inbound.keep_copy_help') }),
    input('check_every_s', t('inbound.check_every'), { type: 'number', value: a.check_every_s, min: 0, max: 86400 }),
    input('timeout_s', t('inbound.timeout'), { type: 'number', value: a.timeout_s, min: 1, max: 600 }),
    toggle('ignore_cert_errors', t('inbound.ignore_cert'), a.ignore_cert_errors),
    a.warnings && a.warnings.length ? h('ul', { class: 'notice warn' }, a.warnings.map((w) => h('li', { text: warningText(w) }))) : null,
  ], {
    submit: isNew ? t('inbound.create') : t('inbound.save'),
    label: t('inbound.account'),
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/inbound/accounts', v);
      else await put(`/v1/inbound/accounts/${a.id}`, v);
      toast(t('inbound.saved', { name: v.name }));
      done();
      return '';
    },
  });
  sync(a.auth);
  return f;
}

function fallbackForm(settings) {
  return h('div', { class: 'card' }, form([
    h('h3', { text: t('inbound.fallback_title') }),
    toggle('fallback_to_sms', t('inbound.fallback'), settings.fallback_to_sms),
  ], {
    submit: t('common.save'),
    label: t('inbound.fallback_title'),
    onSubmit: async (fm) => {
      await put('/v1/delivery/email', values(fm));
      return t('common.saved');
    },
  }));
}

// "Test" or "check now", its outcome written into `out`.
async function run(out, what, path) {
  const r = await post(path);
  let text;
  if (!r.ok) text = t('inbound.failed', { error: r.error });
  else if (what === 'test') text = r.unseen != null ? t('inbound.tested_unseen', { n: r.messages, unseen: r.unseen }) : t('inbound.tested', { n: r.messages });
  else text = t('inbound.checked', { n: r.fetched, bounces: r.bounces, ignored: r.ignored, sms: r.sms_fallbacks });
  mount(out, h('p', { class: r.ok ? 'notice ok' : 'notice warn', 'data-testid': 'inbound-outcome', text }));
}

export async function inboundTab() {
  const box = h('div');
  const editor = h('div');
  const out = h('div', { 'aria-live': 'polite' });
  const profiles = await all('/v1/oauth2/profiles');
  const settings = await get('/v1/delivery/email');
  const refresh = async () => {
    const items = await all('/v1/inbound/accounts');
    mount(box, table([
      { label: t('common.name'), key: 'name' },
      { label: t('inbound.server'), render: (a) => `${a.protocol} ${a.host}:${a.port} (${a.security})` },
      { label: t('inbound.every'), render: (a) => (a.check_every_s ? t('inbound.every_s', { n: a.check_every_s }) : t('inbound.manual')) },
      { label: t('inbound.last_check'), render: (a) => fmtTime(a.last_check_at) },
      { label: t('dashboard.last_error'), render: (a) => a.last_error || '—' },
      { label: t('inbound.bounces'), key: 'bounces_total' },
      { label: t('common.actions'), render: (a) => h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: t('inbound.test', { name: a.name }), on: { click: (e) => act(e.currentTarget, () => run(out, 'test', `/v1/inbound/accounts/${a.id}/test`)) } }),
        h('button', { type: 'button', class: 'small', text: t('inbound.check', { name: a.name }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => run(out, 'check', `/v1/inbound/accounts/${a.id}/check`))) refresh();
        } } }),
        h('button', { type: 'button', class: 'small', text: t('mail.edit', { name: a.name }), on: { click: () => { mount(editor, accountForm(a, profiles, refresh)); editor.querySelector('input').focus(); } } }),
        h('button', { type: 'button', class: 'small danger', text: t('mail.delete', { name: a.name }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => del(`/v1/inbound/accounts/${a.id}`), { confirm: t('inbound.delete_confirm', { name: a.name }), verb: t('common.delete'), done: t('mail.deleted', { name: a.name }) })) refresh();
        } } })) },
    ], items, { caption: t('inbound.caption'), empty: t('inbound.none') }));
    mount(editor, accountForm(null, profiles, refresh));
  };
  await refresh();
  return h('div', {}, fallbackForm(settings), box, out, editor);
}
