// SMS service: primary broker (REST, SOAP basic / advanced), Broker 2 (none / backup /
// balance), message templates with a live SMS size, and a test send.

import { get, post, put, del, enc } from '../api.js';
import { h, mount, table, staticTabs, toast, confirmAction } from '../dom.js';
import { form, input, password, select, textarea, toggle, radios, values, section, clearErrors, showProblem } from '../forms.js';
import { estimate, sample } from '../sms.js';

const SECRET_HELP = 'Stored secrets are never shown; leave empty to keep the stored value.';

// The fields of one broker; every control is named "<prefix>.<field>" as in the API.
export function brokerFields(prefix, doc = {}, { legend } = {}) {
  const p = (f) => `${prefix}.${f}`;
  const kind = doc.kind || 'rest';
  const rest = h('div', { class: 'kind-rest' },
    input(p('url'), 'URL', { value: doc.kind === 'rest' ? doc.url : '', type: 'url', help: 'The local SMS facade (recommended) or the broker itself.' }),
    select(p('method'), 'HTTP method', ['POST', 'GET'], doc.method || 'POST'),
    select(p('authorization'), 'Authorization', [['none', 'None'], ['basic', 'Basic'], ['digest', 'Digest'], ['oauth', 'OAuth 1.0a']], doc.authorization || 'none'),
    h('div', { class: 'auth-userpass' },
      input(p('username'), 'Username', { value: doc.username, autocomplete: 'off' }),
      password(p('password'), 'Password', { help: SECRET_HELP, placeholder: doc.kind ? '(stored)' : '' })),
    h('div', { class: 'auth-oauth' },
      input(p('key'), 'Key', { value: doc.key, autocomplete: 'off' }),
      password(p('secret'), 'Secret', { help: SECRET_HELP, placeholder: doc.kind ? '(stored)' : '' }),
      password(p('token'), 'Token', { placeholder: doc.kind ? '(stored)' : '' }),
      password(p('token_secret'), 'Token secret', { placeholder: doc.kind ? '(stored)' : '' })),
    textarea(p('headers'), 'Headers (JSON object)', { kind: 'json', value: doc.headers, help: 'e.g. {"Content-Type": "application/json; charset=utf-8"}' }),
    h('div', { class: 'method-get' }, textarea(p('query'), 'Query parameters (JSON object)', { kind: 'json', value: doc.query, help: 'Tags: {phone} {message} {otp} {login} {name}' })),
    h('div', { class: 'method-post' }, textarea(p('body'), 'Body', { value: doc.body, rows: 4, help: 'Tags: {phone} {message} {otp} {login} {name}. Example: {"to": "{phone}", "text": "{message}"}' })),
    textarea(p('return_keys'), 'Return keys (one per line)', { kind: 'lines', value: (doc.return_keys || []).join('\n'), help: 'Keys (dotted paths allowed) that must be in the broker\'s answer; empty: any successful answer counts.' }));
  const soapBasic = h('div', { class: 'soap-basic' },
    input(p('message'), 'Message', { value: doc.message, help: 'Tags: {phone} {message} {otp} {login} {name}' }),
    textarea(p('variables'), 'Advanced configuration: variables (JSON object)', { kind: 'json', value: doc.variables, help: 'Operation parameter → template, e.g. {"phone": "{phone}", "message": "{message}"}' }));
  const soapAdvanced = h('div', { class: 'soap-advanced' },
    textarea(p('options'), 'Options (JSON object)', { kind: 'json', value: doc.options }),
    textarea(p('attributes'), 'Attributes (JSON object)', { kind: 'json', value: doc.attributes }),
    textarea(p('request'), 'Request (JSON object)', { kind: 'json', value: doc.request }));
  // The operation and the response keys apply to both types (basic needs the operation
  // when the WSDL has more than one).
  const soap = h('div', { class: 'kind-soap' },
    input(p('wsdl_url'), 'WSDL URL', { value: doc.wsdl_url, type: 'url' }),
    radios(p('soap_type'), 'SOAP type', [['basic', 'Basic'], ['advanced', 'Advanced (recommended)']], doc.soap_type || 'advanced'),
    input(p('call'), 'SOAP call (operation)', { value: doc.call, help: 'Required for advanced; for basic, needed when the WSDL has more than one operation.' }),
    soapBasic, soapAdvanced,
    textarea(p('response'), 'Response keys (one per line)', { kind: 'lines', value: (doc.response || []).join('\n'), help: 'Keys (dotted paths allowed) that must be in the answer; empty: any non-fault answer counts.' }));
  const common = h('div', {},
    toggle(p('check_each_call'), 'Check the answer on every call', doc.check_each_call),
    input(p('timeout_ms'), 'Timeout (ms)', { type: 'number', min: 1, value: doc.timeout_ms }));
  const box = h('fieldset', { class: 'broker' }, h('legend', { text: legend || 'Broker' }),
    radios(p('kind'), 'Protocol', [['rest', 'REST'], ['soap', 'SOAP']], kind),
    rest, soap, common);
  const sync = () => {
    const v = (f) => {
      const el = box.querySelector(`[data-field="${p(f)}"]${f === 'kind' || f === 'soap_type' ? ':checked' : ''}`);
      return el ? el.value : '';
    };
    const show = (el, on) => {
      el.hidden = !on;
      if (on) el.removeAttribute('data-skip');
      else el.setAttribute('data-skip', '');
    };
    const k = v('kind');
    show(rest, k === 'rest');
    show(soap, k === 'soap');
    const st = v('soap_type');
    show(soapBasic, st === 'basic');
    show(soapAdvanced, st === 'advanced');
    const auth = v('authorization');
    show(rest.querySelector('.auth-userpass'), auth === 'basic' || auth === 'digest');
    show(rest.querySelector('.auth-oauth'), auth === 'oauth');
    const m = v('method');
    show(rest.querySelector('.method-get'), m === 'GET');
    show(rest.querySelector('.method-post'), m === 'POST');
  };
  box.addEventListener('change', sync);
  sync();
  return box;
}

async function messagesPanel() {
  const panel = h('div');
  const refresh = async () => {
    const list = await get('/v1/messages');
    const items = list.items || list;
    mount(panel,
      table([
        { label: 'ID', key: 'id' },
        { label: 'Channel', key: 'channel' },
        { label: 'Default', render: (r) => (r.default ? 'yes' : 'no') },
        { label: 'Text', render: (r) => h('span', { class: 'pre', text: r.subject ? `${r.subject} — ${r.text}` : r.text }) },
        { label: 'SMS size', render: (r) => (r.sms ? `${r.sms.segments} segment(s), ${r.sms.units} ${r.sms.encoding}` : '') },
        { label: 'Actions', render: (r) => h('button', { type: 'button', class: 'danger', text: `Delete ${r.id}`, on: { click: async () => {
          if (!confirmAction(`Delete the template ${r.id}?`)) return;
          await del(`/v1/messages/${enc(r.id)}`);
          refresh();
        } } }) },
      ], items, { caption: 'Message templates', empty: 'No templates: the built-in default message is used.' }),
      h('h3', { text: 'Add a template' }),
      addForm(refresh));
  };
  await refresh();
  return panel;
}

function addForm(refresh) {
  const count = h('p', { class: 'sms-count', id: 'sms-count', 'aria-live': 'polite' });
  const update = (e) => {
    const t = e ? e.target.value : '';
    const est = estimate(sample(t));
    count.textContent = `As sent with a 6-digit code: ${est.units} ${est.encoding === 'gsm7' ? 'GSM 7-bit characters' : 'UCS-2 units'}, ${est.segments} SMS segment(s).`;
  };
  update();
  const subject = input('subject', 'Subject (e-mail)', {});
  const onChannel = (e) => { subject.hidden = e.target.value !== 'email'; };
  subject.hidden = true;
  return form([
    input('id', 'ID', { help: 'Identifies the template (the `template` of an OTP request).' }),
    select('channel', 'Channel', [['sms', 'SMS'], ['email', 'E-mail'], ['voice', 'Voice']], 'sms', { on: { change: onChannel } }),
    toggle('default', 'Default template of its channel', false),
    subject,
    textarea('text', 'Message', { rows: 3, on: { input: update }, help: h('span', {}, 'Tags: ', h('code', { text: '{otp}' }), ' the code (required), ', h('code', { text: '{login}' }), ', ', h('code', { text: '{name}' }), ', ', h('code', { text: '{expires_in}' }), ' (minutes), ', h('code', { text: '{app}' }), '.') }),
    count,
  ], {
    submit: 'Add',
    label: 'Add a template',
    onSubmit: async (fm) => {
      const v = values(fm);
      if (v.channel !== 'email') delete v.subject;
      await post('/v1/messages', v);
      toast('Template added.');
      await refresh();
      return 'Added.';
    },
  });
}

function testPanel() {
  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const f = form([
    input('phone', 'Phone (E.164)', { type: 'tel', placeholder: '+5511987654321' }),
    input('message', 'Message', { value: 'SAE test message' }),
  ], {
    submit: 'Send test SMS',
    label: 'Send a test SMS',
    onSubmit: async (fm) => {
      const r = await post('/v1/delivery/sms/test', values(fm));
      mount(result,
        h('p', { class: r.delivered ? 'notice ok' : 'notice warn', 'data-testid': 'sms-test-outcome', text: r.delivered ? 'Delivered.' : 'Not delivered.' }),
        table([
          { label: 'Broker', key: 'broker' },
          { label: 'Outcome', key: 'outcome' },
          { label: 'HTTP status', key: 'http_status' },
          { label: 'Latency (ms)', key: 'latency_ms' },
          { label: 'Error', key: 'error' },
          { label: 'Answer', render: (a) => (a.excerpt ? h('code', { text: a.excerpt }) : '') },
        ], r.attempts, { caption: 'Attempts' }));
      return r.delivered ? 'Test SMS delivered.' : 'Test SMS failed.';
    },
  });
  return h('div', {}, f, result);
}

export async function render() {
  let doc = null;
  try {
    doc = await get('/v1/delivery/sms');
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  doc = doc || { primary: { kind: 'rest' }, broker2: { mode: 'none' } };
  const b2 = doc.broker2 || { mode: 'none' };
  const b2form = brokerFields('broker2.broker', b2.broker || {}, { legend: 'Broker 2' });
  const modes = radios('broker2.mode', 'Broker 2 mode', [['none', 'None'], ['backup', 'Backup — used when the primary fails'], ['balance', 'Balance — alternate between both, each backing up the other']], b2.mode || 'none', {
    on: { change: (e) => { const on = e.target.value !== 'none'; b2form.hidden = !on; if (on) b2form.removeAttribute('data-skip'); else b2form.setAttribute('data-skip', ''); } },
  });
  if ((b2.mode || 'none') === 'none') { b2form.hidden = true; b2form.setAttribute('data-skip', ''); }
  const p1 = h('div', {}, brokerFields('primary', doc.primary || {}, { legend: 'Primary broker' }));
  const p2 = h('div', {}, modes, b2form);
  const p3 = h('div', {}, await messagesPanel());
  const p4 = h('div', {}, testPanel());
  const budgets = doc.budgets || {};
  const p5 = h('div', {},
    h('fieldset', {}, h('legend', { text: 'Per destination' }),
      input('budgets.per_destination.count', 'Messages', { type: 'number', min: 1, value: budgets.per_destination && budgets.per_destination.count }),
      input('budgets.per_destination.window_s', 'Window (seconds)', { type: 'number', min: 1, value: budgets.per_destination && budgets.per_destination.window_s })),
    h('fieldset', {}, h('legend', { text: 'Per user' }),
      input('budgets.per_user.count', 'Messages', { type: 'number', min: 1, value: budgets.per_user && budgets.per_user.count }),
      input('budgets.per_user.window_s', 'Window (seconds)', { type: 'number', min: 1, value: budgets.per_user && budgets.per_user.window_s })));
  const brokerForm = form([p1, p2, p5], {
    submit: 'Save SMS configuration',
    label: 'SMS brokers',
    onSubmit: async (fm) => {
      const v = values(fm);
      if (!v.broker2) v.broker2 = { mode: 'none' };
      const saved = await put('/v1/delivery/sms', v);
      toast('SMS configuration saved.');
      return `Saved (Broker 2: ${saved.broker2 ? saved.broker2.mode : 'none'}).`;
    },
  });
  const t = staticTabs([
    { id: 'broker', label: 'Broker', panel: p1 },
    { id: 'broker2', label: 'Broker 2', panel: p2 },
    { id: 'budgets', label: 'Budgets', panel: p5 },
    { id: 'messages', label: 'Messages', panel: p3 },
    { id: 'test', label: 'Test', panel: p4 },
  ], { label: 'SMS service', onChange: (id) => { brokerForm.hidden = id === 'messages' || id === 'test'; } });
  return h('div', {}, h('h1', { text: 'SMS service' }), t.list, brokerForm, p3, p4);
}

export { clearErrors, showProblem };
