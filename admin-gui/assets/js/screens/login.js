// Sign-in: password, then the TOTP code; at first sign-in the TOTP is enrolled from the QR.

import { post, Problem } from '../api.js';
import { h, mount, svgImage } from '../dom.js';
import { form, input, password, values } from '../forms.js';
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
      return 'Signed in.';
    }
    if (answer.status === 'totp_enrolment') return step2(answer);
    if (answer.status === 'otp_required') return step2(null);
    throw new Problem(500, { detail: `unexpected answer ${answer.status}` });
  };

  const problemText = (e) => {
    if (e.code === 'locked') {
      const until = e.body.locked_until;
      return new Problem(e.status, { ...e.body, field: undefined, detail: until ? `This account is locked until ${new Date(until * 1000).toISOString()}.` : 'This account is locked until a system administrator unlocks it.' });
    }
    if (e.code === 'throttled') {
      return new Problem(e.status, { ...e.body, field: undefined, detail: `Too many attempts: wait ${e.body.retry_after || 'a few'} seconds.` });
    }
    return e;
  };

  const step1 = () => {
    const f = form([
      h('h1', { text: 'Sign in' }),
      notice ? h('p', { class: 'notice', role: 'status', text: notice }) : null,
      input('login', 'Login', { autocomplete: 'username', required: true }),
      password('password', 'Password', { autocomplete: 'current-password', required: true }),
    ], {
      submit: 'Continue',
      label: 'Sign in',
      onSubmit: async (fm) => {
        const v = values(fm);
        creds = { login: v.login || '', password: v.password || '' };
        try {
          return await finish(await post('/v1/session', creds, { noRedirect: true }));
        } catch (e) {
          throw problemText(e);
        }
      },
    });
    mount(box, f);
    f.querySelector('input').focus();
  };

  const step2 = (enrolment) => {
    const f = form([
      h('h1', { text: enrolment ? 'Set up your second factor' : 'Second factor' }),
      enrolment ? h('div', { class: 'enrol' },
        h('p', { text: 'Scan this QR code with an authenticator app (or type the secret), then enter the 6-digit code it shows.' }),
        svgImage(enrolment.qr_svg, 'QR code of your TOTP secret'),
        h('p', {}, 'Secret: ', h('code', { class: 'secret', 'data-testid': 'totp-secret', text: enrolment.secret_base32 }))) : null,
      input('otp', 'Authentication code', { autocomplete: 'one-time-code', inputmode: 'numeric', required: true }),
    ], {
      submit: 'Sign in',
      label: 'Second factor',
      buttons: [h('button', { type: 'button', text: 'Start over', on: { click: () => { creds = null; step1(); } } })],
      onSubmit: async (fm) => {
        const { otp } = values(fm);
        try {
          return await finish(await post('/v1/session', { ...creds, otp: otp || '' }, { noRedirect: true }));
        } catch (e) {
          if (e.code === 'invalid_credentials' && !e.field) {
            creds = null;
            step1();
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
