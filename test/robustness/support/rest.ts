/// <reference types="node" />
/** Plain HTTP calls to a running Atrium's REST API, authenticated as the development account. */
import { DEV_CREDENTIALS } from '../../node/support/atrium-server';

export const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
export const AUTH = basic(DEV_CREDENTIALS.accountSid, DEV_CREDENTIALS.authToken);

export interface RestResponse {
  status: number;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  contentType: string;
}

/** One request; `form` is sent as application/x-www-form-urlencoded. Bounded by `timeoutMs`. */
export async function rest(
  baseUrl: string,
  method: string,
  path: string,
  form?: Record<string, string>,
  opts: { auth?: string | null; timeoutMs?: number } = {},
): Promise<RestResponse> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? AUTH : opts.auth;
  if (auth) headers.authorization = auth;
  let body: string | undefined;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const res = await fetch(baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
  return read(res);
}

export async function read(res: Response): Promise<RestResponse> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: left as text, and the assertion that follows says so
  }
  return { status: res.status, body, text, contentType: res.headers.get('content-type') ?? '' };
}

/** Every participant of a room with the given status (one page of up to 1000 is plenty here). */
export async function participants(baseUrl: string, room: string, status?: string): Promise<{ sid: string; identity: string; status: string }[]> {
  const q = new URLSearchParams({ PageSize: '1000', ...(status ? { Status: status } : {}) });
  const res = await rest(baseUrl, 'GET', `/v1/Rooms/${encodeURIComponent(room)}/Participants?${q}`);
  if (res.status !== 200) throw new Error(`listing participants of ${room}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res.body.participants;
}
