// Test harness: a real `sae serve` on a fresh data directory, the Python REST broker peer,
// Debian's Chromium driven by playwright-core, and a TOTP generator (node:crypto) that
// reads the secret the page shows — as a person would type it into an authenticator.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const SHOTS = path.resolve(here, '../screenshots');

export function saeBin() {
  if (process.env.SAE_BIN) return process.env.SAE_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  return path.join(target, 'debug', 'sae');
}

export function chromiumPath() {
  const p = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(p)) throw new Error(`Chromium not found at ${p} (apt-get install chromium); the browser tests cannot run`);
  return p;
}

export function pythonPath() {
  const p = process.env.SAE_PYTHON || path.join(ROOT, '.venv/bin/python');
  if (!fs.existsSync(p)) throw new Error(`Python for the broker peer not found at ${p} (run ./scripts/test.sh once, or set SAE_PYTHON)`);
  return p;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitHttp(url, proc, what) {
  for (let i = 0; i < 600; i += 1) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early (${proc.exitCode})`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch (e) {
      // not listening yet
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
  throw new Error(`${what} did not answer at ${url}`);
}

// The SAE server under test.
export class Sae {
  static async start() {
    const s = new Sae();
    s.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sae-e2e-'));
    s.port = await freePort();
    s.base = `http://127.0.0.1:${s.port}`;
    s.log = fs.openSync(path.join(s.dir, 'server.log'), 'w');
    s.proc = spawn(saeBin(), ['serve', '--data-dir', s.dir, '--listen', `127.0.0.1:${s.port}`], {
      stdio: ['ignore', s.log, s.log],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
    });
    await waitHttp(`${s.base}/healthz`, s.proc, 'sae serve');
    return s;
  }

  // `sae admin create`: the first administrator, created with the CLI as an operator would.
  createAdmin(login, password, group) {
    const args = ['admin', 'create', '--data-dir', this.dir, '--login', login, '--password-stdin'];
    if (group) args.push('--group', group);
    const r = spawnSync(saeBin(), args, { input: `${password}\n`, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sae admin create failed: ${r.stderr}`);
    return r.stdout;
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }

  serverLog() {
    return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8');
  }
}

// A Python peer of delivery/tests/peers/ (rest_peer.py: an HTTP SMS broker that records
// what it receives; email_oauth_peer.py: an auto-approving OAuth2 provider). Each prints
// `PORT <n>` once it listens on 127.0.0.1.
export class Peer {
  static async start(script, args = []) {
    const p = new Peer();
    p.proc = spawn(pythonPath(), [path.join(ROOT, 'delivery/tests/peers', script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.port = await new Promise((resolve, reject) => {
      let buf = '';
      p.proc.stdout.on('data', (d) => {
        buf += d;
        const m = buf.match(/PORT (\d+)/);
        if (m) resolve(Number(m[1]));
        const skip = buf.match(/SKIP (.*)/);
        if (skip) reject(new Error(`${script} cannot run: ${skip[1]}`));
      });
      p.proc.on('exit', (code) => reject(new Error(`${script} exited (${code})`)));
    });
    p.base = `http://127.0.0.1:${p.port}`;
    return p;
  }

  async get(p) {
    const r = await fetch(`${this.base}${p}`);
    return r.json();
  }

  stop() {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'], headless: true });
}

// A page that records console errors and failed requests to a list the test can check.
export async function newPage(browser, opts = {}) {
  // The browser's language chooses the console's (English unless a test asks otherwise).
  const context = await browser.newContext({ viewport: opts.viewport || { width: 1280, height: 900 }, locale: opts.locale || 'en-US' });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (4\d\d)/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(Number(process.env.E2E_TIMEOUT_MS || 15000));
  return page;
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) with node:crypto.
export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export function totp(secretBase32, { at = Date.now(), step = 30 } = {}) {
  return hotp(base32Decode(secretBase32), Math.floor(at / 1000 / step));
}

// A code no earlier call returned for this secret (a code is accepted once: signing in or
// validating twice needs a fresh one). The server accepts the step after the current one
// (one step of clock drift either way), so the next unused step is taken while it is at most
// one step ahead; only a third code within one 30-second step waits for the next.
const lastStep = new Map();
export async function freshTotp(secret) {
  for (;;) {
    const now = Math.floor(Date.now() / 30000);
    const last = lastStep.get(secret);
    const step = last === undefined ? now : Math.max(now, last + 1);
    if (step <= now + 1) {
      lastStep.set(secret, step);
      return totp(secret, { at: step * 30000 });
    }
    await new Promise((r) => { setTimeout(r, 500); });
  }
}

export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// Signs in through the login screen; enrols the TOTP when the page asks for it and returns
// the secret (read from the page).
export async function signIn(page, base, login, password, secret) {
  await page.goto(`${base}/admin/`);
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
  const enrol = page.getByTestId('totp-secret');
  const code = page.getByLabel('Authentication code');
  await code.waitFor();
  if (await enrol.isVisible()) secret = (await enrol.textContent()).trim();
  await code.fill(await freshTotp(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#logout').waitFor();
  return secret;
}

// Answers the console's confirmation dialog (a native <dialog>): checks that it names what
// is destroyed (`names`), then confirms.
export async function confirmDialog(page, names) {
  const dlg = page.locator('dialog.confirm[open]');
  await dlg.waitFor();
  if (names) {
    const text = await dlg.textContent();
    if (!text.includes(names)) throw new Error(`the confirmation does not name ${names}: ${text}`);
  }
  await dlg.getByTestId('confirm-yes').click();
  await dlg.waitFor({ state: 'detached' });
}

// A JSON call from the page, with the session cookie and the CSRF token.
export async function call(page, method, url, body) {
  return page.evaluate(async ([m, u, b]) => {
    const s = await (await fetch('/v1/session')).json();
    const r = await fetch(u, { method: m, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token }, body: b === null ? undefined : JSON.stringify(b) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, url, body === undefined ? null : body]);
}
