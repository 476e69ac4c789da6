// Authentication type: Configuration (lockout), Global and AuthSys password rules, MFA rules,
// and the password test.

import { get, post, put } from '../api.js';
import { h, mount, table, tabs, toast, act } from '../dom.js';
import { form, input, select, toggle, values, section, textarea, showProblem, clearErrors } from '../forms.js';
import { Problem } from '../api.js';
import { t } from '../i18n.js';

async function lockoutTab() {
  const cfg = await get('/v1/config/lockout');
  const th = cfg.throttle || {};
  const details = h('div', { class: 'lockout-details' });
  const minutes = input('minutes', t('auth.minutes'), { type: 'number', min: 1, max: 525600, value: cfg.minutes, help: t('auth.minutes_help') });
  const syncMinutes = () => {
    const temp = details.querySelector('[data-field=block_type]').value === 'temporary';
    minutes.hidden = !temp;
    if (temp) minutes.removeAttribute('data-skip'); else minutes.setAttribute('data-skip', '');
  };
  mount(details,
    input('attempts', t('auth.attempts'), { type: 'number', min: 1, max: 10, value: cfg.attempts, help: t('auth.attempts_help') }),
    select('block_type', t('auth.block_type'), [['temporary', t('auth.temporary')], ['permanent', t('auth.permanent')]], cfg.block_type, { on: { change: syncMinutes } }),
    minutes);
  syncMinutes();
  const enabled = toggle('enabled', t('auth.lockout_enabled'), cfg.enabled, { help: t('auth.lockout_help'),
    on: { change: (e) => { details.hidden = !e.target.checked; } },
  });
  details.hidden = !cfg.enabled;
  return form([
    h('h2', { text: t('auth.configuration') }),
    enabled,
    details,
    h('fieldset', {}, h('legend', { text: t('auth.throttling') }),
      toggle('throttle.enabled', t('auth.throttle_enabled'), th.enabled),
      input('throttle.after', t('auth.throttle_after'), { type: 'number', min: 1, max: 100, value: th.after }),
      input('throttle.max_delay_s', t('auth.throttle_max'), { type: 'number', min: 1, max: 86400, value: th.max_delay_s })),
  ], {
    label: t('auth.lockout'),
    onSubmit: async (fm) => {
      const v = values(fm);
      // A disabled lockout keeps its numbers but they are not required to be valid.
      const saved = await put('/v1/config/lockout', v);
      return saved.enabled ? t(`auth.saved_${saved.block_type}`, { n: saved.attempts }) : t('auth.saved_off');
    },
  });
}

// The fields of a password rule (Global, or one AuthSys rule).
export function policyFields(p = {}) {
  const patterns = h('div', { class: 'patterns' });
  const addRow = (pat = {}) => {
    const i = patterns.children.length;
    const row = h('div', { class: 'pattern-row', 'data-row': i },
      input(`patterns[${i}].pattern`, t('auth.pattern', { i: i + 1 }), { value: pat.pattern, kind: 'raw' }),
      input(`patterns[${i}].message`, t('auth.pattern_message', { i: i + 1 }), { value: pat.message, kind: 'raw' }),
      h('button', { type: 'button', class: 'small', text: t('auth.remove_pattern', { i: i + 1 }), on: { click: () => { row.remove(); renumber(); } } }));
    patterns.append(row);
  };
  const renumber = () => {
    [...patterns.children].forEach((row, i) => {
      const [pat, msg] = row.querySelectorAll('input');
      pat.dataset.field = `patterns[${i}].pattern`;
      msg.dataset.field = `patterns[${i}].message`;
    });
  };
  (p.patterns || []).forEach(addRow);
  const custom = h('fieldset', { class: 'custom' }, h('legend', { text: t('auth.custom') }),
    h('p', { class: 'help', text: t('auth.custom_help') }),
    patterns,
    h('button', { type: 'button', text: t('auth.add_pattern'), on: { click: () => addRow() } }));
  const strength = select('strength', t('auth.strength'), ['off', 'weak', 'medium', 'strong', 'custom'].map((x) => [x, t(`auth.strength_${x}`)]), p.strength || 'off', {
    help: h('span', { 'data-testid': 'preset' }),
    on: { change: (e) => sync(e.target.value) },
  });
  // What the chosen preset requires, in words (the presets of sae-core's password strength).
  const preset = strength.querySelector('[data-testid=preset]');
  const sync = (s) => {
    preset.textContent = t(`auth.preset_${s}`);
    custom.hidden = s !== 'custom';
    if (s === 'custom') {
      custom.removeAttribute('data-skip');
      if (!patterns.children.length) addRow();
    } else custom.setAttribute('data-skip', '');
  };
  sync(p.strength || 'off');
  return h('div', { class: 'policy' },
    select('hash', t('auth.hash'), [['argon2id', 'Argon2id'], ['pbkdf2-sha256', 'PBKDF2-SHA256'], ['pbkdf2-sha512', 'PBKDF2-SHA512']], p.hash || 'argon2id'),
    input('differ', t('auth.differ'), { type: 'number', min: 0, max: 24, value: p.differ ?? 0, help: t('auth.differ_help') }),
    input('reset_every', t('auth.reset_every'), { type: 'number', min: 0, max: 3650, value: p.reset_every ?? 0, help: t('auth.reset_every_help') }),
    strength,
    input('min_length', t('auth.min_length'), { type: 'number', min: 1, max: 128, value: p.min_length, help: t('auth.min_length_help') }),
    custom);
}

// Pattern rows are read by position; values() sees "patterns[0].pattern" as a plain key.
export function policyValues(root) {
  const v = values(root);
  const out = {};
  const pats = [];
  for (const [k, val] of Object.entries(v)) {
    const m = k.match(/^patterns\[(\d+)\]$/);
    if (m) {
      pats[Number(m[1])] = val;
      continue;
    }
    out[k] = val;
  }
  if (out.strength === 'custom') out.patterns = pats.filter(Boolean).map((x) => ({ pattern: x.pattern || '', message: x.message || '' }));
  return out;
}

// The requirements of the preset strengths come from the server in English; they are worded
// from the catalogue (an administrator's own pattern messages are shown as written).
const UNMET = {
  'needs a letter or a digit': 'letter_or_digit',
  'needs a letter': 'letter',
  'needs a digit': 'digit',
  'needs a lower-case letter': 'lower',
  'needs an upper-case letter': 'upper',
  'needs a special character (neither letter nor digit)': 'special',
};

function unmetText(message) {
  if (UNMET[message]) return t(`unmet.${UNMET[message]}`);
  const n = message.match(/^needs at least (\d+) characters$/);
  if (n) return t('unmet.min_length', { n: Number(n[1]) });
  const m = message.match(/^must have at most (\d+) characters$/);
  if (m) return t('unmet.max_length', { n: Number(m[1]) });
  return message;
}

// The password test. `draft` (optional) reads the rule being edited from its form, so a
// rule can be tried before it is saved; otherwise the saved rules apply, as for a user or
// an AuthSys.
function passwordTest(draft) {
  const result = h('div', { class: 'pw-result', 'aria-live': 'polite' });
  const against = draft ? select('against', t('auth.test_against'), [['draft', t('auth.test_draft')], ['saved', t('auth.test_saved')]], 'draft') : null;
  const f = form([
    h('h3', { text: t('auth.test') }),
    input('password', t('auth.test_password'), { type: 'text', autocomplete: 'off' }),
    against,
    input('login', t('auth.test_login'), { help: t('auth.test_login_help') }),
    input('authsys', t('auth.test_authsys'), { help: t('auth.test_authsys_help') }),
  ], {
    submit: t('auth.test_submit'),
    label: t('auth.test'),
    onSubmit: async (fm) => {
      const v = values(fm);
      const body = { password: v.password || '' };
      if (draft && v.against === 'draft') body.policy = draft();
      else {
        if (v.login) body.login = v.login;
        if (v.authsys) body.authsys = v.authsys;
      }
      const r = await post('/v1/policies/password-test', body);
      const rule = r.rule === 'draft' ? t('auth.rule_draft') : (r.rule === 'global' ? t('auth.rule_global') : t('auth.rule_authsys', { id: r.rule.replace(/^authsys:/, '') }));
      if (r.ok) mount(result, h('p', { class: 'notice ok', 'data-testid': 'pw-ok', text: t('auth.test_ok', { rule }) }));
      else mount(result, h('div', { class: 'notice warn' }, h('p', { text: t('auth.test_unmet', { rule }) }),
        h('ul', { 'data-testid': 'pw-unmet' }, r.unmet.map((u) => h('li', {}, unmetText(u.message), u.pattern ? h('code', { class: 'muted', text: ` ${u.pattern}` }) : null)))));
      return '';
    },
  });
  return h('div', { class: 'card' }, f, result);
}

async function globalTab() {
  const p = await get('/v1/policies/global');
  const f = form([h('h2', { text: t('auth.global') }), policyFields(p)], {
    label: t('auth.global_rule'),
    onSubmit: async (fm) => {
      // Patterns are named patterns[i].* so that an API error about one lands next to it.
      await put('/v1/policies/global', policyValues(fm));
      return t('auth.global_saved');
    },
  });
  return h('div', {}, f, passwordTest(() => policyValues(f)));
}

async function authsysTab() {
  const doc = await get('/v1/policies/authsys');
  let rules = doc.rules || [];
  const box = h('div');
  const save = async (next, enabled) => {
    const saved = await put('/v1/policies/authsys', { enabled, rules: next });
    rules = saved.rules || next;
    doc.enabled = saved.enabled;
    return saved;
  };
  const enabledForm = form([
    toggle('enabled', t('auth.authsys_enabled'), doc.enabled),
  ], {
    label: t('auth.authsys_enabled'),
    onSubmit: async (fm) => {
      await save(rules, values(fm).enabled);
      return t('common.saved');
    },
  });
  const ruleForm = (rule, index) => form([
    h('h3', { text: index === null ? t('auth.add_rule') : t('auth.edit_rule', { id: rule.authsys_id }) }),
    input('authsys_id', t('auth.authsys_id'), { value: rule.authsys_id, help: t('auth.authsys_id_help') }),
    policyFields(rule),
  ], {
    submit: index === null ? t('auth.add_rule') : t('auth.save_rule'),
    label: t('auth.authsys_rule'),
    buttons: index === null ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, ruleForm({}, null)) } })],
    onSubmit: async (fm) => {
      const r = policyValues(fm);
      const next = rules.slice();
      const at = index === null ? next.length : index;
      next[at] = r;
      try {
        await save(next, doc.enabled);
      } catch (e) {
        const m = e.field && e.field.match(/^rules\[(\d+)\]\.?(.*)$/);
        if (m && Number(m[1]) === at) throw new Problem(e.status, { ...e.body, field: m[2] || 'authsys_id' });
        throw e;
      }
      toast(t('auth.authsys_saved'));
      draw();
      return '';
    },
  });
  const move = async (i, d) => {
    const next = rules.slice();
    [next[i], next[i + d]] = [next[i + d], next[i]];
    await save(next, doc.enabled);
    draw();
    box.querySelector(`[data-move="${i + d}${d < 0 ? 'up' : 'down'}"]`)?.focus();
  };
  const editor = h('div');
  const draw = () => {
    mount(box,
      h('h2', { text: t('auth.authsys') }),
      enabledForm,
      table([
        { label: t('auth.order'), render: (r) => String(rules.indexOf(r) + 1) },
        { label: t('auth.authsys_id'), key: 'authsys_id' },
        { label: t('auth.hash'), key: 'hash' },
        { label: t('auth.strength'), render: (r) => t(`auth.strength_${r.strength}`) },
        { label: t('auth.differ'), key: 'differ' },
        { label: t('auth.reset_every'), key: 'reset_every' },
        { label: t('common.actions'), render: (r) => {
          const i = rules.indexOf(r);
          return h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'small', 'data-move': `${i}up`, disabled: i === 0, 'aria-label': t('auth.move_up', { id: r.authsys_id }), text: '↑', on: { click: () => move(i, -1) } }),
            h('button', { type: 'button', class: 'small', 'data-move': `${i}down`, disabled: i === rules.length - 1, 'aria-label': t('auth.move_down', { id: r.authsys_id }), text: '↓', on: { click: () => move(i, 1) } }),
            h('button', { type: 'button', class: 'small', text: t('auth.edit', { id: r.authsys_id }), on: { click: () => { mount(editor, ruleForm(r, i)); editor.querySelector('input').focus(); } } }),
            h('button', { type: 'button', class: 'small danger', text: t('auth.delete', { id: r.authsys_id }), on: { click: async (e) => {
              if (await act(e.currentTarget, () => save(rules.filter((_, j) => j !== i), doc.enabled), { confirm: t('auth.delete_rule_confirm', { id: r.authsys_id }), verb: t('common.delete'), done: t('auth.rule_deleted', { id: r.authsys_id }) })) draw();
            } } }));
        } },
      ], rules, { caption: t('auth.rules_caption'), empty: t('auth.no_rules') }),
      editor);
    mount(editor, ruleForm({}, null));
  };
  draw();
  return h('div', {}, box, passwordTest());
}

async function mfaTab() {
  let rules = await get('/v1/policies/mfa');
  const box = h('div');
  const editor = h('div');
  // A new rule (index null) or rule `index`, changed in place.
  const ruleForm = (rule, index) => form([
    h('h3', { text: index === null ? t('auth.add_rule') : t('auth.edit_rule', { id: rule.mfa_id }) }),
    input('mfa_id', t('auth.mfa_id'), { value: rule.mfa_id, help: t('auth.mfa_id_help') }),
    input('authsys', t('auth.authsys_name'), { value: rule.authsys }),
    input('authclaim', t('auth.authclaim'), { value: rule.authclaim }),
    input('authvalue', t('auth.authvalue'), { value: rule.authvalue, help: t('auth.authvalue_help') }),
    input('position', t('auth.position'), { value: rule.position, help: t('auth.position_help') }),
  ], {
    submit: index === null ? t('auth.add_rule') : t('auth.save_rule'),
    label: t('auth.mfa_rule'),
    buttons: index === null ? [] : [h('button', { type: 'button', text: t('common.cancel'), on: { click: () => mount(editor, ruleForm({}, null)) } })],
    onSubmit: async (fm) => {
      const r = values(fm);
      const next = rules.slice();
      const at = index === null ? next.length : index;
      next[at] = r;
      try {
        rules = await put('/v1/policies/mfa', next);
      } catch (e) {
        // Errors about the rule being edited land at its fields.
        const own = (f) => { const m = f && f.match(/^\[?(\d+)\]?\.(.*)$/); return m && Number(m[1]) === at ? m[2] : null; };
        const errors = (e.body.errors || []).map((x) => ({ ...x, field: own(x.field) || x.field }));
        throw new Problem(e.status, { ...e.body, field: own(e.field) || e.field, errors });
      }
      toast(index === null ? t('auth.mfa_added', { id: r.mfa_id }) : t('auth.mfa_saved', { id: r.mfa_id }));
      draw();
      return '';
    },
  });
  const draw = () => {
    mount(box, h('h2', { text: t('auth.mfa') }),
      h('p', { class: 'help', text: t('auth.mfa_help') }),
      table([
        { label: t('auth.mfa_id'), key: 'mfa_id' },
        { label: t('auth.authsys_name'), key: 'authsys' },
        { label: t('auth.authclaim'), key: 'authclaim' },
        { label: t('auth.authvalue'), key: 'authvalue' },
        { label: t('auth.position'), key: 'position' },
        { label: t('common.actions'), render: (r) => {
          const i = rules.indexOf(r);
          return h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'small', text: t('auth.edit', { id: r.mfa_id }), on: { click: () => { mount(editor, ruleForm(r, i)); editor.querySelector('input').focus(); } } }),
            h('button', { type: 'button', class: 'small danger', text: t('auth.delete', { id: r.mfa_id }), on: { click: async (e) => {
              let next;
              if (await act(e.currentTarget, async () => { next = await put('/v1/policies/mfa', rules.filter((x) => x !== r)); }, { confirm: t('auth.delete_mfa_confirm', { id: r.mfa_id }), verb: t('common.delete'), done: t('auth.rule_deleted', { id: r.mfa_id }) })) {
                rules = next;
                draw();
              }
            } } }));
        } },
      ], rules, { caption: t('auth.mfa_rules'), empty: t('auth.no_mfa') }),
      editor);
    mount(editor, ruleForm({}, null));
  };
  draw();
  return box;
}

export async function render() {
  return h('div', {}, h('h1', { text: t('nav.auth') }),
    tabs([
      { id: 'configuration', label: t('auth.configuration'), render: lockoutTab },
      { id: 'global', label: t('auth.global'), render: globalTab },
      { id: 'authsys', label: t('auth.authsys'), render: authsysTab },
      { id: 'mfa', label: t('auth.mfa'), render: mfaTab },
    ], { label: t('nav.auth') }));
}

export { textarea, section, showProblem, clearErrors };
