// Token inventory: every token by serial, assigned or not; filter, assign to a user,
// unassign, delete. Secrets never appear here (the API lists none).

import { get, post, del, enc, qs } from '../api.js';
import { h, mount, table, act, fmtTime, pager } from '../dom.js';
import { form, input, select, values } from '../forms.js';
import { access } from '../app.js';
import { t } from '../i18n.js';

export async function render() {
  const out = h('div');
  const cursors = [null];
  let pageNo = 0;
  let filters = {};
  const editable = access('users', 'tokens') === 'edit';
  const actions = (tok) => {
    if (!editable) return '';
    const serial = tok.serial;
    if (!tok.login) {
      const who = h('input', { type: 'text', class: 'small', 'aria-label': t('tokens.assign_to', { serial }), autocomplete: 'off' });
      return h('span', { class: 'row-actions' }, who,
        h('button', { type: 'button', class: 'small', text: t('tokens.assign', { serial }), on: { click: async (e) => {
          const login = who.value.trim();
          if (await act(e.currentTarget, () => post(`/v1/tokens/${enc(serial)}/assign`, { login }), { done: t('tokens.assigned', { serial, login }) })) load();
        } } }),
        h('button', { type: 'button', class: 'small danger', text: t('tokens.delete', { serial }), on: { click: async (e) => {
          if (await act(e.currentTarget, () => del(`/v1/tokens/${enc(serial)}`), { confirm: t('tokens.delete_confirm', { serial }), verb: t('common.delete'), done: t('tokens.deleted', { serial }) })) load();
        } } }));
    }
    return h('span', { class: 'row-actions' },
      h('button', { type: 'button', class: 'small', text: t('tokens.unassign', { serial }), on: { click: async (e) => {
        if (await act(e.currentTarget, () => post(`/v1/tokens/${enc(serial)}/unassign`), { confirm: t('tokens.unassign_confirm', { serial, login: tok.login }), verb: t('tokens.unassign_verb'), done: t('tokens.unassigned', { serial }) })) load();
      } } }));
  };
  const describe = (tok) => [tok.type, tok.algorithm, tok.digits ? t('tokens.digits', { n: tok.digits }) : '', tok.period ? t('tokens.period', { n: tok.period }) : '']
    .filter(Boolean).join(' · ');
  const load = async () => {
    const page = await get(`/v1/tokens${qs({ ...filters, limit: 50, cursor: cursors[pageNo] })}`);
    cursors[pageNo + 1] = page.next_cursor;
    mount(out, table([
      { label: t('tokens.col_serial'), key: 'serial' },
      { label: t('tokens.col_type'), render: describe },
      { label: t('tokens.col_user'), render: (tok) => tok.login || '—' },
      { label: t('tokens.col_issuer'), render: (tok) => tok.issuer || '' },
      { label: t('tokens.col_created'), render: (tok) => fmtTime(tok.created_at) },
      { label: t('tokens.col_last_used'), render: (tok) => (tok.last_used_at ? fmtTime(tok.last_used_at) : '') },
      { label: t('common.actions'), render: actions },
    ], page.items, { caption: t('tokens.caption', { n: pageNo + 1 }), empty: t('tokens.empty') }),
    pager(pageNo, !!page.next_cursor, (d) => { pageNo += d; load(); }));
  };
  const f = form([
    h('div', { class: 'search-row' },
      input('serial', t('tokens.serial'), { type: 'search' }),
      select('type', t('tokens.type'), [['', t('tokens.any_type')], 'totp', 'hotp', 'opie'], ''),
      select('assigned', t('tokens.assigned_filter'), [['', t('tokens.any')], ['true', t('tokens.assigned_yes')], ['false', t('tokens.assigned_no')]], ''),
      input('login', t('tokens.login'), { type: 'search' })),
  ], {
    submit: t('tokens.filter'),
    label: t('tokens.filters'),
    onSubmit: async (fm) => {
      filters = values(fm);
      cursors.length = 1;
      pageNo = 0;
      await load();
      return '';
    },
  });
  await load();
  return h('div', {}, h('h1', { text: t('tokens.title') }), f, out);
}
