// Wallets: list, create, rename and edit the description, delete (as the group's ACL allows).

import { get, post, put, del, enc, qs } from '../api.js';
import { h, mount, table, toast, confirmAction } from '../dom.js';
import { form, input, values } from '../forms.js';
import { access } from '../app.js';

export async function render() {
  const box = h('div');
  const editor = h('div');
  const da = access('wallets', 'description');
  const na = access('wallets', 'name');
  // Renaming keeps the wallet's users (they refer to it, not to its name).
  const editForm = (w) => {
    const title = h('h2', { text: `Wallet ${w.name}` });
    return form([
      title,
      na === 'none' ? null : input('name', 'Wallet name', { value: w.name, readOnly: na !== 'edit', required: true, autocomplete: 'off' }),
      da === 'none' ? null : input('description', 'Description', { value: w.description, readOnly: da !== 'edit' }),
    ], {
      label: 'Edit wallet',
      readOnly: da !== 'edit', // the API checks the description's edit right on every update
      onSubmit: async (fm) => {
        const v = values(fm);
        const body = { name: na === 'edit' ? (v.name || '') : w.name };
        body.description = v.description || '';
        const saved = await put(`/v1/wallets/${enc(w.name)}`, body);
        Object.assign(w, saved && saved.name ? saved : body);
        title.textContent = `Wallet ${w.name}`;
        await refresh();
        return 'Saved.';
      },
    });
  };
  const refresh = async () => {
    const items = [];
    let cursor;
    do {
      const page = await get(`/v1/wallets${qs({ limit: 500, cursor })}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    const cols = [{ label: 'Wallet', key: 'name' }];
    if (da !== 'none') cols.push({ label: 'Description', key: 'description' });
    cols.push({ label: 'Users', key: 'users' });
    cols.push({ label: 'Actions', render: (w) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', class: 'small', text: `Open ${w.name}`, on: { click: () => { mount(editor, editForm(w)); editor.querySelector('input')?.focus(); } } }),
      access('wallets', 'name') === 'edit' ? h('button', { type: 'button', class: 'small danger', text: `Delete ${w.name}`, on: { click: async () => {
        if (!confirmAction(`Delete the wallet ${w.name}?`)) return;
        try {
          await del(`/v1/wallets/${enc(w.name)}`);
        } catch (e) {
          toast(e.message, 'error');
        }
        refresh();
      } } }) : null) });
    mount(box, table(cols, items, { caption: 'Wallets', empty: 'No wallets.' }));
  };
  await refresh();
  const create = access('wallets', 'name') === 'edit' ? form([
    h('h2', { text: 'New wallet' }),
    input('name', 'Name', { required: true }),
    da === 'edit' ? input('description', 'Description') : null,
  ], {
    submit: 'Create wallet',
    label: 'New wallet',
    onSubmit: async (fm) => {
      const v = values(fm);
      await post('/v1/wallets', { name: v.name || '', description: v.description || '' });
      fm.reset();
      await refresh();
      return 'Created.';
    },
  }) : null;
  return h('div', {}, h('h1', { text: 'Wallets' }), box, editor, create);
}
