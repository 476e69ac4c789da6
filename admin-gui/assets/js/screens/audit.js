// Audit log with filters and paging.

import { get, qs } from '../api.js';
import { h, mount, table, fmtTime } from '../dom.js';
import { form, input, values } from '../forms.js';
import { toRfc3339 } from './reports.js';

export async function render() {
  const out = h('div');
  const cursors = [null];
  let pageNo = 0;
  let filters = {};
  const load = async () => {
    const page = await get(`/v1/audit${qs({ ...filters, limit: 50, cursor: cursors[pageNo] })}`);
    cursors[pageNo + 1] = page.next_cursor;
    mount(out, table([
      { label: 'Time', render: (e) => fmtTime(e.at) },
      { label: 'Actor', key: 'actor' },
      { label: 'Action', key: 'action' },
      { label: 'Subject', key: 'subject' },
      { label: 'Source', key: 'source' },
      { label: 'Outcome', key: 'outcome' },
      { label: 'Detail', render: (e) => (e.detail ? h('code', { class: 'detail', text: e.detail.length > 160 ? `${e.detail.slice(0, 160)}…` : e.detail }) : '') },
    ], page.items, { caption: `Audit log, page ${pageNo + 1}`, empty: 'No entries match.' }),
    h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', text: 'Previous page', disabled: pageNo === 0, on: { click: () => { pageNo -= 1; load(); } } }),
      h('span', { text: ` Page ${pageNo + 1} ` }),
      h('button', { type: 'button', text: 'Next page', disabled: !page.next_cursor, on: { click: () => { pageNo += 1; load(); } } })));
  };
  const f = form([
    h('div', { class: 'search-row' },
      input('actor', 'Actor', { type: 'search' }),
      input('action', 'Action', { type: 'search' }),
      input('subject', 'Subject', { type: 'search' }),
      input('outcome', 'Outcome', { type: 'search', placeholder: 'ok' }),
      input('since', 'From', { type: 'datetime-local' }),
      input('until', 'Until', { type: 'datetime-local' })),
  ], {
    submit: 'Filter',
    label: 'Audit filters',
    onSubmit: async (fm) => {
      const v = values(fm);
      filters = { ...v, since: toRfc3339(v.since), until: toRfc3339(v.until) };
      cursors.length = 1;
      pageNo = 0;
      await load();
      return '';
    },
  });
  await load();
  return h('div', {}, h('h1', { text: 'Audit log' }), f, out);
}
