// SMS service: primary broker (REST, SOAP basic / advanced), Broker 2 (none / backup /
// balance), message templates with the SMS size the server computes, and a test send.

import { get, post, put, del, enc } from '../api.js';
import { h, mount, table, staticTabs, toast, act } from '../dom.js';
import { form, input, password, select, textarea, toggle, radios, values, clearErrors, showProblem } from '../forms.js';
import { t } from '../i18n.js';


// The fields of one broker; every control is named "<prefix>.<field>" as in the API.
export function brokerFields(prefix, doc = {}, { legend } = {}) {
  const p = (f) => `${prefix}.${f}`;
  const kind = doc.kind || 'rest';
  const rest = h('div', { class: 'kind-rest' },
    input(p('url'), t('sms.url'), { value: doc.kind === 'rest' ? doc.url : '', type: 'url', help: t('sms.url_help') }),
    select(p('method'), t('sms.method'), ['POST', 'GET'], doc.method || 'POST'),
    select(p('authorization'), t('sms.authorization'), [['none', t('common.none')], ['basic', 'Basic'], ['digest', 'Digest'], ['oauth', 'OAuth 1.0a']], doc.authorization || 'none'),
    h('div', { class: 'auth-userpass' },
      input(p('username'), t('sms.username'), { value: doc.username, autocomplete: 'off' }),
      password(p('password'), t('common.password'), { help: t('sms.secret_help'), placeholder: doc.kind ? t('sms.stored') : '' })),
    h('div', { class: 'auth-oauth' },
      input(p('key'), t('sms.key'), { value: doc.key, autocomplete: 'off' }),
      password(p('secret'), t('sms.secret'), { help: t('sms.secret_help'), placeholder: doc.kind ? t('sms.stored') : '' }),
      password(p('token'), t('sms.token'), { placeholder: doc.kind ? t('sms.stored') : '' }),
      password(p('token_secret'), t('sms.token_secret'), { placeholder: doc.kind ? t('sms.stored') : '' })),
    textarea(p('headers'), t('sms.headers'), { kind: 'json', value: doc.headers, help: t('sms.headers_help') }),
    h('div', { class: 'method-get' }, textarea(p('query'), t('sms.query'), { kind: 'json', value: doc.query, help: t('sms.tags_help') })),
    h('div', { class: 'method-post' }, textarea(p('body'), t('sms.body'), { value: doc.body, rows: 4, help: t('sms.body_help') })),
    textarea(p('return_keys'), t('sms.return_keys'), { kind: 'lines', value: (doc.return_keys || []).join('\n'), help: t('sms.return_keys_help') }));
  const soapBasic = h('div', { class: 'soap-basic' },
    input(p('message'), t('sms.message'), { value: doc.message, help: t('sms.tags_help') }),
    textarea(p('variables'), t('sms.variables'), { kind: 'json', value: doc.variables, help: t('sms.variables_help') }));
  const soapAdvanced = h('div', { class: 'soap-advanced' },
    textarea(p('attributes'), t('sms.attributes'), { kind: 'json', value: doc.attributes }),
    textarea(p('request'), t('sms.request'), { kind: 'json', value: doc.request }));
  // The operation and the response keys apply to both types (basic needs the operation
  // when the WSDL has more than one).
  const soap = h('div', { class: 'kind-soap' },
    input(p('wsdl_url'), t('sms.wsdl_url'), { value: doc.wsdl_url, type: 'url' }),
    radios(p('soap_type'), t('sms.soap_type'), [['basic', t('sms.soap_basic')], ['advanced', t('sms.soap_advanced')]], doc.soap_type || 'advanced'),
    input(p('call'), t('sms.call'), { value: doc.call, help: t('sms.call_help') }),
    soapBasic, soapAdvanced,
    textarea(p('options'), t('sms.options'), { kind: 'json', value: doc.options, help: t('sms.options_help') }),
    textarea(p('response'), t('sms.response'), { kind: 'lines', value: (doc.response || []).join('\n'), help: t('sms.response_help') }));
  const common = h('div', {},
    textarea(p('secrets'), t('sms.secrets'), { kind: 'json', value: doc.secrets, help: t('sms.secrets_help') }),
    toggle(p('check_each_call'), t('sms.check_each_call'), doc.check_each_call),
    input(p('timeout_ms'), t('sms.timeout_ms'), { type: 'number', min: 1, value: doc.timeout_ms }));
  const box = h('fieldset', { class: 'broker' }, h('legend', { text: legend || t('sms.broker') }),
    radios(p('kind'), t('sms.protocol'), [['rest', 'REST'], ['soap', 'SOAP']], kind),
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

// The server's SMS size estimate of a template (the `sms` field of GET /v1/messages): the
// console shows it as it is and never counts characters itself.
function smsSize(sms) {
  return t(sms.encoding === 'gsm7' ? 'sms.size_gsm7' : 'sms.size_ucs2', { n: sms.segments, units: sms.units });
}

async function messagesPanel() {
  const panel = h('div');
  const editor = h('div');
  const refresh = async () => {
    const list = await get('/v1/messages');
    const items = list.items || list;
    mount(panel,
      table([
        { label: t('sms.template_id'), key: 'id' },
        { label: t('sms.channel'), render: (r) => t(`channel.${r.channel}`) },
        { label: t('sms.default'), render: (r) => (r.default ? t('common.yes') : t('common.no')) },
        { label: t('sms.message'), render: (r) => h('span', { class: 'pre', text: r.subject ? `${r.subject} — ${r.text}` : r.text }) },
        { label: t('sms.size'), render: (r) => (r.sms ? h('span', { 'data-testid': `sms-size-${r.id}`, text: smsSize(r.sms) }) : '') },
        { label: t('common.actions'), render: (r) => h('span', { class: 'row-actions' },
          h('button', { type: 'button', class: 'small', text: t('sms.edit_template', { id: r.id }), on: { click: () => { mount(editor, templateForm(r, refresh, editor)); editor.querySelector('textarea').focus(); } } }),
          h('button', { type: 'button', class: 'small danger', text: t('sms.delete_template', { id: r.id }), on: { click: async (e) => {
            if (await act(e.currentTarget, () => del(`/v1/messages/${enc(r.id)}`), { confirm: t('sms.delete_template_confirm', { id: r.id }), verb: t('common.delete'), done: t('sms.template_deleted', { id: r.id }) })) refresh();
          } } })) },
      ], items, { caption: t('sms.templates'), empty: t('sms.no_templates') }),
      editor);
    mount(editor, templateForm(null, refresh, editor));
  };
  await refresh();
  return panel;
}

// A new template (tpl null) or an existing one (its id cannot change).
function templateForm(tpl, refresh, editor) {
  const isNew = !tpl;
  const r = tpl || { channel: 'sms', default: false, text: '' };
  const subject = input('subject', t('sms.subject'), { value: r.subject });
  const showSubject = (ch) => {
    subject.hidden = ch !== 'email';
    if (ch === 'email') subject.removeAttribute('data-skip');
    else subject.setAttribute('data-skip', '');
  };
  showSubject(r.channel);
  const tags = h('span', {}, t('sms.tags'), ' ', ['{otp}', '{login}', '{name}', '{expires_in}', '{app}'].map((x, i) => [i ? ', ' : '', h('code', { text: x })]), '. ', t('sms.tags_meaning'));
  return form([
    h('h3', { text: isNew ? t('sms.add_template') : t('sms.edit_template', { id: r.id }) }),
    isNew ? input('id', t('sms.template_id'), { required: true, help: t('sms.template_id_help') }) : null,
    select('channel', t('sms.channel'), [['sms', t('channel.sms')], ['email', t('channel.email')], ['voice', t('channel.voice')]], r.channel, { on: { change: (e) => showSubject(e.target.value) } }),
    toggle('default', t('sms.default_long'), r.default),
    subject,
    textarea('text', t('sms.message'), { rows: 3, value: r.text, help: tags }),
    h('p', { class: 'sms-count help', text: t('sms.size_help') }),
  ], {
    submit: isNew ? t('sms.add') : t('common.save'),
    label: isNew ? t('sms.add_template') : t('sms.edit_template', { id: r.id }),
    buttons: isNew ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, templateForm(null, refresh, editor)) } })],
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/messages', v);
      else await put(`/v1/messages/${enc(r.id)}`, v);
      toast(isNew ? t('sms.template_added') : t('sms.template_saved', { id: r.id }));
      await refresh();
      return '';
    },
  });
}

function testPanel() {
  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const f = form([
    input('phone', t('sms.test_phone'), { type: 'tel', placeholder: '+5511987654321' }),
    input('message', t('sms.message'), { value: t('sms.test_text') }),
  ], {
    submit: t('sms.test_send'),
    label: t('sms.test_title'),
    onSubmit: async (fm) => {
      const r = await post('/v1/delivery/sms/test', values(fm));
      mount(result,
        h('p', { class: r.delivered ? 'notice ok' : 'notice error', 'data-testid': 'sms-test-outcome', text: r.delivered ? t('sms.test_delivered') : t('sms.test_failed') }),
        table([
          { label: t('sms.broker'), key: 'broker' },
          { label: t('audit.outcome'), key: 'outcome' },
          { label: t('sms.http_status'), key: 'http_status' },
          { label: t('sms.latency'), key: 'latency_ms' },
          { label: t('common.error'), key: 'error' },
          { label: t('sms.answer'), render: (a) => (a.excerpt ? h('code', { text: a.excerpt }) : '') },
        ], r.attempts, { caption: t('sms.attempts') }));
      return { text: r.delivered ? t('sms.test_delivered') : t('sms.test_failed'), ok: r.delivered };
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
  const b2form = brokerFields('broker2.broker', b2.broker || {}, { legend: t('sms.broker2') });
  const modes = radios('broker2.mode', t('sms.broker2_mode'), [['none', t('common.none')], ['backup', t('sms.mode_backup')], ['balance', t('sms.mode_balance')]], b2.mode || 'none', {
    on: { change: (e) => { const on = e.target.value !== 'none'; b2form.hidden = !on; if (on) b2form.removeAttribute('data-skip'); else b2form.setAttribute('data-skip', ''); } },
  });
  if ((b2.mode || 'none') === 'none') { b2form.hidden = true; b2form.setAttribute('data-skip', ''); }
  const p1 = h('div', {}, brokerFields('primary', doc.primary || {}, { legend: t('sms.primary') }));
  const p2 = h('div', {}, modes, b2form);
  const p3 = h('div', {}, await messagesPanel());
  const p4 = h('div', {}, testPanel());
  const budgets = doc.budgets || {};
  const budget = (key, legend) => h('fieldset', {}, h('legend', { text: legend }),
    input(`budgets.${key}.count`, t('sms.budget_count'), { type: 'number', min: 1, value: budgets[key] && budgets[key].count }),
    input(`budgets.${key}.window_s`, t('sms.budget_window'), { type: 'number', min: 1, value: budgets[key] && budgets[key].window_s }));
  const p5 = h('div', {}, h('p', { class: 'help', text: t('sms.budgets_help') }),
    budget('per_destination', t('sms.per_destination')), budget('per_user', t('sms.per_user')));
  const brokerForm = form([p1, p2, p5], {
    submit: t('sms.save'),
    label: t('sms.brokers'),
    onSubmit: async (fm) => {
      const v = values(fm);
      if (!v.broker2) v.broker2 = { mode: 'none' };
      const saved = await put('/v1/delivery/sms', v);
      return t('sms.saved', { mode: t(`sms.mode_${saved.broker2 ? saved.broker2.mode : 'none'}_short`) });
    },
  });
  const tabs = staticTabs([
    { id: 'broker', label: t('sms.broker'), panel: p1 },
    { id: 'broker2', label: t('sms.broker2'), panel: p2 },
    { id: 'budgets', label: t('sms.budgets'), panel: p5 },
    { id: 'messages', label: t('sms.messages'), panel: p3 },
    { id: 'test', label: t('sms.test'), panel: p4 },
  ], { label: t('nav.sms'), onChange: (id) => { brokerForm.hidden = id === 'messages' || id === 'test'; } });
  return h('div', {}, h('h1', { text: t('nav.sms') }), tabs.list, brokerForm, p3, p4);
}

export { clearErrors, showProblem };
