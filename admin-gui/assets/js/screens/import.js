// Imports: a token file (PSKC or CSV, with its pre-shared key or password) or a users CSV,
// run as a job on the server; the screen polls the job for live progress and shows the
// per-item report. The key and password are sent once and never shown again.

import { get, postForm, enc } from '../api.js';
import { h, mount, table, problemText } from '../dom.js';
import { form, select, password, toggle, radios } from '../forms.js';
import { t } from '../i18n.js';

const POLL_MS = 500;
const STATES = ['receiving', 'queued', 'running', 'done', 'failed'];

function counts(j) {
  const vars = { done: j.done, total: j.total, imported: j.imported, skipped: j.skipped_count };
  const key = `import.counts${j.total != null ? '_of' : ''}${j.dry_run ? '_dry' : ''}`;
  return t(key, vars);
}

function jobView(job) {
  const value = job.total ? job.done : job.bytes_done;
  const max = job.total || job.bytes_total || 1;
  const parts = [
    h('p', { class: 'job-state', 'data-state': job.state, text: STATES.includes(job.state) ? t(`import.state_${job.state}`) : job.state }),
    h('progress', { max, value, 'aria-label': t('import.progress') }),
    h('p', { class: 'job-counts', text: counts(job) }),
  ];
  if (job.error) parts.push(h('p', { class: 'problem', role: 'alert', text: job.error }));
  if (job.state === 'done' && job.dry_run) parts.push(h('p', { text: t('import.dry_note') }));
  if (job.state === 'done' || job.state === 'failed') {
    parts.push(table([
      { label: t('import.col_position'), key: 'position' },
      { label: t('import.col_item'), render: (s) => s.item || '' },
      { label: t('import.col_reason'), key: 'reason' },
      { label: t('import.col_detail'), key: 'detail' },
    ], job.skipped, { caption: t('import.report'), empty: t('import.no_skips') }));
    if (job.skipped_count > job.skipped.length) parts.push(h('p', { text: t('import.more', { n: job.skipped_count - job.skipped.length, id: job.id }) }));
  }
  return parts;
}

export async function render() {
  const status = h('div', { class: 'job', role: 'status', 'aria-live': 'polite' });
  const tokenOnly = h('div', {},
    select('format', t('import.format'), [['', t('import.auto')], ['pskc', 'PSKC'], ['csv', 'CSV']], ''),
    password('psk', t('import.psk'), { help: t('import.psk_help'), autocomplete: 'off' }),
    password('password', t('common.password'), { help: t('import.password_help'), autocomplete: 'off' }));
  const fileInput = h('input', { type: 'file', name: 'file', id: 'import-file', 'data-field': 'file', required: true });
  const fileField = h('div', { class: 'field', 'data-field-wrap': 'file' },
    h('label', { for: 'import-file', text: t('import.file') }), fileInput,
    h('p', { class: 'field-error', role: 'alert', hidden: true }));
  const kind = radios('kind', t('import.what'), [['tokens', t('import.tokens')], ['users', t('import.users')]], 'tokens');
  kind.addEventListener('change', () => {
    const users = kind.querySelector('input:checked')?.value === 'users';
    tokenOnly.hidden = users;
    for (const el of tokenOnly.querySelectorAll('input, select')) el.disabled = users;
  });
  const poll = async (id) => {
    const job = await get(`/v1/jobs/${enc(id)}`);
    mount(status, ...jobView(job));
    if (job.state !== 'done' && job.state !== 'failed') setTimeout(() => poll(id).catch((e) => mount(status, h('p', { class: 'problem', role: 'alert', text: problemText(e) }))), POLL_MS);
  };
  const f = form([
    kind,
    fileField,
    tokenOnly,
    toggle('dry_run', t('import.dry_run'), false),
    toggle('skip_bad', t('import.skip_bad'), false),
  ], {
    submit: t('import.submit'),
    label: t('import.label'),
    onSubmit: async (fm) => {
      const users = kind.querySelector('input:checked')?.value === 'users';
      const data = new FormData();
      if (fileInput.files.length) data.append('file', fileInput.files[0], fileInput.files[0].name);
      if (!users) {
        for (const name of ['format', 'psk', 'password']) {
          const el = fm.querySelector(`[data-field="${name}"]`);
          if (el && el.value.trim()) data.append(name, el.value.trim());
        }
      }
      for (const name of ['dry_run', 'skip_bad']) data.append(name, String(fm.querySelector(`[data-field="${name}"]`).checked));
      const created = await postForm(users ? '/v1/users/import' : '/v1/tokens/import', data);
      for (const el of fm.querySelectorAll('input[type=password]')) el.value = '';
      await poll(created.job_id);
      return t('import.queued');
    },
  });
  return h('div', {}, h('h1', { text: t('import.title') }), f, status);
}
