// Administrators: list, create, edit (group, password, TOTP reset), unlock, delete.

import { get, post, put, del, enc, qs, Problem } from '../api.js';
import { h, mount, table, toast, act, fmtTime } from '../dom.js';
import { form, input, password, select, toggle, values, section } from '../forms.js';
import { t } from '../i18n.js';

const SYSADMIN = 'System Administrator';

async function groupOptions() {
  const list = await get('/v1/admin-groups');
  return list.items.map((g) => [g.name, g.builtin ? t('acl.sysadmin_group') : g.name]);
}

async function allAdmins() {
  const items = [];
  let cursor;
  do {
    const page = await get(`/v1/admins${qs({ limit: 500, cursor })}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// The administrators' own lockout (temporary only): PUT /v1/config/admin-lockout.
async function lockoutSection() {
  const cfg = await get('/v1/config/admin-lockout');
  const th = cfg.throttle || {};
  return section(t('admins.lockout'), form([
    h('p', { class: 'help', text: t('admins.lockout_help') }),
    input('attempts', t('auth.attempts'), { type: 'number', min: 1, max: 10, value: cfg.attempts, help: t('auth.attempts_help') }),
    input('minutes', t('auth.minutes'), { type: 'number', min: 1, max: 525600, value: cfg.minutes, help: t('auth.minutes_help') }),
    h('fieldset', {}, h('legend', { text: t('auth.throttling') }),
      toggle('throttle.enabled', t('auth.throttle_enabled'), th.enabled),
      input('throttle.after', t('auth.throttle_after'), { type: 'number', min: 1, max: 100, value: th.after }),
      input('throttle.max_delay_s', t('auth.throttle_max'), { type: 'number', min: 1, max: 86400, value: th.max_delay_s })),
  ], {
    label: t('admins.lockout'),
    onSubmit: async (fm) => {
      const saved = await put('/v1/config/admin-lockout', values(fm));
      return t('admins.lockout_saved', { n: saved.attempts, minutes: saved.minutes });
    },
  }));
}

export async function render() {
  const box = h('div');
  const editor = h('div');
  const groups = await groupOptions();
  const editForm = (a, lastSysadmin) => form([
    h('h2', { text: t('admins.edit_title', { login: a.login }) }),
    select('group', t('admins.group'), groups, a.group, { disabled: lastSysadmin, help: lastSysadmin ? t('admins.last_sysadmin_group') : t('admins.group_change_help') }),
    password('password', t('admins.new_password'), { help: t('admins.password_help') }),
    toggle('reset_totp', t('admins.reset_totp'), false, { help: t('admins.reset_totp_help') }),
  ], {
    label: t('admins.edit_title', { login: a.login }),
    buttons: [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor) } })],
    onSubmit: async (fm) => {
      await put(`/v1/admins/${enc(a.login)}`, values(fm));
      toast(t('admins.saved', { login: a.login }));
      mount(editor);
      await refresh();
      return '';
    },
  });
  const refresh = async () => {
    const items = await allAdmins();
    const sysadmins = items.filter((a) => a.group === SYSADMIN).length;
    const isLast = (a) => a.group === SYSADMIN && sysadmins <= 1;
    mount(box, table([
      { label: t('common.login'), key: 'login' },
      { label: t('admins.group'), render: (a) => (a.group === SYSADMIN ? t('acl.sysadmin_group') : a.group) },
      { label: t('admins.totp'), render: (a) => (a.totp_enrolled ? t('common.yes') : t('admins.totp_pending')) },
      { label: t('admins.locked'), render: (a) => (a.locked ? (a.locked_until ? t('admins.locked_until', { at: fmtTime(a.locked_until) }) : t('admins.locked_forever')) : t('common.no')) },
      { label: t('admins.failures'), render: (a) => (a.failures ? t('admins.failures_value', { password: a.failures.password, otp: a.failures.otp }) : '') },
      { label: t('admins.last_login'), render: (a) => fmtTime(a.last_login_at) },
      { label: t('common.actions'), render: (a) => h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: t('admins.edit', { login: a.login }), on: { click: () => { mount(editor, editForm(a, isLast(a))); editor.querySelector('input, select').focus(); } } }),
        a.locked || (a.failures && (a.failures.password || a.failures.otp)) ? h('button', { type: 'button', class: 'small', text: t('admins.unlock', { login: a.login }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => post(`/v1/admins/${enc(a.login)}/unlock`), { done: t('admins.unlocked', { login: a.login }) })) refresh();
        } } }) : null,
        isLast(a)
          ? h('span', { class: 'help', text: t('admins.last_sysadmin') })
          : h('button', { type: 'button', class: 'small danger', text: t('admins.delete', { login: a.login }), on: { click: async (e) => {
            if (await act(e.currentTarget, () => del(`/v1/admins/${enc(a.login)}`), { confirm: t('admins.delete_confirm', { login: a.login }), verb: t('common.delete'), done: t('admins.deleted', { login: a.login }) })) refresh();
          } } })) },
    ], items, { caption: t('nav.admins') }));
  };
  await refresh();
  // No group is chosen in advance: the administrator picks the least privilege that fits.
  const create = form([
    h('h2', { text: t('admins.new') }),
    input('login', t('common.login'), { required: true, autocomplete: 'off' }),
    password('password', t('common.password'), { help: t('admins.password_rule') }),
    select('group', t('admins.group'), [['', t('admins.choose_group')]].concat(groups), '', { help: t('admins.group_help') }),
  ], {
    submit: t('admins.create'),
    label: t('admins.new'),
    onSubmit: async (fm) => {
      const v = values(fm);
      if (!v.group) throw new Problem(400, { field: 'group', detail: t('admins.choose_group_error') });
      const a = await post('/v1/admins', v);
      fm.reset();
      await refresh();
      return t('admins.created', { login: a.login });
    },
  });
  return h('div', {}, h('h1', { text: t('nav.admins') }), box, editor, create, await lockoutSection());
}
