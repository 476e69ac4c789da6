// The console's mail screens in Chromium, against real peers: an inbound account created
// in the form against a private Dovecot, "test" (its login and message count) and "check
// now" reading a real RFC 3464 bounce of a code mail that went out through the aiosmtpd
// SMTP peer; the user whose mail bounced shows the bouncing flag; the notifications tab
// saves the bounce-storm event and threshold. A Google Workspace service-account profile
// (jwt_bearer) made from its preset in the form: the key is pasted once, never shown or
// answered again, and kept when the profile is saved without it. Screenshots in English
// and Portuguese.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Sae, call, launchBrowser, newPage, signIn, shot } from '../lib/harness.js';
import { Dovecot, SmtpPeer, dsn } from '../lib/mailpeers.js';

const ADMIN = 'mail-admin';
const ADMIN_PW = 'Mail-Admin-Pass-88';
const BOX = { name: 'bounces@example.com', password: 'imap-E2E-pw-1' };
const USER_MAIL = 'bea@example.net';

let sae;
let browser;
let dovecot;
let smtp;
let totpSecret;

before(async () => {
  sae = await Sae.start();
  browser = await launchBrowser();
  sae.createAdmin(ADMIN, ADMIN_PW);
  dovecot = await Dovecot.start([BOX]);
  smtp = await SmtpPeer.start();
});

after(async () => {
  if (browser) await browser.close();
  for (const p of [sae, dovecot, smtp]) if (p) p.stop();
});

describe('mail in the console', () => {
  test('an inbound account reads a real bounce; the user is flagged; notifications are saved', async () => {
    const page = await newPage(browser);
    totpSecret = await signIn(page, sae.base, ADMIN, ADMIN_PW, totpSecret);

    // A code mail to Bea goes out through the SMTP peer (an application asks for it).
    assert.equal((await call(page, 'POST', '/v1/smtp/accounts', {
      name: 'out', default: true, sender: 'sae@example.com', return_path: 'bounces+sae@example.com',
      host: '127.0.0.1', port: smtp.port, security: 'none', auth: 'none',
    })).status, 201);
    assert.equal((await call(page, 'POST', '/v1/users', { login: 'bea', email: USER_MAIL })).status, 201);
    const key = await call(page, 'POST', '/v1/apikeys', { name: 'portal', scope: 'otp' });
    assert.equal(key.status, 201);
    const req = await fetch(`${sae.base}/v1/otp/request`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Api-Key': key.body.key },
      body: JSON.stringify({ login: 'bea', channel: 'email' }),
    });
    assert.equal(req.status, 202);
    const mail = await smtp.waitFor(USER_MAIL);
    // The receiving server refuses it: its bounce lands in the bounce mailbox.
    dovecot.deliver(BOX.name, dsn(mail.mail_from, USER_MAIL, mail.headers['message-id']));

    // The inbound account, created in the form.
    await page.goto(`${sae.base}/admin/#/mail`);
    await page.getByRole('tab', { name: 'Inbound (bounces)' }).click();
    await page.getByRole('heading', { name: 'New inbound account' }).waitFor();
    const form = page.getByRole('form', { name: 'Inbound account' });
    await form.getByLabel('Name', { exact: true }).fill('bounces');
    await form.getByLabel('Server host').fill('127.0.0.1');
    await form.getByLabel("Port (empty: the protocol's usual one)").fill(String(dovecot.port));
    await form.getByLabel('Security').selectOption('none');
    await form.getByLabel('Username (mailbox)').fill(BOX.name);
    await form.getByLabel('Password', { exact: true }).fill(BOX.password);
    await form.getByLabel('Check every (seconds, 0 = only “check now”)').fill('0');
    await form.getByRole('button', { name: 'Create inbound account' }).click();

    // "Test" logs in to Dovecot and counts the message; "check now" reads the bounce.
    await page.getByRole('button', { name: 'Test bounces' }).click();
    const outcome = page.getByTestId('inbound-outcome');
    await outcome.waitFor();
    assert.match(await outcome.textContent(), /^Logged in: 1 message\(s\)/);
    await page.getByRole('button', { name: 'Check bounces now' }).click();
    await page.getByText('Checked: 1 message(s), 1 bounce(s), 0 ignored, 0 code(s) re-sent by SMS.').waitFor();
    await shot(page, 'en-20-mail-inbound');
    const account = (await call(page, 'GET', '/v1/inbound/accounts')).body.items[0];
    assert.equal(account.bounces_total, 1);
    assert.ok(!JSON.stringify(account).includes(BOX.password), 'the password is never answered');

    // The user whose address bounces is flagged.
    await page.goto(`${sae.base}/admin/#/users/bea`);
    const flag = page.getByTestId('email-bouncing');
    await flag.waitFor();
    assert.match(await flag.textContent(), /^Mail to this address bounces \(5\.1\.1, since /);
    await shot(page, 'en-21-user-bouncing');

    // Notifications: the bounce storm event with a threshold of two.
    await page.goto(`${sae.base}/admin/#/mail`);
    await page.getByRole('tab', { name: 'Notifications' }).click();
    await page.getByLabel('Recipients (one address per line)').fill('ops@example.com');
    await page.getByLabel('A bounce storm (many code mails bounced in a short time)').check();
    await page.getByLabel('Bounce storm: bounced code mails').fill('2');
    const notifications = page.getByRole('form', { name: 'Notifications' });
    await notifications.getByRole('button', { name: 'Save notifications' }).click();
    await notifications.getByText('Saved.', { exact: true }).waitFor();
    await shot(page, 'en-22-notifications');
    const saved = (await call(page, 'GET', '/v1/notifications')).body;
    assert.deepEqual(saved.recipients, ['ops@example.com']);
    assert.deepEqual(saved.events, ['bounce_storm']);
    assert.equal(saved.bounce_storm_count, 2);
    assert.equal(saved.bounce_storm_window_s, 600);

    // The same screens in Portuguese.
    await page.locator('#lang').selectOption('pt-BR');
    await page.goto(`${sae.base}/admin/#/mail`);
    await page.reload();
    await page.getByRole('tab', { name: 'Entrada (devoluções)' }).click();
    await page.getByRole('button', { name: 'Verificar bounces agora' }).waitFor();
    await shot(page, 'pt-20-mail-inbound');
    await page.getByRole('tab', { name: 'Notificações' }).click();
    await page.getByRole('button', { name: 'Salvar notificações' }).waitFor();
    assert.ok(await page.getByLabel('Uma onda de devoluções (muitos e-mails com código devolvidos em pouco tempo)').isChecked());
    await shot(page, 'pt-22-notifications');
    await page.goto(`${sae.base}/admin/#/users/bea`);
    const flagPt = page.getByTestId('email-bouncing');
    await flagPt.waitFor();
    assert.match(await flagPt.textContent(), /^Os e-mails para este endereço são devolvidos \(5\.1\.1, desde /);
    await shot(page, 'pt-21-user-bouncing');
    await page.locator('#lang').selectOption('en');

    assert.deepEqual(page.problems, []);
  });
  test('a service-account profile from the Google Workspace preset keeps its key secret', async () => {
    const page = await newPage(browser);
    totpSecret = await signIn(page, sae.base, ADMIN, ADMIN_PW, totpSecret);
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const sa = 'sae-relay@sae-e2e.iam.gserviceaccount.com';
    const key = JSON.stringify({
      type: 'service_account', project_id: 'sae-e2e', private_key_id: 'k-1',
      private_key: privateKey, client_email: sa, client_id: '1234567890',
      token_uri: 'https://oauth2.googleapis.com/token',
    });

    await page.goto(`${sae.base}/admin/#/mail`);
    await page.getByRole('tab', { name: 'OAuth2 profiles' }).click();
    await page.getByRole('heading', { name: 'New OAuth2 profile' }).waitFor();
    await page.getByRole('button', { name: 'Copy Google Workspace (service account)' }).click();
    const form = page.getByRole('form', { name: 'New OAuth2 profile' });
    assert.equal(await form.getByLabel('Flow').inputValue(), 'jwt_bearer');
    assert.equal(await form.getByLabel('Token URL').inputValue(), 'https://oauth2.googleapis.com/token');
    assert.equal(await form.getByLabel('Scope').inputValue(), 'https://mail.google.com/');
    assert.equal(await form.getByLabel('Client secret', { exact: true }).isVisible(), false, 'no client secret for a service account');
    await form.getByLabel('Service account key (the JSON file)').fill(key);
    await form.getByLabel('Mailbox to act as').fill('relay@example.com');
    await shot(page, 'en-23-service-account-form');
    await form.getByRole('button', { name: 'Create profile' }).click();
    await page.getByText('Profile Google Workspace (service account) saved.').waitFor();

    const listed = (await call(page, 'GET', '/v1/oauth2/profiles')).body.items;
    const profile = listed.find((p) => p.flow === 'jwt_bearer');
    assert.ok(profile, JSON.stringify(listed));
    assert.equal(profile.subject, 'relay@example.com');
    assert.equal(profile.client_id, sa, 'the client is the key\'s service account');
    assert.equal(profile.client_secret_set, true, 'the key is stored');
    assert.ok(!JSON.stringify(listed).includes('PRIVATE KEY'), 'the key is never answered');
    const status = page.getByTestId(`profile-status-${profile.id}`);
    await status.waitFor();
    assert.match(await status.textContent(), /Mailbox to act asrelay@example\.com/);
    assert.ok(!(await page.content()).includes('PRIVATE KEY'), 'nor shown');
    await shot(page, 'en-24-service-account-profile');

    // Saved again without the key (a new mailbox): the stored key is kept.
    await page.getByRole('button', { name: 'Edit Google Workspace (service account)' }).click();
    const edit = page.getByRole('form', { name: 'OAuth2 profile Google Workspace (service account)' });
    assert.equal(await edit.getByLabel('Service account key (the JSON file)').inputValue(), '');
    await edit.getByLabel('Mailbox to act as').fill('relay2@example.com');
    // The key expires in three days (less an hour): the server warns, the console words it.
    const expires = new Date(Date.now() + 3 * 86400000 - 3600000).toISOString().replace(/\.\d+Z$/, 'Z');
    await edit.getByLabel('Client secret expires at (RFC 3339, e.g. 2027-06-30T00:00:00Z)').fill(expires);
    // Wait for the save's own answer: the creation's toast, with the same words, may still
    // be on the screen.
    const saved = page.waitForResponse((r) => r.url().endsWith(`/v1/oauth2/profiles/${profile.id}`) && r.request().method() === 'PUT');
    await edit.getByRole('button', { name: 'Save profile' }).click();
    assert.equal((await saved).status(), 200);
    await page.getByText('Profile Google Workspace (service account) saved.').waitFor();
    const after = (await call(page, 'GET', `/v1/oauth2/profiles/${profile.id}`)).body;
    assert.equal(after.subject, 'relay2@example.com');
    assert.equal(after.client_secret_set, true, 'the key is kept');

    await page.locator('#lang').selectOption('pt-BR');
    await page.reload();
    await page.getByRole('tab', { name: 'Perfis OAuth2' }).click();
    const statusPt = page.getByTestId(`profile-status-${profile.id}`);
    await statusPt.waitFor();
    // No English from the server on a Portuguese screen: the preset names and the warning
    // are the catalogue's (the server decides that there is a warning).
    const warned = (await call(page, 'GET', `/v1/oauth2/profiles/${profile.id}`)).body.warnings;
    assert.equal(warned.length, 1, JSON.stringify(warned));
    assert.match(await statusPt.textContent(), /O segredo do cliente expira em .+ \(em 3 dias\): crie um novo no provedor e informe-o aqui\./);
    assert.ok(!(await statusPt.textContent()).includes('client_secret_expires_at'), 'no raw server text');
    // The new mailbox dropped the old one's tokens: the server's reason, in Portuguese.
    assert.match(after.last_error, /^subject: /);
    assert.match(await statusPt.textContent(), /A caixa postal representada mudou: os tokens da caixa anterior foram descartados\. Autorize de novo\./);
    await page.getByRole('button', { name: 'Copiar Google Workspace (conta de serviço)' }).waitFor();
    await page.getByRole('button', { name: 'Copiar Microsoft 365 (credenciais do cliente)' }).waitFor();
    await shot(page, 'pt-24-service-account-profile');
    await page.locator('#lang').selectOption('en');
    assert.deepEqual(page.problems, []);
  });
});
