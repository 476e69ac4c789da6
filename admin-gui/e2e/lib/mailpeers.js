// Mail peers of the console's mail tests: a private Dovecot (Debian dovecot-imapd, run as
// root with its own configuration on loopback, plain IMAP, password logins from a
// passwd-file, Maildir homes) that the test delivers messages into, and the aiosmtpd SMTP
// peer of the delivery tests (delivery/tests/peers/email_smtp_peer.py), which records every
// mail it accepts as a JSON line.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Peer, freePort } from './harness.js';

const DOVECOT = '/usr/sbin/dovecot';
// The `mail` user and group that own the mailboxes.
const MAIL_ID = 8;

async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => { setTimeout(r, 100); });
  }
}

export class Dovecot {
  // Starts Dovecot with `users` ({name, password}) able to log in over plain IMAP.
  static async start(users) {
    if (!fs.existsSync(DOVECOT)) throw new Error('Dovecot is not installed (apt-get install dovecot-imapd)');
    if (process.getuid() !== 0) throw new Error('Dovecot runs its privileged master: run the browser tests as root');
    const d = new Dovecot();
    d.root = fs.mkdtempSync('/tmp/sdce');
    fs.chmodSync(d.root, 0o755);
    for (const sub of ['run', 'state', 'home']) fs.mkdirSync(path.join(d.root, sub));
    fs.chownSync(path.join(d.root, 'home'), MAIL_ID, MAIL_ID);
    fs.writeFileSync(path.join(d.root, 'users'), users.map((u) => `${u.name}:{PLAIN}${u.password}\n`).join(''), { mode: 0o644 });
    d.port = await freePort();
    const conf = [
      'protocols = imap',
      'listen = 127.0.0.1',
      `base_dir = ${d.root}/run`,
      `state_dir = ${d.root}/state`,
      `log_path = ${d.root}/dovecot.log`,
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'auth_failure_delay = 0',
      `first_valid_uid = ${MAIL_ID}`,
      'mail_location = maildir:~/Maildir',
      'default_internal_user = dovecot',
      'default_login_user = dovenull',
      `passdb {\n  driver = passwd-file\n  args = scheme=PLAIN ${d.root}/users\n}`,
      `userdb {\n  driver = static\n  args = uid=${MAIL_ID} gid=${MAIL_ID} home=${d.root}/home/%u\n}`,
      `service imap-login {\n  inet_listener imap {\n    port = ${d.port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
      'service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(d.root, 'dovecot.conf'), conf, { mode: 0o644 });
    const log = fs.openSync(path.join(d.root, 'stdout.log'), 'w');
    d.proc = spawn(DOVECOT, ['-F', '-c', path.join(d.root, 'dovecot.conf')], { stdio: ['ignore', log, log] });
    await until('Dovecot to listen', () => new Promise((resolve) => {
      if (d.proc.exitCode !== null) throw new Error(`Dovecot exited: ${fs.readFileSync(path.join(d.root, 'stdout.log'), 'utf8')}`);
      const s = net.connect(d.port, '127.0.0.1');
      s.once('data', (b) => { s.destroy(); resolve(b.toString().startsWith('* OK')); });
      s.once('error', () => resolve(false));
    }));
    return d;
  }

  // Puts `raw` into `user`'s inbox as a new Maildir file, as a delivery agent would.
  deliver(user, raw) {
    const maildir = path.join(this.root, 'home', user, 'Maildir');
    for (const sub of ['', 'cur', 'new', 'tmp']) {
      fs.mkdirSync(path.join(maildir, sub), { recursive: true });
      fs.chownSync(path.join(maildir, sub), MAIL_ID, MAIL_ID);
    }
    fs.chownSync(path.dirname(maildir), MAIL_ID, MAIL_ID);
    this.count = (this.count || 0) + 1;
    const name = `${Math.floor(Date.now() / 1000)}.M${this.count}P${process.pid}.sae-e2e`;
    const tmp = path.join(maildir, 'tmp', name);
    fs.writeFileSync(tmp, raw);
    fs.chownSync(tmp, MAIL_ID, MAIL_ID);
    fs.renameSync(tmp, path.join(maildir, 'new', name));
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

export class SmtpPeer {
  // The SMTP peer without authentication, recording to a file of its own.
  static async start() {
    const p = new SmtpPeer();
    p.records = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sae-e2e-smtp-')), 'records.jsonl');
    p.peer = await Peer.start('email_smtp_peer.py', ['--auth', 'none', '--records', p.records]);
    p.port = p.peer.port;
    return p;
  }

  // The first mail accepted for `to` (waits up to 30 s).
  async waitFor(to) {
    return until(`a mail to ${to}`, () => {
      const lines = fs.existsSync(this.records) ? fs.readFileSync(this.records, 'utf8').split('\n').filter(Boolean) : [];
      return lines.map((l) => JSON.parse(l)).find((r) => (r.rcpt_tos || []).includes(to));
    });
  }

  stop() {
    this.peer.stop();
  }
}

// The RFC 3464 report a Postfix writes when `recipient` does not exist: addressed to the
// code mail's envelope sender `to`, quoting its Message-ID.
export function dsn(to, recipient, messageId) {
  return [
    'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Date: Wed, 02 Dec 2026 09:00:00 +0000',
    'Message-ID: <20261202090000.ABC@mx.example.net>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain',
    '',
    `<${recipient}>: host mx.example.net said: 550 5.1.1 User unknown`,
    '',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Original-Recipient: rfc822;${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
    '',
    '--B',
    'Content-Type: text/rfc822-headers',
    '',
    'From: sae@example.com',
    `To: ${recipient}`,
    `Message-ID: ${messageId}`,
    'Subject: Your verification code',
    '',
    '--B--',
    '',
  ].join('\r\n');
}
