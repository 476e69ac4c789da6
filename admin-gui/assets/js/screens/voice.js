// Voice service: this version sends no code by voice; a voice broker can still be stored
// (PUT /v1/delivery/voice, the SMS broker's shape) for a later version.

import { get, put } from '../api.js';
import { h } from '../dom.js';
import { form, values } from '../forms.js';
import { t } from '../i18n.js';
import { brokerFields } from './sms.js';

export async function render() {
  let doc = null;
  try {
    doc = await get('/v1/delivery/voice');
  } catch (e) {
    if (e.status !== 404) throw e; // 404: nothing stored yet
  }
  const f = form([brokerFields('primary', (doc && doc.primary) || {}, { legend: t('voice.broker') })], {
    submit: t('voice.save'),
    label: t('voice.broker'),
    onSubmit: async (fm) => {
      await put('/v1/delivery/voice', { ...values(fm), broker2: { mode: 'none' } });
      return t('voice.saved');
    },
  });
  return h('div', {}, h('h1', { text: t('nav.voice') }),
    h('div', { class: 'notice warn', role: 'note', id: 'voice-reason', 'data-testid': 'voice-reason' },
      h('p', {}, h('strong', { text: t('voice.disabled_title') }), ' ', t('voice.disabled_text')),
      h('p', { text: doc ? t('voice.stored') : t('voice.not_stored') })),
    f);
}
