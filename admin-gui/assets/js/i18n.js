// The console's languages: one message catalogue per language (messages/<lang>.js, the same
// keys in each), chosen from the browser, switchable and remembered in localStorage. Dates
// and numbers are formatted by the browser's Intl for the chosen language.
//
// A message is a string with {name} placeholders, or an object of plural forms
// ({one, other}) chosen by Intl.PluralRules for the variable `n`.

import en from './messages/en.js';
import ptBR from './messages/pt-BR.js';

export const CATALOGUES = { en, 'pt-BR': ptBR };
// The languages offered by the switch, each named in itself.
export const LANGUAGES = [['pt-BR', 'Português (Brasil)'], ['en', 'English']];
const STORE = 'sae.lang';

function fromBrowser() {
  for (const l of navigator.languages || [navigator.language || '']) {
    const tag = String(l).toLowerCase();
    if (tag.startsWith('pt')) return 'pt-BR';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

function stored() {
  try {
    const v = localStorage.getItem(STORE);
    return v && CATALOGUES[v] ? v : null;
  } catch (e) {
    return null; // storage disabled: the browser's language is used
  }
}

let lang = stored() || fromBrowser();

export const currentLanguage = () => lang;

export function setLanguage(l) {
  if (!CATALOGUES[l]) return;
  lang = l;
  try {
    localStorage.setItem(STORE, l);
  } catch (e) {
    // Not remembered when storage is disabled; the choice still applies to this page.
  }
  document.documentElement.lang = l;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] !== undefined && vars[k] !== null ? format(vars[k]) : m));
}

function format(v) {
  return typeof v === 'number' ? number(v) : String(v);
}

// The message `key` in the current language (English when the key is missing there, the
// key itself when missing everywhere, so a gap shows instead of hiding).
export function t(key, vars) {
  const m = CATALOGUES[lang][key] ?? CATALOGUES.en[key];
  if (m === undefined) return key;
  if (typeof m === 'object') {
    const n = vars && typeof vars.n === 'number' ? vars.n : 0;
    const form = new Intl.PluralRules(lang).select(n);
    return fill(m[form] ?? m.other, vars);
  }
  return fill(m, vars);
}

// Whether the catalogue has `key` (for optional messages such as an error code's words).
export const has = (key) => CATALOGUES.en[key] !== undefined;

export function number(n, opts) {
  return new Intl.NumberFormat(lang, opts).format(n);
}

export function percent(fraction) {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(fraction);
}

// A time from the API (RFC 3339 text or Unix seconds) as a local date and time.
export function dateTime(v) {
  if (v === undefined || v === null || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium' }).format(d);
}

export function shortTime(ms) {
  return new Intl.DateTimeFormat(lang, { day: '2-digit', month: '2-digit', hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

document.documentElement.lang = lang;
