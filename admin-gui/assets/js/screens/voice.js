// Voice service: shown, disabled, with the reason.

import { get } from '../api.js';
import { h } from '../dom.js';
import { brokerFields } from './sms.js';

export async function render() {
  let doc = null;
  let reason = 'Voice calls are not offered by this version of SAE.';
  try {
    doc = await get('/v1/delivery/voice');
    if (doc.service) reason = `The voice service is ${doc.service}.`;
  } catch (e) {
    if (e.status !== 404) throw e;
    reason = `${e.message}.`;
  }
  const fields = brokerFields('primary', (doc && doc.primary) || {}, { legend: 'Voice broker' });
  for (const el of fields.querySelectorAll('input, select, textarea')) el.disabled = true;
  return h('div', {}, h('h1', { text: 'Voice service' }),
    h('p', { class: 'notice warn', role: 'note', 'data-testid': 'voice-reason' }, h('strong', { text: 'Disabled. ' }), reason),
    h('fieldset', { disabled: true, class: 'disabled-service', 'aria-describedby': 'voice-reason' }, fields));
}
