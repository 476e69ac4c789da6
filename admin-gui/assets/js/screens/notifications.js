// Mail → Notifications: which events are mailed to which administrators, at most how often
// (sent through the default SMTP account, with its read-confirmation settings), and what
// makes a bounce storm.

import { get, put } from '../api.js';
import { h } from '../dom.js';
import { form, input, textarea, toggle } from '../forms.js';
import { t } from '../i18n.js';

const EVENTS = ['user_locked', 'admin_locked', 'broker_failover', 'brokers_down', 'oauth2_reauthorization', 'bounce_storm'];

export async function notificationsTab() {
  const s = await get('/v1/notifications');
  const boxes = h('fieldset', {}, h('legend', { text: t('notify.events') }),
    EVENTS.map((id) => {
      const box = toggle(`event_${id}`, t(`notify.event_${id}`), s.events.includes(id));
      box.querySelector('input').removeAttribute('data-field');
      box.querySelector('input').dataset.event = id;
      return box;
    }));
  const number = (fm, name) => Number(fm.querySelector(`[name="${name}"]`).value);
  return form([
    h('h2', { text: t('notify.tab') }),
    textarea('recipients', t('notify.recipients'), { value: s.recipients.join('\n'), rows: 3 }),
    boxes,
    input('min_interval_s', t('notify.min_interval'), { type: 'number', value: s.min_interval_s, min: 60, max: 604800 }),
    input('bounce_storm_count', t('notify.storm_count'), { type: 'number', value: s.bounce_storm_count, min: 2, max: 100000 }),
    input('bounce_storm_window_s', t('notify.storm_window'), { type: 'number', value: s.bounce_storm_window_s, min: 60, max: 86400, help: t('notify.storm_help') }),
  ], {
    submit: t('notify.save'),
    label: t('notify.tab'),
    onSubmit: async (fm) => {
      const recipients = fm.querySelector('[name="recipients"]').value.split('\n').map((l) => l.trim()).filter(Boolean);
      const events = [...fm.querySelectorAll('[data-event]')].filter((el) => el.checked).map((el) => el.dataset.event);
      await put('/v1/notifications', {
        recipients,
        events,
        min_interval_s: number(fm, 'min_interval_s'),
        bounce_storm_count: number(fm, 'bounce_storm_count'),
        bounce_storm_window_s: number(fm, 'bounce_storm_window_s'),
      });
      return t('common.saved');
    },
  });
}
