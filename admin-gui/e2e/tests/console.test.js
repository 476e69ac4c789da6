// End-to-end tests of the administration console: a real `sae serve`, real REST and SOAP
// brokers (rest_peer.py, soap_peer.py) and Debian's Chromium. Run with `npm test` (see README.md).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sae, Peer, launchBrowser, newPage, signIn, shot, totp, freshTotp, hotp, base32Decode, confirmDialog } from '../lib/harness.js';

const ADMIN = 'root-admin';
const ADMIN_PW = 'Correct-Horse-9-battery';
const VIEWER = 'helpdesk';
const VIEWER_PW = 'Helpdesk-Pass-42-long';

let sae;
let peer;
let soap;
let oauth;
let smtp;
let smtpRecords;
let browser;
let page; // the System Administrator's page, signed in by the first test
let adminSecret;
let appKey;
let viewerSecret; // the view-only administrator's TOTP secret, enrolled in the ACL test

async function validate(login, code) {
  const r = await fetch(`${sae.base}/v1/otp/validate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Api-Key': appKey },
    body: JSON.stringify({ login, code }),
  });
  return r.json();
}

before(async () => {
  sae = await Sae.start();
  peer = await Peer.start('rest_peer.py');
  soap = await Peer.start('soap_peer.py');
  smtpRecords = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sae-e2e-smtp-')), 'mails.jsonl');
  smtp = await Peer.start('email_smtp_peer.py', ['--auth', 'password', '--user', 'mailer', '--password', 'mail-pass-1', '--records', smtpRecords]);
  oauth = await Peer.start('email_oauth_peer.py', ['--client-id', 'sae-console', '--client-secret', 'console-secret', '--redirect-uri', `${sae.base}/v1/oauth2/callback`]);
  browser = await launchBrowser();
  sae.createAdmin(ADMIN, ADMIN_PW);
});

after(async () => {
  if (browser) await browser.close();
  if (peer) peer.stop();
  if (soap) soap.stop();
  if (oauth) oauth.stop();
  if (smtp) smtp.stop();
  if (sae) sae.stop();
});

describe('administration console', () => {
  test('first sign-in enrols the TOTP from the QR code, then signs in', async () => {
    page = await newPage(browser);
    const resp = await page.goto(`${sae.base}/admin/`);
    const csp = resp.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot(page, '01-login');

    // A wrong password is not told apart at the first step (no password oracle): the code
    // is asked for, and the pair is refused as a whole.
    await page.getByLabel('Login').fill(ADMIN);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Second factor' }).waitFor();
    await page.getByLabel('Authentication code').fill('123456');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-failed').waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await page.getByLabel('Login').fill(ADMIN);
    await page.getByLabel('Password').fill(ADMIN_PW);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Set up your second factor' }).waitFor();
    const qr = page.getByRole('img', { name: 'QR code of your TOTP secret' });
    assert.ok(await qr.isVisible(), 'the enrolment QR code is shown');
    const box = await qr.boundingBox();
    assert.ok(box.width > 100 && box.height > 100, 'the QR code is rendered at a scannable size');
    adminSecret = (await page.getByTestId('totp-secret').textContent()).trim();
    assert.match(adminSecret, /^[A-Z2-7]{16,}$/);
    await shot(page, '02-totp-enrolment');

    // A wrong code starts over too; the same secret is offered until it is confirmed.
    const good = await freshTotp(adminSecret);
    const wrong = String((Number(good) + 1) % 1000000).padStart(6, '0');
    await page.getByLabel('Authentication code').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-failed').waitFor();
    await page.getByLabel('Login').fill(ADMIN);
    await page.getByLabel('Password').fill(ADMIN_PW);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Set up your second factor' }).waitFor();
    assert.equal((await page.getByTestId('totp-secret').textContent()).trim(), adminSecret);

    await page.getByLabel('Authentication code').fill(good);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    assert.match(await page.locator('#who').textContent(), new RegExp(ADMIN));
    await page.goto(`${sae.base}/admin/#/im`);
    await page.getByRole('heading', { name: 'IM configuration' }).waitFor();
    await shot(page, '03-im-configuration');

    // The session cookie is HttpOnly and SameSite=Strict; the page cannot read it.
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'sae_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('sae_session')), false);
  });

  test('lockout configuration is saved and read back', async () => {
    await page.goto(`${sae.base}/admin/#/auth`);
    await page.getByRole('tab', { name: 'Configuration' }).waitFor();
    await page.getByLabel('Lock accounts after failed attempts').check();
    await page.getByLabel('Number of attempts').fill('3');
    await page.getByLabel('Block type').selectOption('temporary');
    await page.getByLabel('Minutes blocked').fill('20');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved: temporary block after 3 failures.').waitFor();
    // An out-of-range value shows the API's message next to its field.
    await page.getByLabel('Number of attempts').fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    const err = page.locator('[data-field-wrap=attempts] .field-error');
    await err.waitFor();
    assert.ok((await err.textContent()).length > 0);
    await shot(page, '04-auth-configuration');

    const stored = await page.evaluate(async () => (await fetch('/v1/config/lockout')).json());
    assert.equal(stored.enabled, true);
    assert.equal(stored.attempts, 3);
    assert.equal(stored.block_type, 'temporary');
    assert.equal(stored.minutes, 20);
    // Reloaded from the server, the form shows the saved values.
    await page.reload();
    await page.getByLabel('Number of attempts').waitFor();
    assert.equal(await page.getByLabel('Number of attempts').inputValue(), '3');
    assert.equal(await page.getByLabel('Minutes blocked').inputValue(), '20');
  });

  test('create a user and enrol a TOTP token (QR visible)', async () => {
    await page.goto(`${sae.base}/admin/#/im`);
    await page.getByLabel('Key name').fill('shop');
    await page.getByLabel('Scope').selectOption('otp');
    await page.getByRole('button', { name: 'Create key' }).click();
    appKey = (await page.getByTestId('new-api-key').textContent()).trim();
    assert.match(appKey, /^sae_/);
    await page.getByRole('cell', { name: 'shop', exact: true }).waitFor();
    assert.equal(await page.getByText(appKey).count(), 1, 'the key is shown once, not in the list');

    await page.goto(`${sae.base}/admin/#/wallets`);
    await page.getByLabel('Name', { exact: true }).fill('retail');
    await page.getByLabel('Description').fill('Retail customers');
    await page.getByRole('button', { name: 'Create wallet' }).click();
    await page.getByRole('cell', { name: 'Retail customers' }).waitFor();
    await shot(page, '05-wallets');

    await page.goto(`${sae.base}/admin/#/users/new`);
    await page.getByLabel('Login').fill('maria');
    await page.getByLabel('Name').fill('Maria Silva');
    await page.getByLabel('E-mail').fill('maria@example.com');
    await page.getByLabel('Mobile phone').fill('+5511912345678');
    await page.getByLabel('Wallet').selectOption('retail');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: 'User maria' }).waitFor();

    await page.getByLabel('Type').selectOption('totp');
    await page.getByRole('button', { name: 'Enrol token' }).click();
    const qr = page.getByRole('img', { name: 'Enrolment QR code of the TOTP token' });
    await qr.waitFor();
    assert.ok(await qr.isVisible());
    const secret = (await page.getByTestId('token-secret').textContent()).trim();
    await shot(page, '06-user-token-enrolment');

    // The enrolled token works: an application key created on the IM screen (shown once)
    // validates a code computed from the secret the page showed.
    const valid = await validate('maria', totp(secret));
    assert.equal(valid.valid, true, JSON.stringify(valid));
    const tokens = await page.evaluate(async () => (await fetch('/v1/users/maria/tokens')).json());
    assert.equal(tokens.items.filter((t) => t.type === 'totp').length, 1);

    // An OPIE paper list opens on its printable page.
    await page.getByLabel('Type').selectOption('opie');
    await page.getByLabel('Paper list size (printable list)').fill('10');
    await page.getByRole('button', { name: 'Enrol token' }).click();
    await page.getByRole('link', { name: 'Open the printable OPIE list' }).click();
    await page.getByRole('heading', { name: 'One-time passwords for maria' }).waitFor();
    assert.equal(await page.locator('.opie-list tbody tr').count(), 10);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#nav').isVisible(), false, 'navigation is not printed');
    await shot(page, '07-opie-print');
    await page.emulateMedia({ media: 'screen' });

    // Paging: 25 more users (made through the API with this session) span two pages.
    await page.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      for (let i = 0; i < 25; i += 1) {
        const r = await fetch('/v1/users', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
          body: JSON.stringify({ login: `bulk-${String(i).padStart(2, '0')}` }),
        });
        if (r.status !== 201) throw new Error(`user ${i}: ${r.status}`);
      }
    });
    await page.goto(`${sae.base}/admin/#/users`);
    await page.getByRole('caption').filter({ hasText: 'Users, page 1' }).waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('caption').filter({ hasText: 'Users, page 2' }).waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 6);
    assert.equal(await page.getByRole('button', { name: 'Next page' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('caption').filter({ hasText: 'Users, page 1' }).waitFor();

    await page.goto(`${sae.base}/admin/#/users`);
    await page.getByLabel('Login, e-mail, document or mobile').fill('mar');
    await page.getByRole('button', { name: 'Search users' }).click();
    await page.getByRole('link', { name: 'maria' }).waitFor();
    await shot(page, '08-users');
  });

  test('REST primary and backup broker, test SMS delivered by the backup', async () => {
    await page.goto(`${sae.base}/admin/#/sms`);
    await page.getByRole('tab', { name: 'Broker', exact: true }).waitFor();
    // The primary answers 500: the backup must deliver.
    const primary = page.locator('fieldset.broker').first();
    await primary.getByLabel('REST').check();
    await primary.getByLabel('URL', { exact: true }).fill(`${peer.base}/none/status-500`);
    await primary.getByLabel('HTTP method').selectOption('POST');
    await primary.getByLabel('Authorization').selectOption('none');
    await primary.getByLabel('Body').fill('{"to": "{phone}", "text": "{message}"}');
    await primary.getByLabel('Timeout (ms)').fill('3000');
    await shot(page, '09-sms-broker');

    await page.getByRole('tab', { name: 'Broker 2' }).click();
    await page.getByLabel('Backup — used when the primary fails').check();
    const backup = page.locator('fieldset.broker').nth(1);
    await backup.getByLabel('REST').check();
    await backup.getByLabel('URL', { exact: true }).fill(`${peer.base}/basic/ok`);
    await backup.getByLabel('Authorization').selectOption('basic');
    await backup.getByLabel('Username').fill('sae');
    await backup.getByLabel('Password').fill('s3cret: pass');
    await backup.getByLabel('Body').fill('{"to": "{phone}", "text": "{message}"}');
    await backup.getByLabel('Headers (JSON object)').fill('{"X-Api-Key": "{secret.API_KEY}"}');
    await backup.getByLabel('Secrets (JSON object)').fill('{"API_KEY": "k-e2e-7&<\\"x"}');
    await backup.getByLabel('Return keys (one per line)').fill('status\ndata.id');
    await backup.getByLabel('Timeout (ms)').fill('3000');
    await shot(page, '10-sms-broker2');
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    await page.getByText('Saved (Broker 2: backup).').waitFor();

    // A bad URL is shown next to the URL field of Broker 2 (its tab is selected).
    await backup.getByLabel('URL', { exact: true }).fill('ftp://example.invalid/');
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    const urlErr = backup.locator('[data-field-wrap="broker2.broker.url"] .field-error');
    await urlErr.waitFor();
    assert.match(await urlErr.textContent(), /http or https/);
    await backup.getByLabel('URL', { exact: true }).fill(`${peer.base}/basic/ok`);

    const stored = await page.evaluate(async () => (await fetch('/v1/delivery/sms')).json());
    assert.equal(stored.primary.kind, 'rest');
    assert.equal(stored.broker2.mode, 'backup');
    assert.equal(stored.broker2.broker.username, 'sae');
    assert.notEqual(stored.broker2.broker.password, 's3cret: pass', 'the secret is not read back');
    assert.deepEqual(stored.broker2.broker.secrets, { API_KEY: null }, 'broker secrets are not read back');
    // Shown again and saved as shown: the secret (null) is kept, so its tag still resolves.
    await page.reload();
    await page.getByRole('tab', { name: 'Broker 2' }).click();
    const secrets = page.locator('fieldset.broker').nth(1).getByLabel('Secrets (JSON object)');
    assert.deepEqual(JSON.parse(await secrets.inputValue()), { API_KEY: null });
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    await page.getByText('Saved (Broker 2: backup).').waitFor();

    // Templates: the SMS size shown is the server's estimate (GET /v1/messages/{id}), never a
    // count made in the browser (which once took {expires_in} for "5" while the SMS carried
    // "5 minutes").
    await page.getByRole('tab', { name: 'Messages' }).click();
    const addTemplate = async (id, text, isDefault) => {
      const tpl = page.getByRole('form', { name: 'Add a template' });
      await tpl.getByLabel('ID').fill(id);
      if (isDefault) await tpl.getByLabel('Default template of its channel').check();
      await tpl.getByLabel('Message', { exact: true }).fill(text);
      await tpl.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByTestId(`sms-size-${id}`).waitFor();
    };
    const templates = [
      ['accented', `Your code is {otp} ${'ã'.repeat(80)}`, false, { encoding: 'ucs2', units: 100, segments: 2 }],
      ['expiry', `Your {app} code is {otp}, valid for {expires_in}. ${'x'.repeat(120)}`, false, null],
      ['short', 'Your code is {otp}', true, { encoding: 'gsm7', units: 19, segments: 1 }],
    ];
    for (const [id, text, isDefault] of templates) await addTemplate(id, text, isDefault);
    for (const [id, , , expected] of templates) {
      const api = await page.evaluate(async (tid) => (await fetch(`/v1/messages/${tid}`)).json(), id);
      if (expected) {
        const { encoding, units, segments } = api.sms;
        assert.deepEqual({ encoding, units, segments }, expected, `the server's estimate of ${id}`);
      }
      const units = api.sms.encoding === 'gsm7' ? 'GSM 7-bit characters' : 'UCS-2 units';
      const segments = api.sms.segments === 1 ? '1 SMS segment' : `${api.sms.segments} SMS segments`;
      assert.equal(await page.getByTestId(`sms-size-${id}`).textContent(),
        `${segments}, ${api.sms.units} ${units}`, `the console shows the server's estimate of ${id}`);
    }
    await page.getByRole('cell', { name: 'Your code is {otp}', exact: true }).waitFor();
    await shot(page, '11-sms-messages');

    await page.getByRole('tab', { name: 'Test' }).click();
    const testForm = page.getByRole('form', { name: 'Send a test SMS' });
    await testForm.getByLabel('Phone').fill('+5511987650000');
    await testForm.getByLabel('Message', { exact: true }).fill('GUI test message');
    await page.getByRole('button', { name: 'Send test SMS' }).click();
    await page.getByTestId('sms-test-outcome').waitFor();
    assert.equal(await page.getByTestId('sms-test-outcome').textContent(), 'Test SMS delivered.');
    const rows = page.locator('.test-result tbody tr');
    assert.equal(await rows.count(), 2, 'two attempts: primary failed, backup delivered');
    assert.match(await rows.nth(0).textContent(), /failed/);
    assert.match(await rows.nth(1).textContent(), /delivered/);
    await shot(page, '12-sms-test');

    const calls = await peer.get('/_calls');
    const delivered = calls.filter((c) => c.path === '/basic/ok' && c.auth_ok && String(c.body).includes('GUI test message'));
    assert.equal(delivered.length, 1, JSON.stringify(calls));
    assert.match(String(delivered[0].body), /5511987650000/);
    assert.equal(delivered[0].headers['x-api-key'], 'k-e2e-7&<"x', 'the kept secret reached the broker');

    // A real OTP request through the outbox: its attempts appear in the delivery report.
    const req = await fetch(`${sae.base}/v1/otp/request`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Api-Key': appKey },
      body: JSON.stringify({ login: 'maria', channel: 'sms' }),
    });
    assert.equal(req.status, 202, await req.text());
    await page.goto(`${sae.base}/admin/#/reports`);
    for (let i = 0; i < 120; i += 1) {
      await page.getByText(/\d+ attempts?\./).waitFor();
      if (await page.locator('svg.chart').count()) break;
      await new Promise((r) => { setTimeout(r, 500); });
      await page.reload();
    }
    await page.locator('svg.chart').first().waitFor();
    const brokers = await page.locator('.broker-report h2').allTextContents();
    assert.ok(brokers.some((b) => /secondary/.test(b)), `the backup broker has a report: ${brokers}`);
    assert.ok(await page.locator('svg.chart path.line.rate').count() >= 1, 'the success-rate line is drawn');
    await shot(page, '13-delivery-reports');
    await page.goto(`${sae.base}/admin/#/voice`);
    await page.getByTestId('voice-reason').waitFor();
    assert.match(await page.getByTestId('voice-reason').textContent(), /does not send codes by voice call/);
    await shot(page, '14-voice');
  });

  test('a bad regular expression in the password policy is shown next to its field', async () => {
    await page.goto(`${sae.base}/admin/#/auth`);
    await page.getByRole('tab', { name: 'Global' }).click();
    await page.getByLabel('Password strength').selectOption('custom');
    await page.getByLabel('Pattern 1 (regular expression)').fill('([a-z]+');
    await page.getByLabel('Message when pattern 1 is not met').fill('needs a lower-case letter');
    await page.getByRole('button', { name: 'Save' }).first().click();
    const err = page.locator('[data-field-wrap="patterns[0].pattern"] .field-error');
    await err.waitFor();
    const apiAnswer = await page.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      const r = await fetch('/v1/policies/global', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
        body: JSON.stringify({ hash: 'argon2id', differ: 0, reset_every: 0, strength: 'custom', patterns: [{ pattern: '([a-z]+', message: 'needs a lower-case letter' }] }),
      });
      return r.json();
    });
    assert.equal(apiAnswer.field, 'patterns[0].pattern');
    assert.equal((await err.textContent()).trim(), apiAnswer.detail, 'the API message is shown verbatim next to the field');
    assert.equal(await page.getByLabel('Pattern 1 (regular expression)').getAttribute('aria-invalid'), 'true');
    await shot(page, '15-auth-global-bad-regex');

    // A valid rule saves, and the password test lists every unmet rule.
    await page.getByLabel('Pattern 1 (regular expression)').fill('[a-z]');
    await page.getByRole('button', { name: 'Add pattern' }).click();
    await page.getByLabel('Pattern 2 (regular expression)').fill('[0-9]');
    await page.getByLabel('Message when pattern 2 is not met').fill('needs a digit');
    await page.getByRole('button', { name: 'Save' }).first().click();
    await page.getByText('Saved.').first().waitFor();
    await page.getByLabel('Password to test').fill('ABC');
    await page.getByRole('button', { name: 'Test password' }).click();
    const unmet = page.getByTestId('pw-unmet');
    await unmet.waitFor();
    const text = await unmet.textContent();
    assert.match(text, /needs a lower-case letter/);
    assert.match(text, /needs a digit/);
    await shot(page, '16-auth-password-test');
    // Back to no rule, so later passwords are not constrained.
    await page.getByLabel('Password strength').selectOption('off');
    await page.getByRole('button', { name: 'Save' }).first().click();
    await page.getByText('Saved.').first().waitFor();
  });

  test('a view-only ACL group cannot edit a user\'s mobile', async () => {
    await page.goto(`${sae.base}/admin/#/acl`);
    await page.getByLabel('Group name').fill('Helpdesk');
    await page.getByLabel('May modify (create, update, delete)').check();
    const users = page.locator('fieldset.acl-matrix').first();
    for (const f of ['Login', 'Name', 'Status (disable, unlock)']) await users.getByLabel(f, { exact: true }).selectOption('view');
    await users.getByLabel('E-mail', { exact: true }).selectOption('edit');
    await users.getByLabel('Mobile phone', { exact: true }).selectOption('view');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('cell', { name: 'Helpdesk', exact: true }).waitFor();
    await shot(page, '17-acls');

    await page.goto(`${sae.base}/admin/#/admins`);
    const create = page.getByRole('form', { name: 'New administrator' });
    await create.getByLabel('Login').fill(VIEWER);
    await create.getByLabel('Password').fill(VIEWER_PW);
    await create.getByLabel('Group').selectOption('Helpdesk');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.getByRole('cell', { name: VIEWER, exact: true }).waitFor();
    await shot(page, '18-administrators');

    const viewer = await newPage(browser);
    viewerSecret = await signIn(viewer, sae.base, VIEWER, VIEWER_PW);
    await viewer.getByRole('heading', { name: 'Users' }).waitFor();
    // Only users and wallets are reachable for this group.
    const nav = await viewer.locator('#nav').textContent();
    assert.doesNotMatch(nav, /SMS service|Administrators|ACLs/);
    await viewer.goto(`${sae.base}/admin/#/users/maria`);
    await viewer.getByRole('heading', { name: 'User maria' }).waitFor();
    const mobile = viewer.getByLabel('Mobile phone');
    assert.equal(await mobile.inputValue(), '+5511912345678');
    assert.equal(await mobile.isEditable(), false, 'mobile is read-only for a view-only field');
    assert.equal(await viewer.getByLabel('E-mail').isEditable(), true, 'e-mail is editable for this group');
    assert.equal(await viewer.getByLabel('Document').count(), 0, 'a field with no access is not shown');
    await shot(viewer, '19-user-view-only-mobile');

    // The server refuses the change too: the UI is not the only guard.
    const refused = await viewer.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      const r = await fetch('/v1/users/maria', {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
        body: JSON.stringify({ mobile: '+5511900000000' }),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.field, 'mobile');
    // Saving what the group may edit works.
    await viewer.getByLabel('E-mail').fill('maria.silva@example.com');
    await viewer.getByRole('button', { name: 'Save' }).first().click();
    await viewer.getByText('Saved.').first().waitFor();
    const after = await page.evaluate(async () => (await fetch('/v1/users/maria')).json());
    assert.equal(after.mobile, '+5511912345678');
    assert.equal(after.email, 'maria.silva@example.com');
    // A screen the group may not use is refused.
    await viewer.goto(`${sae.base}/admin/#/sms`);
    await viewer.getByRole('heading', { name: 'Not allowed' }).waitFor();
    assert.deepEqual(viewer.problems, []);
    await viewer.context().close();
  });

  test('AuthSys editor: add an AuthSys with a claim and a value, save, reload; a bad value is shown next to its field', async () => {
    await page.goto(`${sae.base}/admin/#/users/maria`);
    await page.getByRole('heading', { name: 'User maria' }).waitFor();
    const editor = page.getByRole('form', { name: 'AuthSys' });
    await editor.getByText('No AuthSys.').waitFor();
    await editor.getByRole('button', { name: 'Add AuthSys' }).click();
    // The new row's first input gets the focus (keyboard users type straight away).
    assert.equal(await page.evaluate(() => document.activeElement.dataset.field), '[0].authsys');
    await page.keyboard.type('vpn');
    await editor.getByRole('button', { name: 'Add claim to AuthSys 1' }).click();
    await editor.getByLabel('Claim 1.1 name').fill('device');
    // Keyboard only: focus the "Add value" button and press Enter.
    await editor.getByRole('button', { name: 'Add value to claim 1.1' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.field), '[0].claims[0].values[0].key');
    await page.keyboard.type('serial');
    await page.keyboard.press('Tab');
    await page.keyboard.type('X1-s3cret');
    const content = editor.getByLabel('Value 1.1.1 content', { exact: true });
    assert.equal(await content.getAttribute('type'), 'password', 'a content is masked');
    await editor.getByRole('button', { name: 'Save AuthSys' }).click();
    await editor.getByText('Saved.').waitFor();
    const stored = await page.evaluate(async () => (await fetch('/v1/users/maria/authsys')).json());
    assert.deepEqual(stored, [{ authsys: 'vpn', claims: [{ claim: 'device', values: [{ key: 'serial', content: 'X1-s3cret' }] }] }]);

    await page.reload();
    await page.getByRole('heading', { name: 'User maria' }).waitFor();
    assert.equal(await editor.getByLabel('AuthSys 1 name').inputValue(), 'vpn');
    assert.equal(await editor.getByLabel('Claim 1.1 name').inputValue(), 'device');
    assert.equal(await editor.getByLabel('Value 1.1.1 key').inputValue(), 'serial');
    assert.equal(await content.getAttribute('type'), 'password', 'still masked after a reload');
    assert.equal(await content.inputValue(), 'X1-s3cret');
    await editor.getByRole('button', { name: 'Show value 1.1.1 content' }).click();
    assert.equal(await content.getAttribute('type'), 'text', 'Show reveals the content');
    await editor.getByRole('button', { name: 'Hide value 1.1.1 content' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Hide value 1.1.1 content', 'the focus stays on the toggle');
    await shot(page, '29-user-authsys');

    // A second value with the same key: the API's message is shown under that key.
    await editor.getByRole('button', { name: 'Add value to claim 1.1' }).click();
    await editor.getByLabel('Value 1.1.2 key').fill('serial');
    await editor.getByLabel('Value 1.1.2 content', { exact: true }).fill('other');
    await editor.getByRole('button', { name: 'Save AuthSys' }).click();
    const keyErr = editor.locator('[data-field-wrap="[0].claims[0].values[1].key"] .field-error');
    await keyErr.waitFor();
    assert.match(await keyErr.textContent(), /more than once/);
    assert.equal(await editor.getByLabel('Value 1.1.2 key').getAttribute('aria-invalid'), 'true');
    assert.equal(await editor.locator('.field-error:not([hidden])').count(), 1, 'only that field shows the error');
    await shot(page, '30-user-authsys-error');
    // An empty claim name: its own message, under the claim.
    await editor.getByRole('button', { name: 'Remove value 1.1.2' }).click();
    await editor.getByRole('button', { name: 'Add claim to AuthSys 1' }).click();
    await editor.getByRole('button', { name: 'Save AuthSys' }).click();
    const claimErr = editor.locator('[data-field-wrap="[0].claims[1].claim"] .field-error');
    await claimErr.waitFor();
    assert.match(await claimErr.textContent(), /At least 1 character/);
    await editor.getByRole('button', { name: 'Remove claim 1.2' }).click();
    await editor.getByRole('button', { name: 'Save AuthSys' }).click();
    await editor.getByText('Saved.').waitFor();
    const after = await page.evaluate(async () => (await fetch('/v1/users/maria/authsys')).json());
    assert.deepEqual(after, stored);
    assert.deepEqual(page.problems, []);
  });

  test('a group that may only view AuthSys sees them read-only, masked, with nothing to add, remove or save', async () => {
    // Give the Helpdesk group (from the ACL test) view access to AuthSys, through the console.
    await page.goto(`${sae.base}/admin/#/acl`);
    await page.getByRole('button', { name: 'Edit Helpdesk' }).click();
    const group = page.getByRole('form', { name: 'Group Helpdesk' });
    await group.getByRole('heading', { name: 'Group Helpdesk' }).waitFor();
    await group.locator('fieldset.acl-matrix').first().getByLabel('AuthSys, claims and values', { exact: true }).selectOption('view');
    await group.getByRole('button', { name: 'Save group' }).click();
    await page.getByText('Group Helpdesk saved.').waitFor();
    const groups = await page.evaluate(async () => (await fetch('/v1/admin-groups')).json());
    assert.equal(groups.items.find((g) => g.name === 'Helpdesk').users.authsys, 'view');

    const viewer = await newPage(browser);
    await signIn(viewer, sae.base, VIEWER, VIEWER_PW, viewerSecret);
    await viewer.goto(`${sae.base}/admin/#/users/maria`);
    await viewer.getByRole('heading', { name: 'User maria' }).waitFor();
    const editor = viewer.getByRole('form', { name: 'AuthSys' });
    const name = editor.getByLabel('AuthSys 1 name');
    await name.waitFor();
    assert.equal(await name.inputValue(), 'vpn');
    assert.equal(await name.isEditable(), false, 'the AuthSys name is read-only');
    assert.equal(await editor.getByLabel('Claim 1.1 name').isEditable(), false);
    assert.equal(await editor.getByLabel('Value 1.1.1 key').isEditable(), false);
    const content = editor.getByLabel('Value 1.1.1 content', { exact: true });
    assert.equal(await content.getAttribute('type'), 'password', 'a content stays masked for viewers');
    assert.equal(await content.isEditable(), false);
    for (const b of ['Add AuthSys', 'Add claim to AuthSys 1', 'Add value to claim 1.1', 'Remove AuthSys 1', 'Remove value 1.1.1', 'Save AuthSys']) {
      assert.equal(await editor.getByRole('button', { name: b }).count(), 0, `no "${b}" button for a view-only group`);
    }
    // Viewing is what the group may do: Show still reveals a content.
    await editor.getByRole('button', { name: 'Show value 1.1.1 content' }).click();
    assert.equal(await content.getAttribute('type'), 'text');
    await shot(viewer, '31-user-authsys-view-only');

    // The server refuses a change too.
    const refused = await viewer.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      const r = await fetch('/v1/users/maria/authsys', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
        body: JSON.stringify([]),
      });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.field, 'authsys');
    const still = await page.evaluate(async () => (await fetch('/v1/users/maria/authsys')).json());
    assert.equal(still.length, 1, 'nothing was removed');
    assert.deepEqual(viewer.problems, []);
    await viewer.context().close();
  });

  test('SOAP broker (basic, then advanced) as the primary: the test SMS reaches the SOAP peer', async () => {
    const sendTest = async (phone, text) => {
      await page.getByRole('tab', { name: 'Test' }).click();
      const testForm = page.getByRole('form', { name: 'Send a test SMS' });
      await testForm.getByLabel('Phone').fill(phone);
      await testForm.getByLabel('Message', { exact: true }).fill(text);
      await testForm.getByRole('button', { name: 'Send test SMS' }).click();
      await testForm.getByText(/Test SMS (delivered|failed)\./).waitFor();
      const rows = page.locator('.test-result tbody tr');
      assert.equal(await page.getByTestId('sms-test-outcome').textContent(), 'Test SMS delivered.', await page.locator('.test-result').textContent());
      assert.equal(await rows.count(), 1, 'one attempt: the primary delivered');
      assert.match(await rows.nth(0).textContent(), /primary/);
      assert.match(await rows.nth(0).textContent(), /delivered/);
    };
    await page.goto(`${sae.base}/admin/#/sms`);
    await page.getByRole('tab', { name: 'Broker', exact: true }).waitFor();
    const primary = page.locator('fieldset.broker').first();
    await primary.getByLabel('SOAP', { exact: true }).check();
    // Behind HTTP Digest: options.login / options.password, shown in basic mode too.
    await primary.getByLabel('WSDL URL').fill(`${soap.base}/digest/soap11?wsdl`);
    await primary.getByLabel('Basic', { exact: true }).check();
    await primary.getByLabel('Options (JSON object)').fill('{"login": "sae", "password": "s3cret: pass"}');
    // The peer's WSDL has two operations: basic mode needs the operation too.
    await primary.getByLabel('SOAP call (operation)').fill('SendSms');
    await primary.getByLabel('Message', { exact: true }).fill('SAE: {message}');
    await primary.getByLabel('Advanced configuration: variables (JSON object)').fill('{"phone": "{phone}", "message": "{message}"}');
    await primary.getByLabel('Response keys (one per line)').fill('SendSmsResult');
    await primary.getByLabel('Timeout (ms)').fill('5000');
    assert.equal(await primary.getByLabel('Request (JSON object)').isVisible(), false, 'advanced fields are hidden in basic mode');
    await page.getByRole('tab', { name: 'Broker 2' }).click();
    await page.getByLabel('None', { exact: true }).check();
    await page.getByRole('tab', { name: 'Broker', exact: true }).click();
    await shot(page, '31-sms-soap-basic');
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    await page.getByText('Saved (Broker 2: none).').waitFor();
    let stored = await page.evaluate(async () => (await fetch('/v1/delivery/sms')).json());
    assert.equal(stored.primary.kind, 'soap');
    assert.equal(stored.primary.soap_type, 'basic');
    assert.equal(stored.primary.call, 'SendSms');
    assert.deepEqual(stored.primary.variables, { phone: '{phone}', message: '{message}' });
    assert.deepEqual(stored.primary.options, { login: 'sae', password: null }, 'the password is not read back');
    await sendTest('+5511987650001', 'SOAP basic test');
    let calls = (await soap.get('/_calls')).filter((c) => c.operation === 'SendSms');
    assert.equal(calls.length, 1, JSON.stringify(calls));
    assert.equal(calls[0].version, '1.1');
    assert.match(calls[0].params.phone, /5511987650001/);
    assert.equal(calls[0].params.message, 'SAE: SOAP basic test');
    assert.equal(calls[0].params.path, '/digest/soap11', 'logged in with Digest');

    // Advanced: SOAP 1.2 through the options, the request described in JSON. (A reload:
    // the screen is drawn afresh from the stored configuration.)
    await page.reload();
    await page.getByRole('tab', { name: 'Broker', exact: true }).waitFor();
    assert.equal(await primary.getByLabel('WSDL URL').inputValue(), `${soap.base}/digest/soap11?wsdl`, 'the saved SOAP broker is shown');
    await primary.getByLabel('WSDL URL').fill(`${soap.base}/soap12?wsdl`);
    await primary.getByLabel('Advanced (recommended)').check();
    await primary.getByLabel('Options (JSON object)').fill('{"soap_version": "1.2"}');
    await primary.getByLabel('Request (JSON object)').fill('{"sender": "SAE", "phone": "{phone}", "message": "{message}"}');
    await primary.getByLabel('Check the answer on every call').check();
    assert.equal(await primary.getByLabel('Advanced configuration: variables (JSON object)').isVisible(), false);
    // A bad option is shown next to the options field.
    await primary.getByLabel('Options (JSON object)').fill('{"soap_version": "3"}');
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    const optErr = primary.locator('[data-field-wrap="primary.options"] .field-error');
    await optErr.waitFor();
    assert.match(await optErr.textContent(), /1\.1 or 1\.2/);
    await shot(page, '32-sms-soap-advanced-error');
    await primary.getByLabel('Options (JSON object)').fill('{"soap_version": "1.2"}');
    await page.getByRole('button', { name: 'Save SMS configuration' }).click();
    await page.getByText('Saved (Broker 2: none).').waitFor();
    stored = await page.evaluate(async () => (await fetch('/v1/delivery/sms')).json());
    assert.equal(stored.primary.soap_type, 'advanced');
    assert.equal(stored.primary.variables, undefined);
    await sendTest('+5511987650002', 'SOAP advanced test');
    await shot(page, '33-sms-soap-test');
    calls = (await soap.get('/_calls')).filter((c) => c.operation === 'SendSms');
    assert.equal(calls.length, 2, JSON.stringify(calls));
    assert.equal(calls[1].version, '1.2');
    assert.match(calls[1].params.phone, /5511987650002/);
    assert.equal(calls[1].params.message, 'SOAP advanced test');
    assert.equal(calls[1].params.sender, 'SAE');
    assert.deepEqual(page.problems, []);
  });

  test('user unlock, device enrolment (TOTP, HOTP, shared secret) and wallet editing', async () => {
    // An application key made for this test.
    await page.goto(`${sae.base}/admin/#/im`);
    await page.getByLabel('Key name').fill('locker');
    await page.getByLabel('Scope').selectOption('otp');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-api-key').textContent()).trim();
    const check = async (login, code) => {
      const r = await fetch(`${sae.base}/v1/otp/validate`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Api-Key': key },
        body: JSON.stringify({ login, code }),
      });
      return { status: r.status, body: await r.json() };
    };
    // A user with a TOTP token (made through the API with this session).
    const secret = await page.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      const hdr = { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token };
      let r = await fetch('/v1/users', { method: 'POST', headers: hdr, body: JSON.stringify({ login: 'joao', name: 'João' }) });
      if (r.status !== 201) throw new Error(`user: ${r.status}`);
      r = await fetch('/v1/users/joao/tokens', { method: 'POST', headers: hdr, body: JSON.stringify({ type: 'totp' }) });
      if (r.status !== 201) throw new Error(`token: ${r.status}`);
      return (await r.json()).secret_base32;
    });
    // A code that is wrong for every step the server might accept.
    const near = new Set([-4, -3, -2, -1, 0, 1, 2].map((d) => totp(secret, { at: Date.now() + d * 30000 })));
    let wrong = 0;
    while (near.has(String(wrong).padStart(6, '0'))) wrong += 1;
    const wrongCode = String(wrong).padStart(6, '0');
    // The lockout configuration (3 attempts, temporary) locks the user at the third failure.
    for (let i = 0; i < 3; i += 1) {
      const r = await check('joao', wrongCode);
      assert.notEqual(r.body.valid, true, JSON.stringify(r));
    }
    await page.goto(`${sae.base}/admin/#/users/joao`);
    await page.getByRole('heading', { name: 'User joao' }).waitFor();
    const details = page.getByRole('form', { name: 'Details' });
    assert.equal(await details.locator('output').filter({ hasText: /^(locked|active|disabled)$/ }).textContent(), 'locked');
    const stillLocked = await check('joao', await freshTotp(secret));
    assert.notEqual(stillLocked.body.valid, true, `a locked user's right code is refused: ${JSON.stringify(stillLocked)}`);
    await shot(page, '34-user-locked');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('joao unlocked.').waitFor();
    await page.getByRole('button', { name: 'Unlock' }).waitFor({ state: 'detached' });
    assert.equal(await details.locator('output').filter({ hasText: /^(locked|active|disabled)$/ }).textContent(), 'active');
    const user = await page.evaluate(async () => (await fetch('/v1/users/joao')).json());
    assert.equal(user.status, 'active');
    await shot(page, '35-user-unlocked');
    const ok = await check('joao', await freshTotp(secret));
    assert.equal(ok.body.valid, true, JSON.stringify(ok));

    // Device enrolment on the user screen: the device's own token, with its QR code.
    const devices = page.getByRole('form', { name: 'Add a device' });
    await devices.getByLabel('Device name').fill('tablet');
    await devices.getByLabel('Device token (TOTP or HOTP)').selectOption('totp');
    await devices.getByRole('button', { name: 'Add a device' }).click();
    await page.getByRole('cell', { name: 'tablet', exact: true }).waitFor();
    const qr = page.getByRole('img', { name: 'Enrolment QR code of the TOTP token' });
    await qr.waitFor();
    assert.ok(await qr.isVisible());
    const deviceSecret = (await page.getByTestId('token-secret').textContent()).trim();
    assert.notEqual(deviceSecret, secret, 'the device has its own secret');
    await shot(page, '36-user-device-enrolment');
    const deviceOk = await check('joao', await freshTotp(deviceSecret));
    assert.equal(deviceOk.body.valid, true, `the device's code is accepted: ${JSON.stringify(deviceOk)}`);
    const listed = await page.evaluate(async () => (await fetch('/v1/users/joao/devices')).json());
    assert.deepEqual(listed.items.map((d) => d.name), ['tablet']);
    // The same name again: the API's message next to the name.
    await devices.getByLabel('Device name').fill('tablet');
    await devices.getByRole('button', { name: 'Add a device' }).click();
    const nameErr = devices.locator('[data-field-wrap=name] .field-error');
    await nameErr.waitFor();
    assert.match(await nameErr.textContent(), /tablet/);

    // An HOTP device: its own event-based token; its first code is accepted once.
    await devices.getByLabel('Device name').fill('keyfob');
    await devices.getByLabel('Device token (TOTP or HOTP)').selectOption('hotp');
    await devices.getByRole('button', { name: 'Add a device' }).click();
    await page.getByRole('cell', { name: 'keyfob', exact: true }).waitFor();
    await page.getByRole('img', { name: 'Enrolment QR code of the hotp token' }).waitFor();
    assert.match(await page.locator('.uri code').textContent(), /^otpauth:\/\/hotp\/.*counter=0/);
    const fobSecret = (await page.getByTestId('token-secret').textContent()).trim();
    assert.ok(![secret, deviceSecret].includes(fobSecret), 'the HOTP device has its own secret');
    const fobCode = hotp(base32Decode(fobSecret), 0);
    const fobOk = await check('joao', fobCode);
    assert.equal(fobOk.body.valid, true, `the HOTP device's first code is accepted: ${JSON.stringify(fobOk)}`);
    assert.equal((await check('joao', fobCode)).body.valid, false, 'an HOTP code is accepted once');
    await shot(page, '38-user-device-hotp');

    // Shared secret: with "Devices use the same secret key as the principal token" on, a new
    // device gets no token of its own; it is set up with the principal's secret.
    await page.goto(`${sae.base}/admin/#/im`);
    const im = page.getByRole('form', { name: 'IM configuration' });
    await im.getByLabel('Devices use the same secret key as the principal token').check();
    await im.getByRole('button', { name: 'Save' }).click();
    await im.getByText(/^Saved \(token window/).waitFor();
    await page.goto(`${sae.base}/admin/#/users/joao`);
    await page.getByRole('heading', { name: 'User joao' }).waitFor();
    await devices.getByLabel('Device name').fill('laptop');
    await devices.getByRole('button', { name: 'Add a device' }).click();
    await page.getByText(/The device shares the principal token/).waitFor();
    // Setting the device up needs the principal's secret: shown for this enrolment, with its QR.
    assert.equal((await page.getByTestId('token-secret').textContent()).trim(), secret, 'the principal secret is shown for the new device');
    await page.getByRole('img', { name: 'Enrolment QR code of the totp token' }).waitFor();
    const laptopRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'laptop', exact: true }) });
    assert.match(await laptopRow.textContent(), /yes/, 'the list says the device shares the principal secret');
    const all = await page.evaluate(async () => (await fetch('/v1/users/joao/devices')).json());
    const laptop = all.items.find((d) => d.name === 'laptop');
    assert.equal(laptop.shares_principal, true);
    assert.ok(all.items.filter((d) => d.name !== 'laptop').every((d) => !d.shares_principal && d.token_id !== laptop.token_id));
    await shot(page, '39-user-device-shared');
    const sharedOk = await check('joao', await freshTotp(secret));
    assert.equal(sharedOk.body.valid, true, JSON.stringify(sharedOk));
    // Back to the recommended setting for the tests that follow.
    await page.goto(`${sae.base}/admin/#/im`);
    await im.getByLabel('Devices use the same secret key as the principal token').uncheck();
    await im.getByRole('button', { name: 'Save' }).click();
    await im.getByText(/^Saved \(token window/).waitFor();
    const imCfg = await page.evaluate(async () => (await fetch('/v1/config/im')).json());
    assert.equal(imCfg.device_secret_same_as_principal, false);

    // Wallet editing: rename and describe; the users follow the wallet.
    await page.goto(`${sae.base}/admin/#/wallets`);
    await page.getByRole('button', { name: 'Open retail' }).click();
    const edit = page.getByRole('form', { name: 'Edit wallet' });
    assert.equal(await edit.getByLabel('Wallet name').inputValue(), 'retail');
    await edit.getByLabel('Wallet name').fill('retail-br');
    await edit.getByLabel('Description').fill('Retail customers in Brazil');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.getByText('Saved.').waitFor();
    await page.getByRole('cell', { name: 'Retail customers in Brazil' }).waitFor();
    await edit.getByRole('heading', { name: 'Wallet retail-br' }).waitFor();
    assert.equal(await page.getByRole('cell', { name: 'retail', exact: true }).count(), 0, 'the old name is gone');
    await shot(page, '37-wallet-edit');
    const maria = await page.evaluate(async () => (await fetch('/v1/users/maria')).json());
    assert.equal(maria.wallet, 'retail-br');
    // An empty name is refused next to the field.
    await edit.getByLabel('Wallet name').fill('');
    await edit.getByRole('button', { name: 'Save' }).click();
    const wErr = edit.locator('[data-field-wrap=name] .field-error');
    await wErr.waitFor();
    assert.ok((await wErr.textContent()).length > 0);
    assert.deepEqual(page.problems, []);
  });

  test('the other screens: token window risk, AuthSys order, MFA, mail (SMTP test, OAuth2 renewal), audit, API key revocation, administrator lockout, phone layout, logout', async () => {
    for (const [route, heading, name] of [
      ['/mail', 'Mail', '20-mail'],
      ['/audit', 'Audit log', '21-audit'],
      ['/im', 'IM configuration', '22-im'],
    ]) {
      await page.goto(`${sae.base}/admin/#${route}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await shot(page, name);
    }
    // SMTP account with "test configuration" against a real SMTP server.
    await page.goto(`${sae.base}/admin/#/mail`);
    const acc = page.getByRole('form', { name: 'New SMTP account' });
    await acc.getByLabel('Name', { exact: true }).fill('local');
    await acc.getByLabel('Sender (From)').fill('sae@example.com');
    await acc.getByLabel('SMTP host').fill('127.0.0.1');
    await acc.getByLabel('Port').fill(String(smtp.port));
    await acc.getByLabel('Security').selectOption('none');
    await acc.getByLabel('Authentication').selectOption('password');
    await acc.getByLabel('Username (mailbox)').fill('mailer');
    await acc.getByLabel('Password', { exact: true }).fill('mail-pass-1');
    // A footer switched on without its text: the API's message is shown at the text.
    await acc.getByLabel('Enable footer').check();
    await acc.getByRole('button', { name: 'Create account' }).click();
    const footerErr = acc.locator('[data-field-wrap=footer_text] .field-error');
    await footerErr.waitFor();
    assert.match(await footerErr.textContent(), /required/i);
    await acc.getByLabel('Footer text').fill('Example Corp\nThis mailbox is not monitored.');
    await acc.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('cell', { name: 'sae@example.com' }).waitFor();
    const mailTest = page.getByRole('form', { name: 'Test configuration' });
    await mailTest.getByLabel('Send a test message to').fill('ops@example.com');
    await mailTest.getByRole('button', { name: 'Send test e-mail' }).click();
    await page.getByTestId('smtp-test-outcome').waitFor();
    assert.equal(await page.getByTestId('smtp-test-outcome').textContent(), 'The test message was accepted by the server.');
    const mails = fs.readFileSync(smtpRecords, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(mails.some((m) => m.rcpt_tos.includes('ops@example.com') && m.auth_user === 'mailer'), JSON.stringify(mails));
    const testMail = mails.find((m) => m.rcpt_tos.includes('ops@example.com'));
    assert.match(testMail.body, /\n-- \r?\nExample Corp\r?\nThis mailbox is not monitored\.\s*$/, 'the footer ends the mail');
    await shot(page, '20-mail-smtp');

    // OAuth2: a preset fills the form; "renew authorization" opens the provider (a local,
    // auto-approving one) and the profile shows the new token when it returns.
    await page.goto(`${sae.base}/admin/#/mail`);
    await page.getByRole('tab', { name: 'OAuth2 profiles' }).click();
    const prof = page.getByRole('form', { name: 'New OAuth2 profile' });
    await prof.getByRole('button', { name: 'Copy Google (authorization code)' }).click();
    assert.equal(await prof.getByLabel('Token URL').inputValue(), 'https://oauth2.googleapis.com/token');
    assert.equal(await prof.getByLabel('Scope').inputValue(), 'https://mail.google.com/');
    await prof.getByLabel('Name', { exact: true }).fill('local');
    await prof.getByLabel('Authorization URL').fill(`${oauth.base}/authorize`);
    await prof.getByLabel('Token URL').fill(`${oauth.base}/token`);
    await prof.getByLabel('Client ID').fill('sae-console');
    await prof.getByLabel('Client secret', { exact: true }).fill('console-secret');
    await prof.getByLabel('Scope').fill('smtp');
    await prof.getByRole('button', { name: 'Create profile' }).click();
    const card = page.locator('section.profile').filter({ hasText: 'local' });
    await card.waitFor();
    assert.match(await card.locator('dl.status').textContent(), /TokenNone/);
    const [provider] = await Promise.all([
      page.context().waitForEvent('page'),
      card.getByRole('button', { name: 'Renew authorization' }).click(),
    ]);
    await provider.getByRole('heading', { name: 'Authorization complete' }).waitFor();
    await provider.close();
    await page.getByText('Authorization renewed.').waitFor({ timeout: 30000 });
    // The list is re-read after the notice: wait for the redrawn status.
    const renewed = page.locator('section.profile').filter({ hasText: 'local' }).locator('dl.status').filter({ hasText: 'Tokenpresent' });
    await renewed.waitFor();
    assert.match(await renewed.textContent(), /Tokenpresent/);
    assert.match(await renewed.textContent(), /Validyes/);
    await shot(page, '23-mail-oauth2');
    await page.goto(`${sae.base}/admin/#/audit`);
    await page.getByLabel('Action').fill('config.lockout.update');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'config.lockout.update' }).first().waitFor();
    // Token window: 3 or more shows the risk warning and needs explicit acceptance.
    await page.goto(`${sae.base}/admin/#/im`);
    const imForm = page.getByRole('form', { name: 'IM configuration' });
    await imForm.getByLabel('Token window (codes accepted)').selectOption('3');
    assert.equal(await page.locator('#risk-text').isVisible(), true, 'the risk warning is shown');
    await imForm.getByRole('button', { name: 'Save' }).click();
    const riskErr = imForm.locator('[data-field-wrap=token_window] .field-error:not([hidden]), [data-field-wrap=accept_risk] .field-error:not([hidden])');
    await riskErr.first().waitFor();
    assert.match(await riskErr.first().textContent(), /accept the risk/);
    await imForm.getByLabel('I have read this warning and accept the risk').check();
    await imForm.getByLabel('Mobile phone unique per user').check();
    await imForm.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved (token window 3).').waitFor();
    const im = await page.evaluate(async () => (await fetch('/v1/config/im')).json());
    assert.equal(im.token_window, 3);
    assert.equal(im.accept_risk, true);
    assert.equal(im.unique_mobile, true);
    await shot(page, '25-im-token-window-risk');

    // AuthSys: two rules, reordered with the arrow buttons; MFA: one rule.
    await page.goto(`${sae.base}/admin/#/auth`);
    await page.getByRole('tab', { name: 'AuthSys' }).click();
    for (const id of ['vpn', 'erp']) {
      const add = page.getByRole('form', { name: 'AuthSys rule' });
      await add.getByLabel('AuthSys ID').fill(id);
      await add.getByLabel('Password differ (previous passwords refused)').fill('2');
      await add.getByRole('button', { name: 'Add a rule' }).click();
      await page.getByRole('cell', { name: id, exact: true }).waitFor();
    }
    await page.getByRole('button', { name: 'Move erp up' }).click();
    await page.getByRole('button', { name: 'Move vpn up' }).waitFor();
    const enabled = page.getByRole('form', { name: 'AuthSys rules enabled (first match wins)' });
    await enabled.getByLabel('AuthSys rules enabled (first match wins)').check();
    await enabled.getByRole('button', { name: 'Save' }).click();
    await enabled.getByText('Saved.').waitFor();
    const authsys = await page.evaluate(async () => (await fetch('/v1/policies/authsys')).json());
    assert.deepEqual(authsys.rules.map((r) => r.authsys_id), ['erp', 'vpn']);
    assert.equal(authsys.enabled, true);
    await shot(page, '26-auth-authsys');
    await page.getByRole('tab', { name: 'MFA' }).click();
    const mfa = page.getByRole('form', { name: 'MFA rule' });
    await mfa.getByLabel('MFA ID').fill('7');
    await mfa.getByLabel('AuthSys').fill('vpn');
    await mfa.getByLabel('AuthClaim').fill('device');
    await mfa.getByLabel('Position').fill('2');
    await mfa.getByRole('button', { name: 'Add a rule' }).click();
    await page.getByRole('cell', { name: 'device', exact: true }).waitFor();
    await shot(page, '27-auth-mfa');

    // Revoking the application key stops it at once.
    await page.goto(`${sae.base}/admin/#/im`);
    await page.getByRole('button', { name: 'Revoke shop' }).click();
    await confirmDialog(page, 'shop');
    await page.getByRole('cell', { name: /^revoked/ }).first().waitFor();
    const revoked = await fetch(`${sae.base}/v1/otp/validate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Api-Key': appKey },
      body: JSON.stringify({ login: 'maria', code: '000000' }),
    });
    assert.equal(revoked.status, 401);
    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.reload();
    await page.getByRole('heading', { name: 'IM configuration' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');

    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${sae.base}/admin/#/users/maria`);
    await phone.getByRole('heading', { name: 'User maria' }).waitFor();
    assert.equal(await phone.locator('#nav').isVisible(), false, 'the menu is collapsed on a phone');
    await phone.getByRole('button', { name: 'Menu' }).click();
    assert.equal(await phone.locator('#nav').isVisible(), true);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390 + 1, `no horizontal scrolling on a phone (${width}px)`);
    await shot(phone, '24-phone-user');
    await phone.close();

    // Administrators have their own lockout (temporary only): 3 attempts here. Until both
    // factors are right every failure looks alike, so a locked account gives nothing away;
    // a System Administrator unlocks it on the Administrators screen.
    const saved = await page.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      const r = await fetch('/v1/config/admin-lockout', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
        body: JSON.stringify({ attempts: 3, minutes: 15 }),
      });
      return r.status;
    });
    assert.equal(saved, 200);
    const intruder = await newPage(browser);
    await intruder.goto(`${sae.base}/admin/`);
    const attempt = async (pw, code) => {
      await intruder.getByLabel('Login').fill(VIEWER);
      await intruder.getByLabel('Password').fill(pw);
      await intruder.getByRole('button', { name: 'Continue' }).click();
      await intruder.getByRole('heading', { name: 'Second factor' }).waitFor();
      await intruder.getByLabel('Authentication code').fill(code);
      const [resp] = await Promise.all([
        intruder.waitForResponse((r) => r.url().endsWith('/v1/session') && r.request().method() === 'POST'),
        intruder.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      return resp.status();
    };
    for (let i = 0; i < 3; i += 1) {
      assert.equal(await attempt(`wrong-password-${i}`, '000000'), 401);
      await intruder.getByTestId('login-failed').waitFor();
    }
    assert.equal(await attempt(VIEWER_PW, await freshTotp(viewerSecret)), 401, 'the right pair is refused while locked');
    await intruder.getByTestId('login-failed').waitFor();
    await shot(intruder, '28-login-locked');
    await page.goto(`${sae.base}/admin/#/admins`);
    await page.getByRole('button', { name: `Unlock ${VIEWER}` }).click();
    await page.getByRole('button', { name: `Unlock ${VIEWER}` }).waitFor({ state: 'detached' });
    assert.equal(await attempt(VIEWER_PW, await freshTotp(viewerSecret)), 200);
    await intruder.locator('#logout').waitFor();
    await intruder.context().close();

    // Signing out ends the session on the server.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/v1/session')).status);
    assert.equal(status, 401);

    // A session that ends on the server (idle expiry, sign-out elsewhere) sends the console
    // back to the sign-in screen with a notice at the next request.
    await signIn(page, sae.base, ADMIN, ADMIN_PW, adminSecret);
    await page.evaluate(async () => {
      const s = await (await fetch('/v1/session')).json();
      await fetch('/v1/session', { method: 'DELETE', headers: { 'X-CSRF-Token': s.csrf_token } });
    });
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('Your session has ended').waitFor();
    assert.deepEqual(page.problems, []);
  });
});
