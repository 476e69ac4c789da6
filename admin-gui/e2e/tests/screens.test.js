// The console as an administrator with a task in mind, in Portuguese and English: the
// dashboard after known traffic, the language switch, the token window end to end, failing
// actions showing their error where they happened, the audit log's order and details,
// template and MFA rule editing, the administrators form, the voice screen, every invalid
// field at its input — and axe-core over every screen in both languages, with screenshots.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Sae, Peer, launchBrowser, newPage, signIn, shot, confirmDialog } from '../lib/harness.js';

const ADMIN = 'ana-admin';
const ADMIN_PW = 'Quatro-Cavalos-9-bateria';
const AXE = fs.readFileSync(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../node_modules/axe-core/axe.min.js'), 'utf8');

let sae;
let peer;
let browser;
let page;
let secret;
let appKey;

// Calls the API from the signed-in page (session cookie + CSRF token), as the console does.
async function api(method, url, body) {
  return page.evaluate(async ([m, u, b]) => {
    const s = await (await fetch('/v1/session')).json();
    const r = await fetch(u, {
      method: m,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, [method, url, body]);
}

async function app(url, body) {
  const r = await fetch(`${sae.base}${url}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Api-Key': appKey },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

// Polls `check` until it answers true (the outbox delivers in the background).
async function eventually(what, check) {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => { setTimeout(r, 200); });
  }
  throw new Error(`${what}: not within 60 s`);
}

// axe-core over the current screen: no serious or critical violation.
async function axe(p, what) {
  const result = await p.evaluate(async (src) => {
    if (!window.axe) (0, eval)(src); // evaluated through the DevTools protocol, not a <script>
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }, AXE);
  assert.deepEqual(result, [], `axe on ${what}`);
}

before(async () => {
  sae = await Sae.start();
  peer = await Peer.start('rest_peer.py');
  browser = await launchBrowser();
  sae.createAdmin(ADMIN, ADMIN_PW);
});

after(async () => {
  if (browser) await browser.close();
  if (peer) peer.stop();
  if (sae) sae.stop();
});

describe('console screens', () => {
  test('the dashboard shows the figures of known traffic', async () => {
    page = await newPage(browser);
    secret = await signIn(page, sae.base, ADMIN, ADMIN_PW);
    // The first screen of a System Administrator is the dashboard.
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();

    const key = await api('POST', '/v1/apikeys', { name: 'portal', scope: 'otp' });
    appKey = key.body.key;
    assert.equal((await api('PUT', '/v1/delivery/sms', { primary: { kind: 'rest', url: `${peer.base}/none/ok`, method: 'POST', authorization: 'none', body: '{"to": "{phone}", "text": "{message}"}' }, broker2: { mode: 'none' } })).status, 200);
    assert.equal((await api('PUT', '/v1/config/lockout', { enabled: true, attempts: 2, block_type: 'permanent' })).status, 200);
    for (const login of ['bia', 'caio']) {
      assert.equal((await api('POST', '/v1/users', { login, mobile: '+55 11 91234-5678' })).status, 201);
    }
    for (let i = 0; i < 3; i += 1) assert.equal((await app('/v1/otp/request', { login: 'bia', channel: 'sms' })).status, 202);
    // Two wrong codes lock caio (a rejected validation each, in the audit log).
    await api('POST', '/v1/users/caio/tokens', { type: 'totp' });
    for (let i = 0; i < 2; i += 1) await app('/v1/otp/validate', { login: 'caio', code: '000000' });
    await eventually('three deliveries', async () => (await api('GET', '/v1/reports/deliveries')).body.items.length === 3);

    await page.goto(`${sae.base}/admin/#/dashboard`);
    await page.reload();
    const broker = page.locator('[data-broker="sms/primary"]');
    await broker.waitFor();
    assert.match(await broker.getByTestId('broker-summary').textContent(), /^3 of 3 delivered \(100%\)/);
    assert.equal(await broker.locator('svg.chart circle.dot.rate').count(), 1, 'one hour with attempts in the chart');
    assert.equal(await page.locator('[data-figure=locked] .figure-value').textContent(), '1');
    assert.equal(await page.locator('[data-figure=queued] .figure-value').textContent(), '0');
    await page.getByRole('link', { name: 'caio', exact: true }).waitFor();
    const failures = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Recent refused or failed actions' }) });
    assert.ok(await failures.getByRole('cell', { name: 'otp.validate' }).count() >= 2, await failures.textContent());
    await axe(page, 'dashboard (en)');
    await shot(page, 'en-01-dashboard');
  });

  test('the token window offers the API\'s values and asks to accept the risk from 3 on', async () => {
    await page.goto(`${sae.base}/admin/#/im`);
    const form = page.getByRole('form', { name: 'IM configuration' });
    const select = form.getByLabel('Token window (codes accepted)');
    await select.waitFor();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
    assert.deepEqual(options.map(([v]) => v), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    assert.match(options[0][1], /only the newest code/);
    assert.match(options[4][1], /the last 5 codes/);
    await select.selectOption('5');
    assert.equal(await page.locator('#risk-text').isVisible(), true);
    await form.getByRole('button', { name: 'Save' }).click();
    const err = form.locator('[data-field-wrap=accept_risk] .field-error');
    await err.waitFor();
    assert.equal(await err.textContent(), 'Tick this box to accept the risk of a window of 3 or more codes.');
    assert.equal((await api('GET', '/v1/config/im')).body.token_window, 1, 'nothing saved');
    await form.getByLabel('I have read this warning and accept the risk').check();
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Saved (token window 5).').waitFor();
    const im = (await api('GET', '/v1/config/im')).body;
    assert.equal(im.token_window, 5);
    assert.equal(im.accept_risk, true);
    // Ranges are the API's: code digits 4 to 10.
    assert.equal(await form.getByLabel('Digits').getAttribute('min'), '4');
    await axe(page, 'IM configuration (en)');
    await shot(page, 'en-02-im');
  });

  test('failed deletes and actions show their error where they happened', async () => {
    assert.equal((await api('POST', '/v1/admin-groups', { name: 'helpdesk', users: { login: 'view' } })).status, 201);
    assert.equal((await api('POST', '/v1/admins', { login: 'rui', password: 'Helpdesk-Pass-42-long', group: 'helpdesk' })).status, 201);
    await page.goto(`${sae.base}/admin/#/acl`);
    // An old success toast must not look like the answer.
    const del = page.getByRole('button', { name: 'Delete helpdesk' });
    await del.click();
    await confirmDialog(page, 'helpdesk');
    const err = page.getByTestId('action-error');
    await err.waitFor();
    assert.match(await err.textContent(), /administrators or API keys still belong to it/);
    assert.equal(await page.getByTestId('toast-error').isVisible(), true, 'a red toast too');
    assert.equal(await page.getByTestId('toast-ok').count(), 0);
    const colour = await page.getByTestId('toast-error').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(colour, 'rgb(164, 38, 44)', 'the error colour');
    await shot(page, 'en-03-acl-delete-refused');

    // The group is renamed in its editor, and the editor can be left without saving.
    await page.getByRole('button', { name: 'Edit helpdesk' }).click();
    const editor = page.getByRole('form', { name: 'Group helpdesk' });
    await editor.getByLabel('Group name').fill('support');
    await editor.getByLabel('E-mail', { exact: true }).selectOption('view');
    await editor.getByRole('button', { name: 'Save group' }).click();
    await page.getByRole('cell', { name: 'support', exact: true }).waitFor();
    const groups = (await api('GET', '/v1/admin-groups')).body.items.map((g) => g.name);
    assert.ok(groups.includes('support') && !groups.includes('helpdesk'), groups.join());
    await page.getByRole('button', { name: 'Edit support' }).click();
    await page.getByRole('form', { name: 'Group support' }).getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('form', { name: 'New group' }).waitFor();
    await axe(page, 'ACLs (en)');
  });

  test('administrators: no group chosen in advance, the last System Administrator cannot be deleted', async () => {
    await page.goto(`${sae.base}/admin/#/admins`);
    const create = page.getByRole('form', { name: 'New administrator' });
    assert.equal(await create.getByLabel('Group').inputValue(), '');
    assert.match(await create.locator('[data-field-wrap=password] .help').textContent(), /12 to 1024 characters/);
    await create.getByLabel('Login').fill('leo');
    await create.getByLabel('Password').fill('Long-Enough-Pass-12');
    await create.getByRole('button', { name: 'Create administrator' }).click();
    await create.locator('[data-field-wrap=group] .field-error').waitFor();
    assert.equal((await api('GET', '/v1/admins/leo')).status, 404, 'nothing created');
    // The first start made `admin`; once it is deleted, ana-admin is the last System
    // Administrator and is offered no delete.
    await page.getByRole('button', { name: `Delete ${ADMIN}` }).waitFor();
    await page.getByRole('button', { name: 'Delete admin', exact: true }).click();
    await confirmDialog(page, 'admin');
    await page.getByRole('button', { name: 'Delete admin', exact: true }).waitFor({ state: 'detached' });
    await page.getByText('last System Administrator', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: `Delete ${ADMIN}` }).count(), 0);
    await page.getByRole('button', { name: 'Delete rui' }).waitFor();
    // The administrators' own lockout (temporary only) is edited here.
    const lockout = page.getByRole('form', { name: "Administrators' lockout" });
    await lockout.getByLabel('Number of attempts').fill('5');
    await lockout.getByLabel('Minutes blocked').fill('30');
    await lockout.getByRole('button', { name: 'Save' }).click();
    await lockout.getByText('Saved: 5 failures lock for 30 minutes.').waitFor();
    const adminLockout = (await api('GET', '/v1/config/admin-lockout')).body;
    assert.equal(adminLockout.attempts, 5);
    assert.equal(adminLockout.minutes, 30);
    await axe(page, 'Administrators (en)');
    await shot(page, 'en-04-admins');
  });

  test('templates and MFA rules are edited in place', async () => {
    await page.goto(`${sae.base}/admin/#/sms`);
    await page.getByRole('tab', { name: 'Messages' }).click();
    const add = page.getByRole('form', { name: 'Add a template' });
    await add.getByLabel('ID').fill('curto');
    await add.getByLabel('Message').fill('Code {otp}, valid for {expires_in}');
    await add.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('cell', { name: 'curto', exact: true }).waitFor();
    let tpl = (await api('GET', '/v1/messages/curto')).body;
    assert.equal(tpl.default, false, 'Default stays off');
    await page.getByRole('button', { name: 'Edit curto' }).click();
    const edit = page.getByRole('form', { name: 'Edit curto' });
    await edit.getByLabel('Message').fill('SAE: {otp} ({expires_in})');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByText('SAE: {otp} ({expires_in})').waitFor();
    tpl = (await api('GET', '/v1/messages/curto')).body;
    assert.equal(tpl.text, 'SAE: {otp} ({expires_in})');
    assert.match(await page.getByTestId('sms-size-curto').textContent(), /^1 SMS segment, \d+ GSM 7-bit characters$/);
    await axe(page, 'SMS messages (en)');
    await shot(page, 'en-05-sms-templates');

    await page.goto(`${sae.base}/admin/#/auth`);
    await page.getByRole('tab', { name: 'MFA' }).click();
    const mfa = page.getByRole('form', { name: 'MFA rule' });
    await mfa.getByLabel('MFA ID').fill('7');
    await mfa.getByLabel('AuthSys').fill('vpn');
    await mfa.getByLabel('AuthClaim').fill('device');
    await mfa.getByRole('button', { name: 'Add a rule' }).click();
    await page.getByRole('cell', { name: 'device', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit 7' }).click();
    const editMfa = page.getByRole('form', { name: 'MFA rule' });
    await editMfa.getByLabel('AuthClaim').fill('laptop');
    await editMfa.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('cell', { name: 'laptop', exact: true }).waitFor();
    const rules = (await api('GET', '/v1/policies/mfa')).body;
    assert.deepEqual(rules.map((r) => [r.mfa_id, r.authclaim]), [['7', 'laptop']]);
    await axe(page, 'MFA (en)');
  });

  test('the password test tries the rule being edited and the presets are described', async () => {
    await page.goto(`${sae.base}/admin/#/auth`);
    await page.getByRole('tab', { name: 'Global' }).click();
    const rule = page.getByRole('form', { name: 'Global password rule' });
    await rule.getByLabel('Password strength').selectOption('strong');
    assert.match(await rule.getByTestId('preset').textContent(), /^Strong: at least 12 characters, with a lower-case and an upper-case letter/);
    const test = page.getByRole('form', { name: 'Password test' });
    await test.getByLabel('Password to test').fill('short');
    await test.getByRole('button', { name: 'Test password' }).click();
    await test.locator('xpath=..').getByTestId('pw-unmet').waitFor();
    assert.equal((await api('GET', '/v1/policies/global')).body.strength, 'off', 'the rule was not saved');
    await shot(page, 'en-06-password-test');
  });

  test('the audit log is newest first, sortable, with details as fields', async () => {
    await page.goto(`${sae.base}/admin/#/audit`);
    const cells = page.locator('tbody tr td:first-child');
    await cells.first().waitFor();
    assert.equal(await page.getByText('[object Object]').count(), 0);
    const firstAction = await page.locator('tbody tr').first().locator('td').nth(2).textContent();
    const newest = (await api('GET', '/v1/audit?limit=1')).body.items[0];
    assert.equal(firstAction, newest.action);
    assert.ok(await page.locator('dl.detail dt').count() > 0, 'details are rendered as fields');
    // Readable: a details cell is not squeezed to a character per line, and the list of
    // changed fields is words, not JSON.
    const widths = await page.locator('td dl.detail').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    assert.ok(widths.length > 0 && widths.every((w) => w >= 200), `details cells are readable: ${widths}`);
    assert.equal(await page.locator('dl.detail dd', { hasText: '["' }).count(), 0, 'lists of values are words');
    await page.getByLabel('Order').selectOption('at');
    await page.getByRole('button', { name: 'Filter' }).click();
    await eventually('oldest first', async () => (await page.locator('tbody tr').first().locator('td').nth(2).textContent()) !== firstAction);
    await axe(page, 'audit (en)');
    await shot(page, 'en-07-audit');
  });

  test('every invalid field is shown at its input, in Portuguese', async () => {
    const pt = await newPage(browser, { locale: 'pt-BR' });
    await pt.goto(`${sae.base}/admin/`);
    await pt.getByRole('heading', { name: 'Entrar' }).waitFor();
    assert.equal(await pt.evaluate(() => document.documentElement.lang), 'pt-BR');
    await axe(pt, 'login (pt-BR)');
    await shot(pt, 'pt-00-login');
    await pt.context().close();

    // The signed-in page switches to Portuguese; the choice is remembered.
    await page.locator('#lang').selectOption('pt-BR');
    await page.goto(`${sae.base}/admin/#/users/new`);
    await page.reload();
    await page.getByRole('heading', { name: 'Novo usuário' }).waitFor();
    await page.getByLabel('Login').fill('dora');
    await page.getByLabel('E-mail').fill('not an address');
    await page.getByLabel('Celular').fill('12');
    await page.getByRole('button', { name: 'Criar usuário' }).click();
    const email = page.locator('[data-field-wrap=email] .field-error');
    const mobile = page.locator('[data-field-wrap=mobile] .field-error');
    await email.waitFor();
    await mobile.waitFor();
    assert.ok((await email.textContent()).length > 0 && (await mobile.textContent()).length > 0);
    assert.equal((await api('GET', '/v1/users/dora')).status, 404);
    await shot(page, 'pt-08-user-errors');
  });

  test('every main screen in both languages: axe-core and screenshots', async () => {
    const screens = [
      ['/dashboard', 'Painel', 'Dashboard', 'dashboard'],
      ['/im', 'Configuração do IM', 'IM configuration', 'im'],
      ['/sms', 'Serviço de SMS', 'SMS service', 'sms'],
      ['/voice', 'Serviço de voz', 'Voice service', 'voice'],
      ['/auth', 'Tipo de autenticação', 'Authentication type', 'auth'],
      ['/acl', 'ACLs', 'ACLs', 'acl'],
      ['/users', 'Usuários', 'Users', 'users'],
      ['/users/bia', 'Usuário bia', 'User bia', 'user'],
      ['/wallets', 'Carteiras', 'Wallets', 'wallets'],
      ['/tokens', 'Inventário de tokens', 'Token inventory', 'tokens'],
      ['/import', 'Importação', 'Import', 'import'],
      ['/mail', 'E-mail', 'Mail', 'mail'],
      ['/reports', 'Relatórios de entrega', 'Delivery reports', 'reports'],
      ['/audit', 'Registro de auditoria', 'Audit log', 'audit'],
      ['/admins', 'Administradores', 'Administrators', 'admins'],
    ];
    for (const [lang, col] of [['pt-BR', 1], ['en', 2]]) {
      await page.locator('#lang').selectOption(lang);
      for (const s of screens) {
        await page.goto(`${sae.base}/admin/#${s[0]}`);
        await page.getByRole('heading', { name: s[col], exact: true, level: 1 }).waitFor();
        await page.locator('.loading').waitFor({ state: 'detached' });
        await axe(page, `${s[3]} (${lang})`);
        await shot(page, `lang-${lang}-${s[3]}`);
      }
    }
    // Remembered across a reload; dates follow the language.
    await page.locator('#lang').selectOption('pt-BR');
    await page.reload();
    await page.getByRole('link', { name: 'Registro de auditoria', exact: true }).waitFor();
    await page.goto(`${sae.base}/admin/#/voice`);
    await page.getByTestId('voice-reason').waitFor();
    assert.match(await page.getByTestId('voice-reason').textContent(), /não envia códigos por chamada de voz/);
    await page.locator('#lang').selectOption('en');
    assert.deepEqual(page.problems, []);
  });
});
