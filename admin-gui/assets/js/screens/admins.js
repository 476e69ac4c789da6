// Administrators: list, create, edit (group, password, TOTP reset), unlock, delete.

import { get, post, put, del, enc, qs } from '../api.js';
import { h, mount, table, toast, confirmAction, fmtTime } from '../dom.js';
import { form, input, password, select, toggle, values } from '../forms.js';

async function groupOptions() {
  const list = await get('/v1/admin-groups');
  return list.items.map((g) => [g.name, g.name]);
}

export async function render() {
  const box = h('div');
  const editor = h('div');
  const groups = await groupOptions();
  const editForm = (a) => form([
    h('h2', { text: `Administrator ${a.login}` }),
    select('group', 'Group', groups, a.group),
    input('password', 'New password (empty: unchanged)', { type: 'password', autocomplete: 'new-password' }),
    toggle('reset_totp', 'Reset the second factor (enrolled again at next sign-in)', false),
  ], {
    label: 'Edit administrator',
    onSubmit: async (fm) => {
      await put(`/v1/admins/${enc(a.login)}`, values(fm));
      toast(`Administrator ${a.login} saved.`);
      await refresh();
      return 'Saved.';
    },
  });
  const refresh = async () => {
    const items = [];
    let cursor;
    do {
      const page = await get(`/v1/admins${qs({ limit: 500, cursor })}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    mount(box, table([
      { label: 'Login', key: 'login' },
      { label: 'Group', key: 'group' },
      { label: 'TOTP enrolled', render: (a) => (a.totp_enrolled ? 'yes' : 'no') },
      { label: 'Locked', render: (a) => (a.locked ? (a.locked_until ? `until ${fmtTime(a.locked_until)}` : 'until unlocked') : 'no') },
      { label: 'Failures in a row', render: (a) => (a.failures ? `password ${a.failures.password}, code ${a.failures.otp}` : '') },
      { label: 'Last sign-in', render: (a) => fmtTime(a.last_login_at) },
      { label: 'Actions', render: (a) => h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: `Edit ${a.login}`, on: { click: () => { mount(editor, editForm(a)); editor.querySelector('select').focus(); } } }),
        a.locked || (a.failures && (a.failures.password || a.failures.otp)) ? h('button', { type: 'button', class: 'small', text: `Unlock ${a.login}`, on: { click: async () => { await post(`/v1/admins/${enc(a.login)}/unlock`); refresh(); } } }) : null,
        h('button', { type: 'button', class: 'small danger', text: `Delete ${a.login}`, on: { click: async () => {
          if (!confirmAction(`Delete the administrator ${a.login}?`)) return;
          try {
            await del(`/v1/admins/${enc(a.login)}`);
          } catch (e) {
            toast(e.message, 'error');
          }
          refresh();
        } } })) },
    ], items, { caption: 'Administrators' }));
  };
  await refresh();
  const create = form([
    h('h2', { text: 'New administrator' }),
    input('login', 'Login', { required: true, autocomplete: 'off' }),
    password('password', 'Password', { help: 'Must pass the password policy. The second factor is enrolled at first sign-in.' }),
    select('group', 'Group', groups, 'System Administrator'),
  ], {
    submit: 'Create administrator',
    label: 'New administrator',
    onSubmit: async (fm) => {
      const a = await post('/v1/admins', values(fm));
      fm.reset();
      await refresh();
      return `Administrator ${a.login} created.`;
    },
  });
  return h('div', {}, h('h1', { text: 'Administrators' }), box, editor, create);
}
