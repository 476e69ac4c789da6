// ACLs: administrator groups and their per-field access to users and wallets.

import { get, post, put, del, enc } from '../api.js';
import { h, mount, table, toast, act } from '../dom.js';
import { form, input, select, toggle, values } from '../forms.js';
import { t } from '../i18n.js';

export const USER_FIELDS = ['login', 'name', 'email', 'document', 'mobile', 'wallet', 'status', 'password', 'authsys', 'tokens', 'devices'];
export const WALLET_FIELDS = ['name', 'description'];

function matrix(kind, fields, current = {}) {
  const access = [['none', t('acl.none')], ['view', t('acl.view')], ['edit', t('acl.edit')]];
  return h('fieldset', { class: 'acl-matrix' }, h('legend', { text: t(`acl.${kind}`) }),
    fields.map((f) => select(`${kind}.${f}`, t(`acl.field.${kind}.${f}`), access, current[f] || 'none', { cls: 'inline' })));
}

// A new group (group null) or an existing one, renamed by changing its name.
function groupForm(group, refresh, editor) {
  const isNew = !group;
  const g = group || { name: '', may_modify: false, users: {}, wallets: {} };
  return form([
    h('h2', { text: isNew ? t('acl.new_group') : t('acl.group_title', { name: g.name }) }),
    input('name', t('acl.group_name'), { required: true, value: g.name, help: isNew ? null : t('acl.rename_help') }),
    toggle('may_modify', t('acl.may_modify'), g.may_modify, { help: t('acl.may_modify_help') }),
    matrix('users', USER_FIELDS, g.users),
    matrix('wallets', WALLET_FIELDS, g.wallets),
  ], {
    submit: isNew ? t('acl.create') : t('acl.save'),
    label: isNew ? t('acl.new_group') : t('acl.group_title', { name: g.name }),
    buttons: isNew ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, groupForm(null, refresh, editor)) } })],
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/admin-groups', v);
      else await put(`/v1/admin-groups/${enc(g.name)}`, v);
      toast(t('acl.saved', { name: v.name }));
      await refresh();
      return '';
    },
  });
}

export async function render() {
  const box = h('div');
  const editor = h('div');
  const refresh = async () => {
    const list = await get('/v1/admin-groups');
    mount(box, table([
      { label: t('acl.group'), render: (g) => (g.builtin ? t('acl.sysadmin_group') : g.name) },
      { label: t('acl.builtin'), render: (g) => (g.builtin ? t('common.yes') : t('common.no')) },
      { label: t('acl.may_modify_short'), render: (g) => (g.may_modify ? t('common.yes') : t('common.no')) },
      { label: t('acl.users_summary'), render: (g) => {
        const vals = Object.values(g.users || {});
        return t('acl.summary', { edit: vals.filter((a) => a === 'edit').length, view: vals.filter((a) => a !== 'none').length });
      } },
      { label: t('common.actions'), render: (g) => (g.builtin ? t('acl.everything') : h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: t('acl.edit_group', { name: g.name }), on: { click: () => { mount(editor, groupForm(g, refresh, editor)); editor.querySelector('input, select').focus(); } } }),
        h('button', { type: 'button', class: 'small danger', text: t('acl.delete_group', { name: g.name }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => del(`/v1/admin-groups/${enc(g.name)}`), { confirm: t('acl.delete_confirm', { name: g.name }), verb: t('common.delete'), done: t('acl.deleted', { name: g.name }) })) refresh();
        } } }))) },
    ], list.items, { caption: t('acl.groups') }));
    mount(editor, groupForm(null, refresh, editor));
  };
  await refresh();
  return h('div', {}, h('h1', { text: t('nav.acl') }),
    h('p', { class: 'help', text: t('acl.intro') }),
    box, editor);
}
