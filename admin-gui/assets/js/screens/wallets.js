// Wallets: list, create, rename and edit the description, delete (as the group's ACL allows).

import { get, post, put, del, enc, qs } from '../api.js';
import { h, mount, table, act } from '../dom.js';
import { form, input, values } from '../forms.js';
import { access } from '../app.js';
import { t } from '../i18n.js';

export async function render() {
  const box = h('div');
  const editor = h('div');
  const da = access('wallets', 'description');
  const na = access('wallets', 'name');
  // Renaming keeps the wallet's users (they refer to it, not to its name).
  const editForm = (w) => {
    const title = h('h2', { text: t('wallets.title', { name: w.name }) });
    return form([
      title,
      na === 'none' ? null : input('name', t('wallets.name'), { value: w.name, readOnly: na !== 'edit', required: true, autocomplete: 'off' }),
      da === 'none' ? null : input('description', t('wallets.description'), { value: w.description, readOnly: da !== 'edit' }),
    ], {
      label: t('wallets.edit'),
      buttons: [h('button', { type: 'button', text: t('common.close'), on: { click: () => mount(editor) } })],
      readOnly: da !== 'edit', // the API checks the description's edit right on every update
      onSubmit: async (fm) => {
        const v = values(fm);
        const body = { name: na === 'edit' ? (v.name || '') : w.name };
        body.description = v.description || '';
        const saved = await put(`/v1/wallets/${enc(w.name)}`, body);
        Object.assign(w, saved && saved.name ? saved : body);
        title.textContent = t('wallets.title', { name: w.name });
        await refresh();
        return t('common.saved');
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
    const cols = [{ label: t('wallets.wallet'), key: 'name' }];
    if (da !== 'none') cols.push({ label: t('wallets.description'), key: 'description' });
    cols.push({ label: t('nav.users'), key: 'users' });
    cols.push({ label: t('common.actions'), render: (w) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', class: 'small', text: t('wallets.open', { name: w.name }), on: { click: () => { mount(editor, editForm(w)); editor.querySelector('input')?.focus(); } } }),
      access('wallets', 'name') === 'edit' ? h('button', { type: 'button', class: 'small danger', text: t('wallets.delete', { name: w.name }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => del(`/v1/wallets/${enc(w.name)}`), { confirm: t('wallets.delete_confirm', { name: w.name }), verb: t('common.delete'), done: t('wallets.deleted', { name: w.name }) })) refresh();
      } } }) : null) });
    mount(box, table(cols, items, { caption: t('nav.wallets'), empty: t('wallets.none') }));
  };
  await refresh();
  const create = access('wallets', 'name') === 'edit' ? form([
    h('h2', { text: t('wallets.new') }),
    input('name', t('common.name'), { required: true }),
    da === 'edit' ? input('description', t('wallets.description')) : null,
  ], {
    submit: t('wallets.create'),
    label: t('wallets.new'),
    onSubmit: async (fm) => {
      const v = values(fm);
      await post('/v1/wallets', { name: v.name || '', description: v.description || '' });
      fm.reset();
      await refresh();
      return t('common.created_ok');
    },
  }) : null;
  return h('div', {}, h('h1', { text: t('nav.wallets') }), box, editor, create);
}
