// A small SVG line chart: success rate (left axis, %) and mean latency (right axis, ms) per
// time bucket. Drawn with DOM calls (no library, no inline script).

import { t, dateTime, shortTime, number } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// attempts: [{at (RFC 3339), outcome, latency_ms}] → [{t0, t1, n, ok, latency}]
export function buckets(attempts, count = 12) {
  const times = attempts.map((a) => Date.parse(a.at)).filter((t) => !Number.isNaN(t));
  if (!times.length) return [];
  const min = Math.min(...times);
  const max = Math.max(...times);
  const width = Math.max(1, (max - min) / count);
  const out = Array.from({ length: count }, (_, i) => ({ t0: min + i * width, t1: min + (i + 1) * width, n: 0, ok: 0, latency: 0 }));
  for (const a of attempts) {
    const t = Date.parse(a.at);
    if (Number.isNaN(t)) continue;
    const i = Math.min(count - 1, Math.floor((t - min) / width));
    out[i].n += 1;
    if (a.outcome === 'delivered') out[i].ok += 1;
    out[i].latency += Number(a.latency_ms) || 0;
  }
  return out.filter((b) => b.n > 0);
}

export function chart(attempts, opts) {
  return chartOf(buckets(attempts), opts);
}

// The dashboard's hours of one broker ({start, attempts, delivered, mean_latency_ms}) as
// buckets.
// buckets, every hour of the window kept (hours without attempts draw no point).
export function hourBuckets(hours) {
  return hours.map((x) => {
    const t0 = Date.parse(x.start);
    return { t0, t1: t0 + 3600e3, n: x.attempts, ok: x.delivered, latency: (x.mean_latency_ms || 0) * x.attempts };
  });
}

// bs: [{t0, t1, n, ok, latency (sum, ms)}], evenly spaced in time; buckets with n = 0 keep
// their place on the time axis but draw nothing.
export function chartOf(bs, { title }) {
  const W = 560;
  const H = 220;
  const L = 44;
  const R = 56;
  const T = 16;
  const B = 36;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  const pw = W - L - R;
  const ph = H - T - B;
  svg.append(s('rect', { x: L, y: T, width: pw, height: ph, class: 'plot' }));
  for (const p of [0, 50, 100]) {
    const y = T + ph - (p / 100) * ph;
    svg.append(s('line', { x1: L, x2: L + pw, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: L - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, `${p}%`));
  }
  const drawn = bs.map((b, i) => [b, i]).filter(([b]) => b.n > 0);
  if (!drawn.length) {
    svg.append(s('text', { x: L + pw / 2, y: T + ph / 2, 'text-anchor': 'middle', class: 'axis' }, t('chart.no_attempts')));
    return svg;
  }
  const maxLat = Math.max(1, ...drawn.map(([b]) => b.latency / b.n));
  const x = (i) => L + (bs.length === 1 ? pw / 2 : (i / (bs.length - 1)) * pw);
  const yRate = (b) => T + ph - (b.ok / b.n) * ph;
  const yLat = (b) => T + ph - ((b.latency / b.n) / maxLat) * ph;
  svg.append(s('text', { x: L + pw + 6, y: T + 4, class: 'axis' }, `${number(Math.round(maxLat))} ms`));
  svg.append(s('text', { x: L + pw + 6, y: T + ph + 4, class: 'axis' }, '0 ms'));
  const path = (fy) => drawn.map(([b, i], k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${fy(b).toFixed(1)}`).join(' ');
  svg.append(s('path', { d: path(yRate), class: 'line rate' }));
  svg.append(s('path', { d: path(yLat), class: 'line latency' }));
  drawn.forEach(([b, i]) => {
    const c1 = s('circle', { cx: x(i), cy: yRate(b), r: 3, class: 'dot rate' });
    c1.append(s('title', {}, t('chart.point', { at: dateTime(new Date(b.t0).toISOString()), ok: b.ok, n: b.n, ms: Math.round(b.latency / b.n) })));
    svg.append(c1, s('circle', { cx: x(i), cy: yLat(b), r: 3, class: 'dot latency' }));
  });
  const fmt = shortTime;
  svg.append(s('text', { x: L, y: H - 14, class: 'axis' }, fmt(bs[0].t0)));
  svg.append(s('text', { x: L + pw, y: H - 14, class: 'axis', 'text-anchor': 'end' }, fmt(bs[bs.length - 1].t1)));
  svg.append(s('text', { x: L, y: H - 2, class: 'legend rate' }, `— ${t('chart.success_rate')}`));
  svg.append(s('text', { x: L + 140, y: H - 2, class: 'legend latency' }, `— ${t('chart.mean_latency')}`));
  return svg;
}
