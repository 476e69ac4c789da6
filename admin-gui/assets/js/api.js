// The JSON API client: same-origin fetch with the session cookie, the CSRF header on every
// state-changing request, and problem+json errors as `Problem` exceptions.

let csrfToken = null;
let onUnauthorized = null;

export function setCsrf(token) {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class Problem extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : { detail: String(body || '') };
    super(b.detail || b.title || `HTTP ${status}`);
    this.status = status;
    this.body = b;
    this.field = b.field || null;
    this.code = b.code || null;
    this.title = b.title || '';
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new Problem(0, { title: 'Network error', detail: `The server could not be reached (${e.message}).` });
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get('content-type') || '';
  const data = type.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const problem = new Problem(resp.status, data);
    if (resp.status === 401 && onUnauthorized && !opts.noRedirect) onUnauthorized(problem);
    throw problem;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

// POSTs a multipart form (a file upload) with the CSRF header; answers like `api`.
export async function postForm(path, formData) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let resp;
  try {
    resp = await fetch(path, { method: 'POST', headers, body: formData, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new Problem(0, { title: 'Network error', detail: `The server could not be reached (${e.message}).` });
  }
  const type = resp.headers.get('content-type') || '';
  const data = type.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const problem = new Problem(resp.status, data);
    if (resp.status === 401 && onUnauthorized) onUnauthorized(problem);
    throw problem;
  }
  return data;
}
