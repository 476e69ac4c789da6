// Delivery reports: attempts per broker, with a chart of success rate and latency over time.

import { get, qs } from '../api.js';
import { h, mount, table, fmtTime } from '../dom.js';
import { form, input, select, values } from '../forms.js';
import { chart } from '../chart.js';
import { t, percent } from '../i18n.js';

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
      h('p', { text: cursor ? t('reports.count_capped', { n: items.length }) : t('reports.count', { n: items.length }) }),
      [...byBroker.entries()].map(([k, list]) => {
        const ok = list.filter((a) => a.outcome === 'delivered').length;
        const mean = Math.round(list.reduce((n, a) => n + (a.latency_ms || 0), 0) / list.length);
        return h('section', { class: 'card broker-report', 'data-broker': k },
          h('h2', { text: k }),
          h('p', { text: t('dashboard.broker_summary', { delivered: ok, n: list.length, rate: percent(ok / list.length), mean, max: Math.max(...list.map((a) => a.latency_ms || 0)) }) }),
          chart(list, { title: t('dashboard.chart_title', { name: k }) }),
          h('details', {}, h('summary', { text: t('sms.attempts') }), table([
            { label: t('common.time'), render: (a) => fmtTime(a.at) },
            { label: t('reports.request'), key: 'request_id' },
            { label: t('dashboard.destination'), key: 'destination' },
            { label: t('audit.outcome'), render: (a) => (a.bounce_status ? t('reports.bounced_outcome', { outcome: a.outcome, status: a.bounce_status }) : a.outcome) },
            { label: 'HTTP', key: 'http_status' },
            { label: t('sms.latency'), key: 'latency_ms' },
            { label: t('common.error'), render: (a) => a.bounce_diagnostic || a.error || '' },
          ], list.slice(-200).reverse(), { caption: t('reports.latest', { name: k }) })));
      }),
      items.length ? null : h('p', { class: 'empty', text: t('reports.none') }));
  };
  const f = form([
    h('div', { class: 'search-row' },
      input('since', t('common.from'), { type: 'datetime-local' }),
      input('until', t('common.until'), { type: 'datetime-local' }),
      input('request_id', t('reports.request'), { type: 'search' }),
      select('channel', t('dashboard.channel'), [['', t('users.any')], ['sms', t('channel.sms')], ['email', t('channel.email')]], ''),
      select('outcome', t('audit.outcome'), [['', t('users.any')], ['delivered', t('reports.delivered')], ['failed', t('reports.failed')]], '')),
  ], {
    submit: t('reports.show'),
    label: t('reports.filters'),
    onSubmit: async (fm) => {
      const v = values(fm);
      await load({ request_id: v.request_id, channel: v.channel, outcome: v.outcome, since: toRfc3339(v.since), until: toRfc3339(v.until) });
      return '';
    },
  });
  await load({});
  return h('div', {}, h('h1', { text: t('nav.reports') }), f, out);
}

export { toRfc3339 };
