// IM configuration: API keys, the token window (with its risk acceptance) and the four switches.

import { get, post, put, del, qs } from '../api.js';
import { h, mount, table, fmtTime, act } from '../dom.js';
import { form, input, select, toggle, values, section } from '../forms.js';
import { t } from '../i18n.js';

// The API's token window: how many of the most recent codes are accepted (1..=10); from 3 on
// the administrator must accept the risk.
const WINDOW_MAX = 10;
const RISKY_FROM = 3;

async function keysSection() {
  const listBox = h('div');
  const created = h('div', { class: 'created-key', 'aria-live': 'polite' });
  const refresh = async () => {
    const rows = [];
    let cursor;
    do {
      const page = await get(`/v1/apikeys${qs({ limit: 500, cursor })}`);
      rows.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    mount(listBox, table([
      { label: t('common.name'), key: 'name' },
      { label: t('im.scope'), render: (r) => t(`im.scope_${r.scope}`) },
      { label: t('im.prefix'), render: (r) => h('code', { text: r.prefix }) },
      { label: t('common.created'), render: (r) => fmtTime(r.created_at) },
      { label: t('common.status'), render: (r) => (r.revoked_at ? t('im.revoked_at', { at: fmtTime(r.revoked_at) }) : t('im.active')) },
      { label: t('common.actions'), render: (r) => (r.revoked_at ? '' : h('button', { type: 'button', class: 'danger', text: t('im.revoke', { name: r.name }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => del(`/v1/apikeys/${r.id}`), { confirm: t('im.revoke_confirm', { name: r.name }), verb: t('im.revoke_verb'), done: t('im.revoked', { name: r.name }) })) refresh();
      } } })) },
    ], rows, { caption: t('im.keys_list'), empty: t('im.no_keys') }));
  };
  await refresh();
  const f = form([
    input('name', t('im.key_name'), { required: true, help: t('im.key_name_help') }),
    select('scope', t('im.scope'), [['otp', t('im.scope_otp_long')], ['admin', t('im.scope_admin_long')]], 'otp'),
  ], {
    submit: t('im.create_key'),
    label: t('im.new_key'),
    onSubmit: async (fm) => {
      const k = await post('/v1/apikeys', values(fm));
      mount(created, h('div', { class: 'notice warn', role: 'alert' },
        h('p', {}, h('strong', { text: t('im.copy_now') }), ' ', t('im.shown_once')),
        h('p', {}, h('code', { class: 'secret', 'data-testid': 'new-api-key', text: k.key }))));
      fm.reset();
      await refresh();
      return t('im.key_created', { name: k.name });
    },
  });
  return section(t('im.keys'), created, listBox, h('h3', { text: t('im.new_key') }), f);
}

async function configSection() {
  const cfg = await get('/v1/config/im');
  const accept = h('div', { class: 'risk', hidden: cfg.token_window < RISKY_FROM },
    h('p', { class: 'notice warn', id: 'risk-text', text: t('im.risk') }),
    toggle('accept_risk', t('im.accept_risk'), cfg.accept_risk));
  const windowOptions = Array.from({ length: WINDOW_MAX }, (_, i) => i + 1)
    .map((n) => [n, n === 1 ? t('im.window_1') : t('im.window_n', { n })]);
  const onWindow = (e) => {
    const n = Number(e.target.value);
    accept.hidden = n < RISKY_FROM;
    const cb = accept.querySelector('input');
    if (n < RISKY_FROM) cb.checked = false;
    else cb.focus();
  };
  const f = form([
    select('token_window', t('im.window'), windowOptions, cfg.token_window, { kind: 'number', on: { change: onWindow }, help: t('im.window_help') }),
    accept,
    h('fieldset', { class: 'switches' }, h('legend', { text: t('im.rules') }),
      toggle('login_is_email', t('im.login_is_email'), cfg.login_is_email),
      toggle('unique_document', t('im.unique_document'), cfg.unique_document),
      toggle('device_secret_same_as_principal', t('im.device_same'), cfg.device_secret_same_as_principal, { help: t('im.device_same_help') }),
      toggle('unique_mobile', t('im.unique_mobile'), cfg.unique_mobile, { help: t('im.unique_mobile_help') })),
    h('fieldset', {}, h('legend', { text: t('im.codes') }),
      input('code_digits', t('im.code_digits'), { type: 'number', min: 4, max: 10, value: cfg.code_digits, help: t('im.code_digits_help') }),
      input('code_ttl_s', t('im.code_ttl'), { type: 'number', min: 30, max: 86400, value: cfg.code_ttl_s, help: t('im.code_ttl_help') })),
  ], {
    label: t('nav.im'),
    onSubmit: async (fm) => {
      const v = values(fm);
      if (accept.hidden) v.accept_risk = false;
      const saved = await put('/v1/config/im', v);
      return t('im.saved', { n: saved.token_window });
    },
  });
  return section(t('im.configuration'), f);
}

export async function render() {
  return h('div', {}, h('h1', { text: t('nav.im') }), await configSection(), await keysSection());
}
