// The JSON API under /api/v1: same-origin cookies plus the CSRF header.

let csrf = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body, headers) {
    const error = (body && body.error) || {};
    super(error.message || `The server answered ${status}.`);
    this.status = status;
    this.code = error.code || 'error';
    this.fields = error.fields || {};
    this.retryAfter = Number(headers && headers.get('Retry-After')) || 0;
  }
}

/** The request never reached the server (no signal, server down). */
export class Offline extends Error {}

export function whenSignedOut(handler) {
  onSignedOut = handler;
}

export async function getSession() {
  const body = await request('GET', '/session');
  csrf = body.csrf_token;
  return body;
}

export const get = (path) => request('GET', path);
export const send = (method, path, body) => request(method, path, body);

async function request(method, path, body, retried = false) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') {
    if (!csrf) await getSession();
    headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Offline('No connection to the diary server.');
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const error = new ApiError(response.status, data, response.headers);
  if (error.code === 'csrf_failed' && !retried) {
    await getSession();
    return request(method, path, body, true);
  }
  // A wrong password or code typed to sign a record or to change the password is a
  // 401 of a live session; so is any 401 of signing in.
  const typed = ['wrong_password', 'wrong_otp', 'otp_required'].includes(error.code);
  const signingIn = path === '/participant/activate' || path === '/staff/login';
  if (response.status === 401 && !signingIn && !typed) onSignedOut();
  throw error;
}
