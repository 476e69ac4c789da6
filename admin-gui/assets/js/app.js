// Entry point: session handling, navigation and hash routing.

import { get, del, setCsrf, setUnauthorizedHandler } from './api.js';
import { h, mount, errorBox } from './dom.js';
import { t, LANGUAGES, currentLanguage, setLanguage } from './i18n.js';
import * as dashboard from './screens/dashboard.js';
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
import * as tokens from './screens/tokens.js';
import * as imports from './screens/import.js';

export const ctx = { session: null, notice: null };

// [pattern, screen, nav entry (catalogue key nav.<id>, path), system administrators only]
const ROUTES = [
  [/^\/dashboard$/, dashboard.render, ['dashboard', '/dashboard'], true],
  [/^\/im$/, im.render, ['im', '/im'], true],
  [/^\/sms$/, sms.render, ['sms', '/sms'], true],
  [/^\/voice$/, voice.render, ['voice', '/voice'], true],
  [/^\/auth$/, auth.render, ['auth', '/auth'], true],
  [/^\/acl$/, acl.render, ['acl', '/acl'], true],
  [/^\/users$/, users.renderList, ['users', '/users'], false],
  [/^\/users\/new$/, users.renderCreate, null, false],
  [/^\/users\/([^/]+)\/opie\/([^/]+)$/, users.renderOpie, null, false],
  [/^\/users\/([^/]+)$/, users.renderEdit, null, false],
  [/^\/wallets$/, wallets.render, ['wallets', '/wallets'], false],
  [/^\/tokens$/, tokens.render, ['tokens', '/tokens'], false],
  [/^\/import$/, imports.render, ['import', '/import'], true],
  [/^\/mail$/, mail.render, ['mail', '/mail'], true],
  [/^\/reports$/, reports.render, ['reports', '/reports'], true],
  [/^\/audit$/, audit.render, ['audit', '/audit'], true],
  [/^\/admins$/, admins.render, ['admins', '/admins'], true],
];

const home = () => (isSysAdmin() ? '/dashboard' : '/users');

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
  go(home());
}

// The texts of the page outside the screens (index.html), in the current language.
function renderStatic() {
  document.getElementById('skip').textContent = t('chrome.skip');
  document.getElementById('menu-toggle').textContent = t('chrome.menu');
  document.getElementById('logout').textContent = t('chrome.logout');
  document.getElementById('lang-label').textContent = t('chrome.language');
  document.querySelector('.brand').textContent = t('chrome.brand');
  document.getElementById('nav').setAttribute('aria-label', t('chrome.sections'));
  const sel = document.getElementById('lang');
  mount(sel, LANGUAGES.map(([v, l]) => h('option', { value: v, lang: v, selected: v === currentLanguage() }, l)));
}

function renderChrome() {
  const top = document.getElementById('top');
  const nav = document.getElementById('nav');
  const signed = !!ctx.session;
  // The header (with the language switch) shows on the sign-in page too.
  top.hidden = false;
  nav.hidden = !signed;
  for (const id of ['who', 'logout', 'menu-toggle']) document.getElementById(id).hidden = !signed;
  if (!signed) return;
  const group = ctx.session.system_administrator ? t('acl.sysadmin_group') : (ctx.session.group || '');
  document.getElementById('who').textContent = `${ctx.session.login} · ${group}`;
  const path = location.hash.slice(1);
  const visible = { users: access('users', 'login') !== 'none', wallets: access('wallets', 'name') !== 'none', tokens: access('users', 'tokens') !== 'none' };
  const items = ROUTES.filter(([, , entry, sys]) => entry && (!sys || isSysAdmin()) && visible[entry[0]] !== false);
  mount(nav, h('ul', {}, items.map(([, , [id, p]]) => {
    const current = path === p || path.startsWith(`${p}/`);
    return h('li', {}, h('a', { href: `#${p}`, 'aria-current': current ? 'page' : undefined }, t(`nav.${id}`)));
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
    if (ctx.session) return go(home());
    mount(main, await login.render(ctx));
    document.title = `${t('login.title')} · ${t('chrome.brand')}`;
    return;
  }
  for (const [re, screen, entry, sys] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    const label = entry ? t(`nav.${entry[0]}`) : null;
    if (sys && !isSysAdmin()) {
      mount(main, h('h1', { text: t('chrome.not_allowed') }), h('p', { text: t('chrome.not_allowed_text') }));
      return;
    }
    mount(main, h('p', { class: 'loading', text: t('common.loading') }));
    try {
      const node = await screen(m.slice(1).map(decodeURIComponent), ctx);
      if (location.hash.slice(1) !== path) return; // navigated away meanwhile
      mount(main, node);
      // After a navigation (not the first page load) focus moves to the new content, so
      // keyboard and screen-reader users start there.
      if (navigated) main.focus({ preventScroll: true });
      const h1 = main.querySelector('h1');
      document.title = `${h1 ? h1.textContent : label || 'SAE'} · ${t('chrome.brand')}`;
    } catch (e) {
      if (e.status === 401) return;
      mount(main, h('h1', { text: label || t('common.error') }), errorBox(e));
    }
    return;
  }
  go(home());
}

function setup() {
  setUnauthorizedHandler(() => {
    if (!ctx.session) return;
    ctx.session = null;
    setCsrf(null);
    ctx.notice = t('chrome.session_ended');
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
    ctx.notice = t('chrome.signed_out');
    go('/login');
  });
  document.getElementById('lang').addEventListener('change', (e) => {
    setLanguage(e.target.value);
    renderStatic();
    route();
  });
  const toggle = document.getElementById('menu-toggle');
  toggle.addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    toggle.setAttribute('aria-expanded', String(open));
  });
}

renderStatic();
setup();
// Routing waits for the session to be known (a hash change during start-up included).
const ready = loadSession();
let navigated = false;
window.addEventListener('hashchange', () => {
  navigated = true;
  ready.then(route, () => {});
});
ready.then(route, (e) => mount(document.getElementById('main'), errorBox(e)));
