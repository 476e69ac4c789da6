// Delivery reports: attempts per broker, with a chart of success rate and latency over time.

import { get, qs } from '../api.js';
import { h, mount, table, fmtTime } from '../dom.js';
import { form, input, values } from '../forms.js';
import { chart } from '../chart.js';

function toRfc3339(v) {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString().replace(/\.\d+Z$/, 'Z');
}

export async function render() {
  const out = h('div');
  const load = async (filters) => {
    const items = [];
    let cursor;
    let pages = 0;
    do {
      const page = await get(`/v1/reports/deliveries${qs({ ...filters, limit: 500, cursor })}`);
      items.push(...page.items);
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor && pages < 20);
    const byBroker = new Map();
    for (const a of items) {
      const k = `${a.channel} · ${a.broker}`;
      if (!byBroker.has(k)) byBroker.set(k, []);
      byBroker.get(k).push(a);
    }
    mount(out,
      h('p', { text: `${items.length} attempt(s)${cursor ? ' (first 10 000 shown)' : ''}.` }),
      [...byBroker.entries()].map(([k, list]) => {
        const ok = list.filter((a) => a.outcome === 'delivered').length;
        const mean = Math.round(list.reduce((n, a) => n + (a.latency_ms || 0), 0) / list.length);
        return h('section', { class: 'card broker-report', 'data-broker': k },
          h('h2', { text: k }),
          h('p', { text: `${ok}/${list.length} delivered (${Math.round((100 * ok) / list.length)}%), mean latency ${mean} ms.` }),
          chart(list, { title: `${k}: success rate and latency over time` }),
          h('details', {}, h('summary', { text: 'Attempts' }), table([
            { label: 'Time', render: (a) => fmtTime(a.at) },
            { label: 'Request', key: 'request_id' },
            { label: 'Destination', key: 'destination' },
            { label: 'Outcome', key: 'outcome' },
            { label: 'HTTP', key: 'http_status' },
            { label: 'Latency (ms)', key: 'latency_ms' },
            { label: 'Error', key: 'error' },
          ], list.slice(-200).reverse(), { caption: `Latest attempts of ${k}` })));
      }),
      items.length ? null : h('p', { class: 'empty', text: 'No delivery attempts in this period.' }));
  };
  const f = form([
    h('div', { class: 'search-row' },
      input('since', 'From', { type: 'datetime-local' }),
      input('until', 'Until', { type: 'datetime-local' }),
      input('request_id', 'Request id', { type: 'search' })),
  ], {
    submit: 'Show',
    label: 'Report filters',
    onSubmit: async (fm) => {
      const v = values(fm);
      await load({ request_id: v.request_id, since: toRfc3339(v.since), until: toRfc3339(v.until) });
      return '';
    },
  });
  await load({});
  return h('div', {}, h('h1', { text: 'Delivery reports' }), f, out);
}

export { toRfc3339 };
