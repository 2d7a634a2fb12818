// Calls to the backend's own API. Same origin only; the page never talks to a runtime and never holds a token
// (when the backend wants an access token, the browser carries it as a cookie).

/**
 * An answer in the API's error shape: `{"error": {"code", "message", "retryable", "field"?, "problems"?}}`.
 * `problems` lists every `{field, message}` of a request the backend found wrong at once; an older backend
 * sends only `field` and `message`, which then make the one problem.
 */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code;
    this.retryable = Boolean(error.retryable);
    this.field = error.field ?? null;
    this.earliestSeq = error.earliest_seq ?? null;
    this.retryAfterS = error.retry_after_s ?? null;
    const problems = Array.isArray(error.problems)
      ? error.problems.filter((p) => p && typeof p.message === 'string')
      : [];
    this.problems = problems.length > 0
      ? problems.map((p) => ({ field: p.field ?? null, message: p.message }))
      : [{ field: this.field, message: error.message }];
  }
}

/** The request never got an answer: the backend is down, unreachable or the connection broke. */
export class NetworkError extends Error {
  constructor(cause) {
    super('The backend could not be reached. Check that workspace-backend is running, then try again.');
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

/** The page gave up on the request (its AbortSignal fired). */
export class AbortedError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'AbortedError';
  }
}

/**
 * Sends a request and returns the parsed JSON answer (or null for an empty one).
 * Throws `ApiError` for an error answer, `NetworkError` when there is no answer and `AbortedError` when
 * `options.signal` aborted it.
 */
export async function request(method, path, body, options = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' }, signal: options.signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  let text;
  try {
    response = await fetch(path, init);
    text = await response.text();
  } catch (error) {
    if (options.signal && options.signal.aborted) throw new AbortedError();
    throw new NetworkError(error);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401 && !path.startsWith(SESSION)) {
    // The sign-in cookie is gone or the backend's token changed: the page asks for it again.
    window.dispatchEvent(new CustomEvent('yoi:signed-out'));
  }
  if (!response.ok) {
    const error = data && typeof data.error === 'object' && data.error !== null
      ? data.error
      : { code: 'http_' + response.status, message: `The backend answered ${response.status} ${response.statusText}`.trim(), retryable: response.status >= 500 };
    throw new ApiError(response.status, error);
  }
  if (text && data === null) {
    throw new ApiError(response.status, { code: 'invalid_response', message: 'The backend answered with something that is not JSON', retryable: false });
  }
  return data;
}

const SESSION = '/api/session';

/** Signing in and out (SPEC §10); the answers are `{auth: "token" | "none", signed_in}`. */
export const session = {
  get: () => request('GET', SESSION),
  /** Exchanges the access token for the backend's HttpOnly sign-in cookie. */
  signIn: (token) => request('POST', SESSION, { token }),
  signOut: () => request('DELETE', SESSION),
};

const CONNECTIONS = '/api/settings/runtime-connections';

/** The settings API of docs/settings.md. */
export const connections = {
  list: () => request('GET', CONNECTIONS),
  add: (candidate) => request('POST', CONNECTIONS, candidate),
  remove: (id) => request('DELETE', `${CONNECTIONS}/${encodeURIComponent(id)}`),
  test: (id, signal) => request('POST', `${CONNECTIONS}/${encodeURIComponent(id)}/test`, undefined, { signal }),
  testCandidate: (candidate, signal) => request('POST', `${CONNECTIONS}/test`, candidate, { signal }),
  /** Reads the configuration again, as SIGHUP does. */
  reload: () => request('POST', '/api/settings/reload'),
};

const enc = encodeURIComponent;

/** Query string of the defined values of `params`, with its `?`, or nothing. */
function query(params) {
  const pairs = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== '');
  return pairs.length === 0 ? '' : '?' + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString();
}

/** Every registered runtime (SPEC §5). */
export const runtimes = {
  list: () => request('GET', '/api/runtimes'),
  get: (id) => request('GET', `/api/runtimes/${enc(id)}`),
  profiles: (id) => request('GET', `/api/runtimes/${enc(id)}/profiles`),
};

/** Workers of every runtime, and one worker's commands and transcript (SPEC §5). */
export const workers = {
  all: (limit) => request('GET', `/api/workers${query({ limit })}`),
  list: (runtimeId, { after, limit } = {}) => request('GET', `/api/runtimes/${enc(runtimeId)}/workers${query({ after, limit })}`),
  create: (runtimeId, body) => request('POST', `/api/runtimes/${enc(runtimeId)}/workers`, body),
  get: (runtimeId, workerId) => request('GET', `/api/runtimes/${enc(runtimeId)}/workers/${enc(workerId)}`),
  input: (runtimeId, workerId, body) => request('POST', `/api/runtimes/${enc(runtimeId)}/workers/${enc(workerId)}/input`, body),
  cancel: (runtimeId, workerId) => request('POST', `/api/runtimes/${enc(runtimeId)}/workers/${enc(workerId)}/cancel`, {}),
  stop: (runtimeId, workerId, reason) => request('POST', `/api/runtimes/${enc(runtimeId)}/workers/${enc(workerId)}/stop`, reason ? { reason } : {}),
  transcript: (runtimeId, workerId, { after, limit } = {}) =>
    request('GET', `/api/runtimes/${enc(runtimeId)}/workers/${enc(workerId)}/transcript${query({ after, limit })}`),
};

/** The WebSocket URL of a runtime's event stream, on this page's own host. */
export function eventsUrl(runtimeId, params) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/runtimes/${enc(runtimeId)}/events${query(params)}`;
}

/** A sentence for an error of any kind, for an alert. */
export function describeError(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof NetworkError) return error.message;
  if (error instanceof AbortedError) return error.message;
  return `Something went wrong in the page: ${error && error.message ? error.message : String(error)}`;
}
