// Audit log: filters, newest or oldest first, paged by the server, details as fields.

import { get, qs } from '../api.js';
import { h, mount, table, fmtTime, pager } from '../dom.js';
import { form, input, select, values } from '../forms.js';
import { t } from '../i18n.js';
import { toRfc3339 } from './reports.js';

// An audit record's detail (a JSON object) as a list of its fields; nested values as JSON.
// A detail's value: a list of plain values as words separated by commas (the fields an update
// changed), anything else nested as JSON.
function fieldValue(v) {
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return v.map(String).join(', ');
  return typeof v === 'object' && v !== null ? h('code', { text: JSON.stringify(v) }) : String(v);
}

export function detailFields(detail) {
  if (detail === null || detail === undefined || detail === '') return '';
  if (typeof detail !== 'object' || Array.isArray(detail)) return h('code', { text: JSON.stringify(detail) });
  const entries = Object.entries(detail);
  if (!entries.length) return '';
  return h('dl', { class: 'detail' }, entries.map(([k, v]) => [
    h('dt', { text: k }),
    h('dd', {}, fieldValue(v)),
  ]));
}

export async function render() {
  const out = h('div');
  const cursors = [null];
  let pageNo = 0;
  let filters = { sort: '-at' };
  const load = async () => {
    const page = await get(`/v1/audit${qs({ ...filters, limit: 50, cursor: cursors[pageNo] })}`);
    cursors[pageNo + 1] = page.next_cursor;
    mount(out, table([
      { label: t('common.time'), render: (e) => fmtTime(e.at) },
      { label: t('audit.actor'), key: 'actor' },
      { label: t('audit.action'), key: 'action' },
      { label: t('audit.subject'), key: 'subject' },
      { label: t('audit.source'), key: 'source' },
      { label: t('audit.outcome'), key: 'outcome' },
      { label: t('audit.detail'), render: (e) => detailFields(e.detail) },
    ], page.items, { caption: t('audit.caption', { n: pageNo + 1 }), empty: t('audit.none') }),
    pager(pageNo, !!page.next_cursor, (d) => { pageNo += d; load(); }));
  };
  const f = form([
    h('div', { class: 'search-row' },
      input('actor', t('audit.actor'), { type: 'search', help: t('audit.actor_help') }),
      input('action', t('audit.action'), { type: 'search' }),
      input('subject', t('audit.subject'), { type: 'search' }),
      input('outcome', t('audit.outcome'), { type: 'search', placeholder: 'ok', help: t('audit.outcome_help') }),
      input('since', t('common.from'), { type: 'datetime-local' }),
      input('until', t('common.until'), { type: 'datetime-local' }),
      select('sort', t('common.order'), [['-at', t('common.newest_first')], ['at', t('common.oldest_first')]], '-at')),
  ], {
    submit: t('common.filter'),
    label: t('audit.filters'),
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
  return h('div', {}, h('h1', { text: t('nav.audit') }), f, out);
}
