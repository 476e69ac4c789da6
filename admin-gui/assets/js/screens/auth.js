// Authentication type: Configuration (lockout), Global and AuthSys password rules, MFA rules,
// and the password test.

import { get, post, put } from '../api.js';
import { h, mount, table, tabs, toast, confirmAction } from '../dom.js';
import { form, input, select, toggle, values, section, textarea, showProblem, clearErrors } from '../forms.js';
import { Problem } from '../api.js';

async function lockoutTab() {
  const cfg = await get('/v1/config/lockout');
  const th = cfg.throttle || {};
  const details = h('div', { class: 'lockout-details' });
  const minutes = input('minutes', 'Minutes blocked', { type: 'number', min: 1, value: cfg.minutes, help: 'How long a temporary block lasts.' });
  const syncMinutes = () => {
    const temp = details.querySelector('[data-field=block_type]').value === 'temporary';
    minutes.hidden = !temp;
    if (temp) minutes.removeAttribute('data-skip'); else minutes.setAttribute('data-skip', '');
  };
  mount(details,
    input('attempts', 'Number of attempts', { type: 'number', min: 1, max: 10, value: cfg.attempts, help: 'Failures in a row before the block (at most 10).' }),
    select('block_type', 'Block type', [['temporary', 'Temporary'], ['permanent', 'Permanent (until an administrator unlocks)']], cfg.block_type, { on: { change: syncMinutes } }),
    minutes);
  syncMinutes();
  const enabled = toggle('enabled', 'Lock accounts after failed attempts', cfg.enabled, {
    on: { change: (e) => { details.hidden = !e.target.checked; } },
  });
  details.hidden = !cfg.enabled;
  return form([
    h('h2', { text: 'Configuration' }),
    enabled,
    details,
    h('fieldset', {}, h('legend', { text: 'Throttling' }),
      toggle('throttle.enabled', 'Slow down repeated failures', th.enabled),
      input('throttle.after', 'Delay after this many failures', { type: 'number', min: 0, value: th.after }),
      input('throttle.max_delay_s', 'Longest delay (seconds)', { type: 'number', min: 0, value: th.max_delay_s })),
  ], {
    label: 'Lockout configuration',
    onSubmit: async (fm) => {
      const v = values(fm);
      // A disabled lockout keeps its numbers but they are not required to be valid.
      const saved = await put('/v1/config/lockout', v);
      toast('Lockout configuration saved.');
      return saved.enabled ? `Saved: ${saved.attempts} attempts, ${saved.block_type} block.` : 'Saved: lockout disabled.';
    },
  });
}

// The fields of a password rule (Global, or one AuthSys rule).
export function policyFields(p = {}) {
  const patterns = h('div', { class: 'patterns' });
  const addRow = (pat = {}) => {
    const i = patterns.children.length;
    const row = h('div', { class: 'pattern-row', 'data-row': i },
      input(`patterns[${i}].pattern`, `Pattern ${i + 1} (regular expression)`, { value: pat.pattern, kind: 'raw' }),
      input(`patterns[${i}].message`, `Message when pattern ${i + 1} is not met`, { value: pat.message, kind: 'raw' }),
      h('button', { type: 'button', class: 'small', text: `Remove pattern ${i + 1}`, on: { click: () => { row.remove(); renumber(); } } }));
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
  const custom = h('fieldset', { class: 'custom' }, h('legend', { text: 'Type of password: custom patterns' }),
    h('p', { class: 'help', text: 'Every pattern must match; the message is shown for each one that does not.' }),
    patterns,
    h('button', { type: 'button', text: 'Add pattern', on: { click: () => addRow() } }));
  const strength = select('strength', 'Password strength', [['off', 'Off'], ['weak', 'Weak (letters or digits)'], ['medium', 'Medium'], ['strong', 'Strong (digits, letters and symbols)'], ['custom', 'Custom (regular expressions)']], p.strength || 'off', {
    on: { change: (e) => sync(e.target.value) },
  });
  const sync = (s) => {
    custom.hidden = s !== 'custom';
    if (s === 'custom') {
      custom.removeAttribute('data-skip');
      if (!patterns.children.length) addRow();
    } else custom.setAttribute('data-skip', '');
  };
  sync(p.strength || 'off');
  return h('div', { class: 'policy' },
    select('hash', 'Password hash', [['argon2id', 'Argon2id'], ['pbkdf2-sha256', 'PBKDF2-SHA256'], ['pbkdf2-sha512', 'PBKDF2-SHA512']], p.hash || 'argon2id'),
    input('differ', 'Password differ (previous passwords refused)', { type: 'number', min: 0, value: p.differ ?? 0, help: '0 disables the check.' }),
    input('reset_every', 'Password reset every (days)', { type: 'number', min: 0, value: p.reset_every ?? 0, help: '0: passwords never expire.' }),
    strength,
    input('min_length', 'Minimum length', { type: 'number', min: 0, value: p.min_length }),
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

function passwordTest() {
  const result = h('div', { class: 'pw-result', 'aria-live': 'polite' });
  const f = form([
    h('h3', { text: 'Password test' }),
    input('password', 'Password to test', { type: 'text', autocomplete: 'off', help: 'Checked against the saved rules (save first).' }),
    input('login', 'As user (optional: their AuthSys rule applies)', {}),
  ], {
    submit: 'Test password',
    label: 'Password test',
    onSubmit: async (fm) => {
      const v = values(fm);
      const r = await post('/v1/policies/password-test', { password: v.password || '', login: v.login });
      if (r.ok) mount(result, h('p', { class: 'notice ok', 'data-testid': 'pw-ok', text: 'The password meets every rule.' }));
      else mount(result, h('div', { class: 'notice warn' }, h('p', { text: 'Unmet rules:' }),
        h('ul', { 'data-testid': 'pw-unmet' }, r.unmet.map((u) => h('li', {}, u.message, u.pattern ? h('code', { class: 'muted', text: ` ${u.pattern}` }) : null)))));
      return '';
    },
  });
  return h('div', { class: 'card' }, f, result);
}

async function globalTab() {
  const p = await get('/v1/policies/global');
  const f = form([h('h2', { text: 'Global' }), policyFields(p)], {
    label: 'Global password rule',
    onSubmit: async (fm) => {
      // Patterns are named patterns[i].* so that an API error about one lands next to it.
      await put('/v1/policies/global', policyValues(fm));
      toast('Global rule saved.');
      return 'Saved.';
    },
  });
  return h('div', {}, f, passwordTest());
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
    toggle('enabled', 'AuthSys rules enabled (first match wins)', doc.enabled),
  ], {
    label: 'AuthSys enabled',
    onSubmit: async (fm) => {
      await save(rules, values(fm).enabled);
      return 'Saved.';
    },
  });
  const ruleForm = (rule, index) => form([
    h('h3', { text: index === null ? 'Add a rule' : `Edit rule ${rule.authsys_id}` }),
    input('authsys_id', 'AuthSys ID', { value: rule.authsys_id, help: 'The AuthSys name a user must have for this rule to replace the global one.' }),
    policyFields(rule),
  ], {
    submit: index === null ? 'Add rule' : 'Save rule',
    label: 'AuthSys rule',
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
      toast('AuthSys rules saved.');
      draw();
      return 'Saved.';
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
      h('h2', { text: 'AuthSys' }),
      enabledForm,
      table([
        { label: 'Order', render: (r) => String(rules.indexOf(r) + 1) },
        { label: 'AuthSys ID', key: 'authsys_id' },
        { label: 'Hash', key: 'hash' },
        { label: 'Strength', key: 'strength' },
        { label: 'Differ', key: 'differ' },
        { label: 'Reset every', key: 'reset_every' },
        { label: 'Actions', render: (r) => {
          const i = rules.indexOf(r);
          return h('span', { class: 'row-actions' },
            h('button', { type: 'button', class: 'small', 'data-move': `${i}up`, disabled: i === 0, 'aria-label': `Move ${r.authsys_id} up`, text: '↑', on: { click: () => move(i, -1) } }),
            h('button', { type: 'button', class: 'small', 'data-move': `${i}down`, disabled: i === rules.length - 1, 'aria-label': `Move ${r.authsys_id} down`, text: '↓', on: { click: () => move(i, 1) } }),
            h('button', { type: 'button', class: 'small', text: `Edit ${r.authsys_id}`, on: { click: () => { mount(editor, ruleForm(r, i)); editor.querySelector('input').focus(); } } }),
            h('button', { type: 'button', class: 'small danger', text: `Delete ${r.authsys_id}`, on: { click: async () => {
              if (!confirmAction(`Delete the rule ${r.authsys_id}?`)) return;
              await save(rules.filter((_, j) => j !== i), doc.enabled);
              draw();
            } } }));
        } },
      ], rules, { caption: 'Rules (first match wins)', empty: 'No AuthSys rules.' }),
      editor);
    mount(editor, ruleForm({}, null));
  };
  draw();
  return h('div', {}, box, passwordTest());
}

async function mfaTab() {
  let rules = await get('/v1/policies/mfa');
  const box = h('div');
  const draw = () => {
    mount(box, h('h2', { text: 'MFA' }),
      h('p', { class: 'help', text: 'Hash-always-present rules used by POST /v1/auth/hash: the hash is checked against the AuthValue of the user\'s AuthSys / AuthClaim.' }),
      table([
        { label: 'MFA ID', key: 'mfa_id' },
        { label: 'AuthSys', key: 'authsys' },
        { label: 'AuthClaim', key: 'authclaim' },
        { label: 'AuthValue', key: 'authvalue' },
        { label: 'Position', key: 'position' },
        { label: 'Actions', render: (r) => h('button', { type: 'button', class: 'small danger', text: `Delete ${r.mfa_id}`, on: { click: async () => {
          if (!confirmAction(`Delete the MFA rule ${r.mfa_id}?`)) return;
          rules = await put('/v1/policies/mfa', rules.filter((x) => x !== r));
          draw();
        } } }) },
      ], rules, { caption: 'MFA rules', empty: 'No MFA rules.' }),
      form([
        h('h3', { text: 'Add a rule' }),
        input('mfa_id', 'MFA ID', { help: 'The `mfa` of the API call; an opaque number is recommended.' }),
        input('authsys', 'AuthSys'),
        input('authclaim', 'AuthClaim'),
        input('authvalue', 'AuthValue (empty: given in each call)'),
        input('position', 'Position (JSON key, or CSV column number)'),
      ], {
        submit: 'Add rule',
        label: 'Add an MFA rule',
        onSubmit: async (fm) => {
          const r = values(fm);
          const next = rules.concat([r]);
          try {
            rules = await put('/v1/policies/mfa', next);
          } catch (e) {
            const m = e.field && e.field.match(/^\[?(\d+)\]?\.(.*)$/);
            if (m && Number(m[1]) === next.length - 1) throw new Problem(e.status, { ...e.body, field: m[2] });
            throw e;
          }
          draw();
          return 'Added.';
        },
      }));
  };
  draw();
  return box;
}

export async function render() {
  return h('div', {}, h('h1', { text: 'Authentication type' }),
    tabs([
      { id: 'configuration', label: 'Configuration', render: lockoutTab },
      { id: 'global', label: 'Global', render: globalTab },
      { id: 'authsys', label: 'AuthSys', render: authsysTab },
      { id: 'mfa', label: 'MFA', render: mfaTab },
    ], { label: 'Authentication type' }));
}

export { textarea, section, showProblem, clearErrors };
