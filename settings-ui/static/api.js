// Calls to the backend's own API. Same origin only; the page never talks to a runtime and never holds a token
// (when the backend wants an access token, the browser carries it as a cookie).

/** An answer in the API's error shape: `{"error": {"code", "message", "retryable", "field"?}}`. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code;
    this.retryable = Boolean(error.retryable);
    this.field = error.field ?? null;
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

/**
 * Sends a request and returns the parsed JSON answer (or null for an empty one).
 * Throws `ApiError` for an error answer and `NetworkError` when there is no answer.
 */
export async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
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

const CONNECTIONS = '/api/settings/runtime-connections';

/** The settings API of docs/settings.md. */
export const connections = {
  list: () => request('GET', CONNECTIONS),
  add: (candidate) => request('POST', CONNECTIONS, candidate),
  remove: (id) => request('DELETE', `${CONNECTIONS}/${encodeURIComponent(id)}`),
  test: (id) => request('POST', `${CONNECTIONS}/${encodeURIComponent(id)}/test`),
  testCandidate: (candidate) => request('POST', `${CONNECTIONS}/test`, candidate),
};

/** Every registered runtime (SPEC §5). */
export const runtimes = {
  list: () => request('GET', '/api/runtimes'),
};

/** A sentence for an error of any kind, for an alert. */
export function describeError(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof NetworkError) return error.message;
  return `Something went wrong in the page: ${error && error.message ? error.message : String(error)}`;
}
