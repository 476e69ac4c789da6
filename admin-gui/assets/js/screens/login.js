// Sign-in: password, then the TOTP code; at first sign-in the TOTP is enrolled from the QR.

import { post, Problem } from '../api.js';
import { h, mount, svgImage } from '../dom.js';
import { form, input, password, values } from '../forms.js';
import { t, dateTime } from '../i18n.js';
import { signedIn } from '../app.js';

export async function render(ctx) {
  const box = h('div', { class: 'login' });
  const notice = ctx.notice;
  ctx.notice = null;
  let creds = null; // login + password kept only until the second step succeeds

  const finish = async (answer) => {
    if (answer.status === 'ok') {
      creds = null;
      await signedIn(answer);
      return t('login.signed_in');
    }
    if (answer.status === 'totp_enrolment') return step2(answer);
    if (answer.status === 'otp_required') return step2(null);
    throw new Problem(500, { detail: t('login.unexpected', { status: answer.status }) });
  };

  const problemText = (e) => {
    if (e.code === 'locked') {
      const until = e.body.locked_until;
      return new Problem(e.status, { ...e.body, code: undefined, field: undefined, detail: until ? t('login.locked_until', { at: dateTime(until) }) : t('login.locked') });
    }
    if (e.code === 'throttled') {
      return new Problem(e.status, { ...e.body, code: undefined, field: undefined, detail: t('login.throttled', { n: e.body.retry_after || 0 }) });
    }
    return e;
  };

  // `failed`: why the previous attempt was refused (shown above the form).
  const step1 = (failed) => {
    const f = form([
      h('h1', { text: t('login.title') }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      failed ? h('p', { class: 'problem', role: 'alert', 'data-testid': 'login-failed', text: failed }) : null,
      input('login', t('common.login'), { autocomplete: 'username', required: true }),
      password('password', t('common.password'), { autocomplete: 'current-password', required: true }),
    ], {
      submit: t('login.continue'),
      label: t('login.title'),
      onSubmit: async (fm) => {
        const v = values(fm);
        creds = { login: v.login || '', password: v.password || '' };
        try {
          return await finish(await post('/v1/session', creds, { noRedirect: true }));
        } catch (e) {
          if (e.code === 'invalid_credentials' && !e.field) throw new Problem(e.status, { ...e.body, code: undefined, detail: t('login.wrong') });
          throw problemText(e);
        }
      },
    });
    mount(box, f);
    f.querySelector('input').focus();
  };

  const step2 = (enrolment) => {
    const f = form([
      h('h1', { text: enrolment ? t('login.enrol_title') : t('login.second_factor') }),
      enrolment ? h('div', { class: 'enrol' },
        h('p', { text: t('login.enrol_text') }),
        svgImage(enrolment.qr_svg, t('login.qr_alt')),
        h('p', {}, t('login.secret'), ' ', h('code', { class: 'secret', 'data-testid': 'totp-secret', text: enrolment.secret_base32 }))) : null,
      input('otp', t('login.code'), { autocomplete: 'one-time-code', inputmode: 'numeric', required: true, help: enrolment ? null : t('login.code_help') }),
    ], {
      submit: t('login.sign_in'),
      label: t('login.second_factor'),
      buttons: [h('button', { type: 'button', text: t('login.start_over'), on: { click: () => { creds = null; step1(); } } })],
      onSubmit: async (fm) => {
        const { otp } = values(fm);
        try {
          return await finish(await post('/v1/session', { ...creds, otp: otp || '' }, { noRedirect: true }));
        } catch (e) {
          // Until both factors are right the server answers one 401 for a wrong login,
          // password or code and for a locked account (no oracle): start over.
          if (e.status === 401) {
            creds = null;
            step1(t('login.wrong'));
            return '';
          }
          throw problemText(e);
        }
      },
    });
    mount(box, f);
    f.querySelector('input[data-field=otp]').focus();
    return '';
  };

  step1();
  return box;
}
