import { exports } from 'cloudflare:workers';

export const ACCOUNT_SID = 'AC00000000000000000000000000000001';
export const AUTH_TOKEN = 'atrium-dev-auth-token';
export const API_KEY_SID = 'SK00000000000000000000000000000001';
export const API_KEY_SECRET = 'atrium-dev-api-key-secret';
export const ORIGIN = 'http://atrium.test';

export const basic = (user: string, pass: string): string => 'Basic ' + btoa(`${user}:${pass}`);
export const AUTH = basic(ACCOUNT_SID, AUTH_TOKEN);

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the Worker like an HTTP client would; `form` is sent as x-www-form-urlencoded. */
export async function api<T = any>(
  method: string,
  path: string,
  form?: Record<string, string | string[]> | string,
  init: { auth?: string | null; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? AUTH : init.auth;
  if (auth) headers.set('authorization', auth);
  let body: string | undefined;
  if (typeof form === 'string') {
    body = form;
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
  } else if (form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    body = params.toString();
    headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  // Redirects are answers to check (…/Media), not to follow.
  const res = await exports.default.fetch(new Request(ORIGIN + path, { method, headers, body, redirect: 'manual' }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text: the assertion that follows will say so
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

let counter = 0;
/** A room name no other test uses (storage is shared within a test file). */
export const uniqueName = (prefix = 'room'): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export const createRoom = (form: Record<string, string | string[]> = {}) =>
  api('POST', '/v1/Rooms', { UniqueName: uniqueName(), ...form });
