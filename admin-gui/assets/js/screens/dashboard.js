// Dashboard, the first screen of a system administrator: health, the outbox, per-broker
// success rate and latency over the last 24 hours, locked users, OAuth2 profiles needing
// attention and recent failures — all from GET /v1/dashboard (computed by the database).

import { get, enc } from '../api.js';
import { h, table, fmtTime, serverText } from '../dom.js';
import { t, number, percent } from '../i18n.js';
import { chartOf, hourBuckets } from '../chart.js';

function figure(id, label, value, { warn } = {}) {
  return h('div', { class: ['figure', warn ? 'warn' : null], 'data-figure': id },
    h('span', { class: 'figure-value', text: typeof value === 'number' ? number(value) : value }),
    h('span', { class: 'figure-label', text: label }));
}

function brokers(list) {
  if (!list.length) return h('p', { class: 'empty', text: t('dashboard.no_deliveries') });
  return list.map((b) => {
    const name = t('dashboard.broker_name', { channel: t(`channel.${b.channel}`), broker: b.broker });
    return h('section', { class: 'card broker-report', 'data-broker': `${b.channel}/${b.broker}` },
      h('h3', { text: name }),
      h('p', { 'data-testid': 'broker-summary', text: t('dashboard.broker_summary', { delivered: b.delivered, n: b.attempts, rate: percent(b.success_rate), mean: b.mean_latency_ms, max: b.max_latency_ms }) }),
      chartOf(hourBuckets(b.hours), { title: t('dashboard.chart_title', { name }) }));
  });
}

export async function render() {
  const d = await get('/v1/dashboard');
  const healthy = d.health.status === 'ok';
  return h('div', { class: 'dashboard' },
    h('h1', { text: t('nav.dashboard') }),
    h('p', { class: 'help', text: t('dashboard.generated', { at: fmtTime(d.generated_at), since: fmtTime(d.since) }) }),
    h('section', { class: 'card', 'aria-labelledby': 'dash-now' },
      h('h2', { id: 'dash-now', text: t('dashboard.now') }),
      h('div', { class: 'figures' },
        figure('health', t('dashboard.health', { backend: d.health.backend }), healthy ? t('dashboard.health_ok') : t('dashboard.health_db_down'), { warn: !healthy }),
        figure('queued', t('dashboard.queued'), d.outbox.queued, { warn: d.outbox.queued > 0 && !!d.outbox.oldest_queued_at }),
        figure('retrying', t('dashboard.retrying'), d.outbox.retrying, { warn: d.outbox.retrying > 0 }),
        figure('failed', t('dashboard.failed'), d.outbox.failed, { warn: d.outbox.failed > 0 }),
        figure('locked', t('dashboard.locked'), d.locked_users.count, { warn: d.locked_users.count > 0 }),
        figure('oauth2', t('dashboard.oauth2'), d.oauth2_attention.length, { warn: d.oauth2_attention.length > 0 })),
      d.outbox.oldest_queued_at ? h('p', { class: 'help', text: t('dashboard.oldest_queued', { at: fmtTime(d.outbox.oldest_queued_at) }) }) : null),
    h('section', { class: 'card', 'aria-labelledby': 'dash-deliveries' },
      h('h2', { id: 'dash-deliveries', text: t('dashboard.deliveries') }),
      brokers(d.brokers)),
    h('section', { class: 'card', 'aria-labelledby': 'dash-locked' },
      h('h2', { id: 'dash-locked', text: t('dashboard.locked_users') }),
      table([
        { label: t('common.login'), render: (u) => h('a', { href: `#/users/${enc(u.login)}`, text: u.login }) },
        { label: t('dashboard.locked_until'), render: (u) => (u.locked_until ? fmtTime(u.locked_until) : t('dashboard.until_unlocked')) },
        { label: t('dashboard.lock_factor'), render: (u) => (u.lock_factor ? t(`factor.${u.lock_factor}`) : '') },
      ], d.locked_users.items, { caption: t('dashboard.locked_users'), empty: t('dashboard.no_locked'), hideCaption: true })),
    d.oauth2_attention.length ? h('section', { class: 'card', 'aria-labelledby': 'dash-oauth2' },
      h('h2', { id: 'dash-oauth2', text: t('dashboard.oauth2_profiles') }),
      table([
        { label: t('common.name'), render: (p) => h('a', { href: '#/mail', text: p.name }) },
        { label: t('dashboard.reason'), render: (p) => t(`dashboard.oauth2_${p.reason}`) },
        { label: t('dashboard.last_error'), render: (p) => (p.last_error ? serverText('last_error', p.last_error) : '') },
      ], d.oauth2_attention, { caption: t('dashboard.oauth2_profiles'), hideCaption: true })) : null,
    h('section', { class: 'card', 'aria-labelledby': 'dash-failed' },
      h('h2', { id: 'dash-failed', text: t('dashboard.failed_deliveries') }),
      table([
        { label: t('common.time'), render: (f) => fmtTime(f.at) },
        { label: t('dashboard.channel'), render: (f) => t(`channel.${f.channel}`) },
        { label: t('dashboard.broker'), key: 'broker' },
        { label: t('dashboard.destination'), key: 'destination' },
        { label: t('common.error'), key: 'error' },
      ], d.failed_deliveries, { caption: t('dashboard.failed_deliveries'), empty: t('dashboard.no_failed_deliveries'), hideCaption: true })),
    h('section', { class: 'card', 'aria-labelledby': 'dash-audit' },
      h('h2', { id: 'dash-audit', text: t('dashboard.audit_failures') }),
      table([
        { label: t('common.time'), render: (f) => fmtTime(f.at) },
        { label: t('audit.actor'), key: 'actor' },
        { label: t('audit.action'), key: 'action' },
        { label: t('audit.subject'), key: 'subject' },
        { label: t('audit.outcome'), key: 'outcome' },
      ], d.audit_failures, { caption: t('dashboard.audit_failures'), empty: t('dashboard.no_audit_failures'), hideCaption: true }),
      h('p', {}, h('a', { href: '#/audit', text: t('dashboard.open_audit') }))));
}
