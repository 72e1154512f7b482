// The API client: same-origin fetch, the token from sessionStorage, FastAPI-shaped errors,
// retries of 429/503 honouring Retry-After, Idempotency-Key, ETag/If-Match and Link paging.

const TOKEN_KEY = 'todo.token';

/** The token lives in this tab's sessionStorage only: never a URL, a cookie or localStorage. */
export const session = {
  get token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** An answer other than 2xx. `detail` is FastAPI's: a string, or for 422 a list of problems. */
export class ApiError extends Error {
  constructor(status, detail, response) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.requestId = response?.headers.get('X-Request-Id') ?? null;
    this.retryAfter = response ? retryAfterSeconds(response) : null;
  }

  /** The 422 problems as {field, msg, loc}: `field` is the last name in `loc`. */
  get problems() {
    if (!Array.isArray(this.detail)) return [];
    return this.detail.map((p) => {
      const loc = Array.isArray(p?.loc) ? p.loc : [];
      const names = loc.filter((part) => typeof part === 'string');
      return {
        place: loc[0] ?? null,
        field: names.length > 1 ? names[names.length - 1] : null,
        msg: String(p?.msg ?? 'Invalid value'),
        loc,
      };
    });
  }
}

/** The request never got an answer (offline, connection refused, aborted). */
export class NetworkError extends Error {
  constructor(cause) {
    super('Cannot reach the server');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

const hooks = {
  unauthorized: () => {},
  busy: () => {},
};

/** `unauthorized(error)` on any 401 of an authenticated call; `busy({status, seconds})` before a retry. */
export function configure({ unauthorized, busy }) {
  if (unauthorized) hooks.unauthorized = unauthorized;
  if (busy) hooks.busy = busy;
}

const MAX_RETRIES = 3;
const MAX_WAIT_SECONDS = 60;

/** Retry-After in seconds (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(response) {
  const value = response.headers.get('Retry-After');
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The `rel="next"` target of a Link header, when it is a path on this origin. */
export function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel="?next"?\s*(;|$)/i.test(m[2]) && m[1].startsWith('/') && !m[1].startsWith('//')) {
      return m[1];
    }
  }
  return null;
}

/** A fresh random key (works outside secure contexts, unlike crypto.randomUUID). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One API call. Options: body (JSON), auth (send the token; default true), probe (a 401 is
 * the caller's business, not a sign-out), idempotencyKey, ifMatch, keepalive, retries.
 * Resolves to {data, etag, next, status}; rejects with ApiError or NetworkError.
 */
export async function call(method, path, options = {}) {
  const { body, auth = true, probe = false, idempotencyKey, ifMatch, keepalive = false } = options;
  const retries = options.retries ?? MAX_RETRIES;
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const token = options.token ?? session.token;
    if (token) headers['X-API-TOKEN'] = token;
  }
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  if (ifMatch) headers['If-Match'] = ifMatch;
  for (let attempt = 0; ; attempt += 1) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'same-origin',
        redirect: 'error',
        keepalive,
      });
    } catch (err) {
      throw new NetworkError(err);
    }
    if ((response.status === 429 || response.status === 503) && attempt < retries && !keepalive) {
      const advised = retryAfterSeconds(response);
      const seconds = Math.min(MAX_WAIT_SECONDS, advised ?? 2 ** attempt * 2);
      if (advised === null || advised <= MAX_WAIT_SECONDS) {
        hooks.busy({ status: response.status, seconds, attempt: attempt + 1 });
        await sleep(seconds * 1000);
        continue;
      }
    }
    let data = null;
    if (response.status !== 204 && (response.headers.get('Content-Type') || '').includes('json')) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const detail = data && typeof data === 'object' && 'detail' in data ? data.detail : response.statusText;
      const error = new ApiError(response.status, detail, response);
      if (response.status === 401 && auth && !probe) hooks.unauthorized(error);
      throw error;
    }
    return {
      data,
      status: response.status,
      etag: response.headers.get('ETag'),
      next: nextLink(response.headers.get('Link')),
    };
  }
}

/** A query string from the non-empty values of `params`. */
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(name, String(value));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** What to tell a person about an error, in a sentence. */
export function describe(error) {
  if (error instanceof NetworkError) {
    return 'Cannot reach the server. Check your connection and try again.';
  }
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${error?.message ?? error}`;
  const detail = typeof error.detail === 'string' ? error.detail : null;
  switch (error.status) {
    case 401:
      return 'The server did not accept your token (it may have been rotated, or its user deleted).';
    case 403:
      if (detail === 'Sign-up is disabled') {
        return 'Sign-up is closed on this server: ask an admin to create an account for you, then paste the token they give you.';
      }
      if (detail === 'Not allowed') return 'This server does not let your account do that (ask an admin).';
      return detail ?? 'Forbidden.';
    case 412:
      return 'Someone else changed this item in the meantime.';
    case 422:
      return error.problems.map((p) => p.msg).join('; ') || 'The server refused the input.';
    case 429:
    case 503: {
      const when = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : ' Try again later.';
      return `The server is busy (HTTP ${error.status}${detail ? `: ${detail}` : ''}).${when}`;
    }
    default: {
      const id = error.status >= 500 && error.requestId ? ` Request id: ${error.requestId}.` : '';
      return `${detail ?? 'Error'} (HTTP ${error.status}).${id}`;
    }
  }
}
