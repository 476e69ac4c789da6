// Entry point: session handling, navigation and hash routing.

import { get, del, setCsrf, setUnauthorizedHandler } from './api.js';
import { h, mount, errorBox } from './dom.js';
import * as login from './screens/login.js';
import * as im from './screens/im.js';
import * as sms from './screens/sms.js';
import * as voice from './screens/voice.js';
import * as auth from './screens/auth.js';
import * as acl from './screens/acl.js';
import * as users from './screens/users.js';
import * as wallets from './screens/wallets.js';
import * as mail from './screens/mail.js';
import * as reports from './screens/reports.js';
import * as audit from './screens/audit.js';
import * as admins from './screens/admins.js';

export const ctx = { session: null, notice: null };

// [pattern, screen, nav label, system administrators only]
const ROUTES = [
  [/^\/im$/, im.render, 'IM configuration', true],
  [/^\/sms$/, sms.render, 'SMS service', true],
  [/^\/voice$/, voice.render, 'Voice service', true],
  [/^\/auth$/, auth.render, 'Authentication type', true],
  [/^\/acl$/, acl.render, 'ACLs', true],
  [/^\/users$/, users.renderList, 'Users', false],
  [/^\/users\/new$/, users.renderCreate, null, false],
  [/^\/users\/([^/]+)\/opie\/([^/]+)$/, users.renderOpie, null, false],
  [/^\/users\/([^/]+)$/, users.renderEdit, null, false],
  [/^\/wallets$/, wallets.render, 'Wallets', false],
  [/^\/mail$/, mail.render, 'Mail', true],
  [/^\/reports$/, reports.render, 'Delivery reports', true],
  [/^\/audit$/, audit.render, 'Audit log', true],
  [/^\/admins$/, admins.render, 'Administrators', true],
];

const NAV_PATH = { 'IM configuration': '/im', 'SMS service': '/sms', 'Voice service': '/voice', 'Authentication type': '/auth', ACLs: '/acl', Users: '/users', Wallets: '/wallets', Mail: '/mail', 'Delivery reports': '/reports', 'Audit log': '/audit', Administrators: '/admins' };

export function isSysAdmin() {
  return !!(ctx.session && ctx.session.system_administrator);
}

// The access a session has to a field of users or wallets: "none", "view" or "edit".
export function access(kind, field) {
  const s = ctx.session;
  if (!s || s.system_administrator) return 'edit';
  const acl = s.acl || {};
  const a = (acl[kind] || {})[field] || 'none';
  if (a === 'edit' && acl.may_modify === false) return 'view';
  return a;
}

export function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = `#${path}`;
}

async function loadSession() {
  try {
    const s = await get('/v1/session', { noRedirect: true });
    ctx.session = s;
    setCsrf(s.csrf_token);
  } catch (e) {
    if (e.status !== 401) throw e;
    ctx.session = null;
    setCsrf(null);
  }
}

export async function signedIn(s) {
  ctx.session = s;
  setCsrf(s.csrf_token);
  go(isSysAdmin() ? '/im' : '/users');
}

function renderChrome() {
  const top = document.getElementById('top');
  const nav = document.getElementById('nav');
  const signed = !!ctx.session;
  top.hidden = !signed;
  nav.hidden = !signed;
  if (!signed) return;
  document.getElementById('who').textContent = `${ctx.session.login} · ${ctx.session.group || ''}`;
  const path = location.hash.slice(1);
  const visible = { Users: access('users', 'login') !== 'none', Wallets: access('wallets', 'name') !== 'none' };
  const items = ROUTES.filter(([, , label, sys]) => label && (!sys || isSysAdmin()) && visible[label] !== false);
  mount(nav, h('ul', {}, items.map(([, , label]) => {
    const p = NAV_PATH[label];
    const current = path === p || path.startsWith(`${p}/`);
    return h('li', {}, h('a', { href: `#${p}`, 'aria-current': current ? 'page' : undefined }, label));
  })));
}

async function route() {
  const main = document.getElementById('main');
  const path = location.hash.slice(1) || '/';
  if (!ctx.session && path !== '/login') {
    location.hash = '#/login';
    return;
  }
  document.body.classList.remove('nav-open');
  document.getElementById('menu-toggle').setAttribute('aria-expanded', 'false');
  renderChrome();
  if (path === '/login') {
    if (ctx.session) return go(isSysAdmin() ? '/im' : '/users');
    mount(main, await login.render(ctx));
    document.title = 'Sign in · SAE administration';
    return;
  }
  for (const [re, screen, label, sys] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    if (sys && !isSysAdmin()) {
      mount(main, h('h1', { text: 'Not allowed' }), h('p', { text: 'Your administrator group cannot use this screen.' }));
      return;
    }
    mount(main, h('p', { class: 'loading', text: 'Loading…' }));
    try {
      const node = await screen(m.slice(1).map(decodeURIComponent), ctx);
      if (location.hash.slice(1) !== path) return; // navigated away meanwhile
      mount(main, node);
      // After a navigation (not the first page load) focus moves to the new content, so
      // keyboard and screen-reader users start there.
      if (navigated) main.focus({ preventScroll: true });
      const h1 = main.querySelector('h1');
      document.title = `${h1 ? h1.textContent : label || 'SAE'} · SAE administration`;
    } catch (e) {
      if (e.status === 401) return;
      mount(main, h('h1', { text: label || 'Error' }), errorBox(e));
    }
    return;
  }
  go(isSysAdmin() ? '/im' : '/users');
}

function setup() {
  setUnauthorizedHandler(() => {
    if (!ctx.session) return;
    ctx.session = null;
    setCsrf(null);
    ctx.notice = 'Your session has ended (idle timeout or sign-out elsewhere). Please sign in again.';
    go('/login');
  });
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await del('/v1/session', { noRedirect: true });
    } catch (e) {
      // The session may already be gone; the local state is cleared either way.
    }
    ctx.session = null;
    setCsrf(null);
    ctx.notice = 'You have signed out.';
    go('/login');
  });
  const toggle = document.getElementById('menu-toggle');
  toggle.addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    toggle.setAttribute('aria-expanded', String(open));
  });
}

setup();
// Routing waits for the session to be known (a hash change during start-up included).
const ready = loadSession();
let navigated = false;
window.addEventListener('hashchange', () => {
  navigated = true;
  ready.then(route, () => {});
});
ready.then(route, (e) => mount(document.getElementById('main'), errorBox(e)));
