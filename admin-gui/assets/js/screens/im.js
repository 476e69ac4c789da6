// IM configuration: API keys, the token window (with its risk acceptance) and the four switches.

import { get, post, put, del, qs } from '../api.js';
import { h, mount, table, fmtTime, confirmAction, toast } from '../dom.js';
import { form, input, select, toggle, values, section } from '../forms.js';

const RISK = 'Accepting 3 or more previous codes widens the window in which a stolen or '
  + 'shoulder-surfed code still works, and weakens protection against replay. Keep the '
  + 'window at 2 or less unless clocks of your users\' devices drift badly and you accept '
  + 'that risk.';

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
      { label: 'Name', key: 'name' },
      { label: 'Scope', key: 'scope' },
      { label: 'Prefix', render: (r) => h('code', { text: r.prefix }) },
      { label: 'Created', render: (r) => fmtTime(r.created_at) },
      { label: 'Status', render: (r) => (r.revoked_at ? `revoked ${fmtTime(r.revoked_at)}` : 'active') },
      { label: 'Actions', render: (r) => (r.revoked_at ? '' : h('button', { type: 'button', class: 'danger', text: `Revoke ${r.name}`, on: { click: async () => {
        if (!confirmAction(`Revoke the API key "${r.name}"? Applications using it stop working at once.`)) return;
        await del(`/v1/apikeys/${r.id}`);
        toast(`Key ${r.name} revoked.`);
        refresh();
      } } })) },
    ], rows, { caption: 'API keys', empty: 'No API keys yet.' }));
  };
  await refresh();
  const f = form([
    input('name', 'Key name', { required: true, help: 'To recognise the key in lists and the audit log.' }),
    select('scope', 'Scope', [['otp', 'otp — applications (validate, request codes)'], ['admin', 'admin — configuration']], 'otp'),
  ], {
    submit: 'Create key',
    label: 'Create an API key',
    onSubmit: async (fm) => {
      const k = await post('/v1/apikeys', values(fm));
      mount(created, h('div', { class: 'notice warn', role: 'alert' },
        h('p', {}, h('strong', { text: 'Copy this key now: ' }), 'it is shown only once.'),
        h('p', {}, h('code', { class: 'secret', 'data-testid': 'new-api-key', text: k.key }))));
      fm.reset();
      await refresh();
      return `Key ${k.name} created.`;
    },
  });
  return section('API keys', created, listBox, h('h3', { text: 'New key' }), f);
}

async function configSection() {
  const cfg = await get('/v1/config/im');
  const accept = h('div', { class: 'risk', hidden: cfg.token_window < 3 },
    h('p', { class: 'notice warn', id: 'risk-text', text: RISK }),
    toggle('accept_risk', 'I have read this warning and accept the risk', cfg.accept_risk));
  const windowOptions = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => [n, n === 0 ? 'Only the current code' : `The current code and ${n} previous`]);
  const onWindow = (e) => {
    const n = Number(e.target.value);
    accept.hidden = n < 3;
    const cb = accept.querySelector('input');
    if (n < 3) cb.checked = false;
  };
  const f = form([
    select('token_window', 'Accepted previous codes (token window)', windowOptions, cfg.token_window, { kind: 'number', on: { change: onWindow }, help: 'How many codes generated before the current one are still accepted. 2 or less is recommended.' }),
    accept,
    h('fieldset', { class: 'switches' }, h('legend', { text: 'User registration rules' }),
      toggle('login_is_email', 'Login must be an e-mail address', cfg.login_is_email),
      toggle('unique_document', 'Document unique per user', cfg.unique_document),
      toggle('device_secret_same_as_principal', 'Devices use the same secret key as the principal token', cfg.device_secret_same_as_principal, { help: 'Off (recommended): each device gets its own secret.' }),
      toggle('unique_mobile', 'Mobile phone unique per user', cfg.unique_mobile)),
    h('fieldset', {}, h('legend', { text: 'Codes sent by SMS and e-mail' }),
      input('code_digits', 'Digits', { type: 'number', min: 6, max: 10, value: cfg.code_digits }),
      input('code_ttl_s', 'Validity (seconds)', { type: 'number', min: 1, value: cfg.code_ttl_s })),
  ], {
    label: 'IM configuration',
    onSubmit: async (fm) => {
      const v = values(fm);
      if (accept.hidden) v.accept_risk = false;
      const saved = await put('/v1/config/im', v);
      return `Saved (token window ${saved.token_window}).`;
    },
  });
  return section('Configuration', f);
}

export async function render() {
  return h('div', {}, h('h1', { text: 'IM configuration' }), await keysSection(), await configSection());
}
