// The REST API client of the console: the session (kept in sessionStorage, so it ends with
// the tab), JSON requests with the bearer token, API errors, and authenticated downloads.

const SESSION_KEY = 'switchboard.session';

/** The signed-in session `{token, role, name, domain, expires_at}`, or null. */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

let unauthorized = () => {};

/** Called (once per 401) when the server no longer accepts the session. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** An error answer of the API: `{error: {code, message, field?, details?}}`. */
export class ApiError extends Error {
  constructor(status, code, message, field, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.details = Array.isArray(details) ? details : [];
  }
}

/** `?a=1&b=x` from an object, leaving out empty values. */
export function queryString(query) {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Path segment encoding for names in URLs (`alice@example.com`, `main`). */
export const seg = (s) => encodeURIComponent(s);

async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page, an empty body): fall back to the status line.
  }
  const e = body && body.error;
  if (e && typeof e.message === 'string') {
    let message = e.message;
    const retry = res.headers.get('Retry-After');
    if (res.status === 429 && retry && !/\bsecond/.test(message)) {
      message += ` (try again in ${retry} s)`;
    }
    return new ApiError(res.status, e.code || 'error', message, e.field, e.details);
  }
  const text = res.statusText ? `${res.status} ${res.statusText}` : `HTTP ${res.status}`;
  return new ApiError(res.status, 'http', `The server answered ${text}.`);
}

async function send(method, path, { body, query, accept } = {}) {
  const headers = { Accept: accept || 'application/json' };
  const s = session();
  if (s) headers.Authorization = `Bearer ${s.token}`;
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path + queryString(query), init);
  } catch (err) {
    throw new ApiError(0, 'network', `Cannot reach the server (${err.message}).`);
  }
  if (res.status === 401 && path !== '/api/login') {
    const err = await errorFrom(res);
    clearSession();
    unauthorized(err.message);
    throw err;
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

/** A JSON request; resolves to the parsed body, or null for 204. Rejects with ApiError. */
export async function request(method, path, options = {}) {
  const res = await send(method, path, options);
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body, query) => request('POST', path, { body: body ?? {}, query }),
  put: (path, body, query) => request('PUT', path, { body, query }),
  patch: (path, body) => request('PATCH', path, { body }),
  del: (path) => request('DELETE', path),
};

function filenameFrom(disposition, fallback) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || '');
  if (!m) return fallback;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}

/**
 * Downloads `path?query` with the bearer token (a plain link cannot carry it) and saves the
 * body under the server's file name. Resolves to the file name and size in bytes.
 */
export async function download(path, query, accept, fallbackName) {
  const res = await send('GET', path, { query, accept });
  const blob = await res.blob();
  const name = filenameFrom(res.headers.get('Content-Disposition'), fallbackName);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, size: blob.size };
}
