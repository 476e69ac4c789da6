// ACLs: administrator groups and their per-field access to users and wallets.

import { get, post, put, del, enc } from '../api.js';
import { h, mount, table, toast, confirmAction } from '../dom.js';
import { form, input, select, toggle, values } from '../forms.js';

export const USER_FIELDS = ['login', 'name', 'email', 'document', 'mobile', 'wallet', 'status', 'password', 'authsys', 'tokens', 'devices'];
export const WALLET_FIELDS = ['name', 'description'];
const ACCESS = [['none', 'None'], ['view', 'View'], ['edit', 'Edit']];

function matrix(kind, fields, current = {}) {
  return h('fieldset', { class: 'acl-matrix' }, h('legend', { text: kind === 'users' ? 'Users' : 'Wallets' }),
    fields.map((f) => select(`${kind}.${f}`, f, ACCESS, current[f] || 'none', { cls: 'inline' })));
}

function groupForm(group, done) {
  const isNew = !group;
  const g = group || { may_modify: false, users: {}, wallets: {} };
  return form([
    h('h2', { text: isNew ? 'New group' : `Group ${g.name}` }),
    isNew ? input('name', 'Group name', { required: true }) : null,
    toggle('may_modify', 'May modify (create, update, delete)', g.may_modify, { help: 'Off: the group can only look at what its fields allow.' }),
    matrix('users', USER_FIELDS, g.users),
    matrix('wallets', WALLET_FIELDS, g.wallets),
  ], {
    submit: isNew ? 'Create group' : 'Save group',
    label: 'Administrator group',
    readOnly: g.builtin,
    onSubmit: async (fm) => {
      const v = values(fm);
      if (isNew) await post('/v1/admin-groups', v);
      else await put(`/v1/admin-groups/${enc(g.name)}`, { name: g.name, ...v });
      toast('Group saved.');
      done();
      return 'Saved.';
    },
  });
}

export async function render() {
  const box = h('div');
  const editor = h('div');
  const refresh = async () => {
    const list = await get('/v1/admin-groups');
    mount(box, table([
      { label: 'Group', key: 'name' },
      { label: 'Built in', render: (g) => (g.builtin ? 'yes' : 'no') },
      { label: 'May modify', render: (g) => (g.may_modify ? 'yes' : 'no') },
      { label: 'Users: fields editable / visible', render: (g) => {
        const vals = Object.values(g.users || {});
        return `${vals.filter((a) => a === 'edit').length} / ${vals.filter((a) => a !== 'none').length}`;
      } },
      { label: 'Actions', render: (g) => (g.builtin ? 'everything' : h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: `Edit ${g.name}`, on: { click: () => { mount(editor, groupForm(g, refresh)); editor.querySelector('input, select').focus(); } } }),
        h('button', { type: 'button', class: 'small danger', text: `Delete ${g.name}`, on: { click: async () => {
          if (!confirmAction(`Delete the group ${g.name}?`)) return;
          await del(`/v1/admin-groups/${enc(g.name)}`);
          refresh();
        } } }))) },
    ], list.items, { caption: 'Administrator groups' }));
    mount(editor, groupForm(null, refresh));
  };
  await refresh();
  return h('div', {}, h('h1', { text: 'ACLs' }),
    h('p', { class: 'help', text: 'Administrators in a group other than System Administrator see and change users and wallets only as the group allows: None hides a field, View shows it read-only, Edit allows changes (with “May modify”). Assign groups on the Administrators screen.' }),
    box, editor);
}
