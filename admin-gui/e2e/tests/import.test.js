// The import and inventory screens in Chromium: a token CSV uploaded with live progress
// (the screen polls the job), the per-item report, then a token assigned from the
// inventory to a user, who validates a code of it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sae, call, launchBrowser, newPage, signIn, shot, hotp } from '../lib/harness.js';

const ADMIN = 'import-admin';
const ADMIN_PW = 'Import-Admin-Pass-77';
const SECRET_HEX = '3132333435363738393031323334353637383930';
const ROWS = 3000;
const FIGURE_7 = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../sae-core/tests/data/pskc/rfc6030-figure7.xml');

let sae;
let adminSecret;
let browser;

before(async () => {
  sae = await Sae.start();
  browser = await launchBrowser();
  sae.createAdmin(ADMIN, ADMIN_PW);
});

after(async () => {
  if (browser) await browser.close();
  if (sae) sae.stop();
});

describe('imports in the console', () => {
  test('a token CSV imports with progress and a report; a token is assigned from the inventory', async () => {
    const page = await newPage(browser);
    adminSecret = await signIn(page, sae.base, ADMIN, ADMIN_PW);
    assert.equal((await call(page, 'POST', '/v1/users', { login: 'zoe' })).status, 201);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-e2e-import-'));
    const file = path.join(dir, 'tokens.csv');
    const lines = ['serial,type,secret_hex'];
    for (let i = 0; i < ROWS; i += 1) lines.push(`E2E-${String(i).padStart(7, '0')},hotp,${SECRET_HEX}`);
    lines.push(`E2E-BAD,foo,${SECRET_HEX}`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);

    await page.goto(`${sae.base}/admin/#/import`);
    await page.getByRole('heading', { name: 'Import' }).waitFor();
    // Record every state the screen shows while it polls the job.
    await page.evaluate(() => {
      window.seenStates = [];
      new MutationObserver(() => {
        const el = document.querySelector('.job-state');
        if (el && window.seenStates.at(-1) !== el.dataset.state) window.seenStates.push(el.dataset.state);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    // Every job answer the screen polls (the server's real answers, recorded on the way).
    const answered = [];
    await page.route('**/v1/jobs/*', async (route) => {
      const response = await route.fetch();
      const job = await response.json();
      answered.push(job.state);
      await route.fulfill({ response, json: job });
    });
    await page.getByLabel('File', { exact: true }).setInputFiles(file);
    await page.getByLabel('Skip bad items and import the others').check();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('.job-state[data-state=done]').waitFor({ timeout: 120000 });
    const counts = await page.locator('.job-counts').textContent();
    // Numbers are written the language's way (3,001 in English).
    const n = (x) => new Intl.NumberFormat('en').format(x);
    assert.match(counts, new RegExp(`${n(ROWS + 1)} of ${n(ROWS + 1)} item\\(s\\) read, ${n(ROWS)} imported, 1 skipped`));
    const progress = page.locator('progress');
    assert.equal(await progress.getAttribute('value'), String(ROWS + 1));
    assert.equal(await progress.getAttribute('max'), String(ROWS + 1));
    const report = page.getByRole('table', { name: 'Skipped items' });
    assert.match(await report.textContent(), /unsupported_type/);
    assert.match(await report.textContent(), new RegExp(`${ROWS + 2}`), 'the bad row is numbered as a spreadsheet numbers it');
    const states = await page.evaluate(() => window.seenStates);
    assert.equal(states.at(-1), 'done', `states seen: ${states}`);
    // Live: the screen showed every state the server answered, in order, as it came.
    const distinct = answered.filter((s, i) => i === 0 || answered[i - 1] !== s);
    assert.deepEqual(states, distinct, `answers ${answered}`);
    await shot(page, 'import-01-done');

    await page.goto(`${sae.base}/admin/#/tokens`);
    // The list re-renders on each answer: wait for the first one, then for the filtered one,
    // so the login is typed into the row that stays (on a busy machine a late render replaced
    // the row being typed into).
    await page.getByRole('button', { name: /^Assign E2E-/ }).first().waitFor();
    await page.getByLabel('Serial starts with').fill('E2E-0000007');
    const filtered = page.waitForResponse((r) => r.request().method() === 'GET' && r.url().includes('/v1/tokens?') && r.url().includes('E2E-0000007'));
    await page.getByRole('button', { name: 'Filter' }).click();
    await filtered;
    await page.getByRole('button', { name: 'Assign E2E-0000001', exact: true }).waitFor({ state: 'detached' });
    await page.getByLabel('Assign E2E-0000007 to login').fill('zoe');
    await page.getByRole('button', { name: 'Assign E2E-0000007' }).click();
    await page.getByRole('button', { name: 'Unassign E2E-0000007' }).waitFor();
    await shot(page, 'import-02-inventory');
    const code = hotp(Buffer.from(SECRET_HEX, 'hex'), 0);
    const v = await call(page, 'POST', '/v1/otp/validate', { login: 'zoe', code });
    assert.equal(v.body.valid, true, JSON.stringify(v.body));
  });

  test('a password-protected PSKC file in a dry run: checked, reported, nothing stored, the password cleared', async () => {
    const page = await newPage(browser);
    await signIn(page, sae.base, ADMIN, ADMIN_PW, adminSecret);
    await page.goto(`${sae.base}/admin/#/import`);
    await page.getByRole('heading', { name: 'Import' }).waitFor();
    await page.getByLabel('File', { exact: true }).setInputFiles(FIGURE_7);
    await page.getByLabel('Password', { exact: true }).fill('qwerty');
    await page.getByLabel('Dry run: check and report, store nothing').check();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('.job-state[data-state=done]').waitFor({ timeout: 60000 });
    assert.match(await page.locator('.job-counts').textContent(), /1 of 1 item\(s\) read, 1 importable, 0 skipped/);
    await page.getByText('Dry run: nothing was stored.').waitFor();
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is not kept in the form');
    const listed = await call(page, 'GET', '/v1/tokens?serial=987654321');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.items, [], 'a dry run stores nothing');
    // The same file with a wrong password fails with a clear message.
    await page.getByLabel('File', { exact: true }).setInputFiles(FIGURE_7);
    await page.getByLabel('Password', { exact: true }).fill('azerty');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.locator('.job-state[data-state=failed]').waitFor({ timeout: 60000 });
    assert.match(await page.getByRole('alert').filter({ hasText: 'wrong' }).first().textContent(), /wrong/);
    await shot(page, 'import-03-wrong-password');
  });
});
