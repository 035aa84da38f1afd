import { TwilioError } from './errors';

/** Largest request body accepted; Twilio's own parameters fit in a few kilobytes. */
export const MAX_BODY_BYTES = 64 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8 = new TextEncoder();

/**
 * Form parameters, parsed strictly: a malformed percent escape or bytes that are not UTF-8 are a
 * 70002 error, never replaced with U+FFFD (URLSearchParams would silently do that).
 * Keys repeat for arrays (`VideoCodecs=VP8&VideoCodecs=H264`).
 */
export class Params {
  private readonly values = new Map<string, string[]>();

  static parse(encoded: string): Params {
    const params = new Params();
    if (!encoded) return params;
    for (const pair of encoded.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1));
      const list = params.values.get(key);
      if (list) list.push(value);
      else params.values.set(key, [value]);
    }
    return params;
  }

  /** The single value of `name`; repeating a scalar parameter is an error. */
  get(name: string): string | undefined {
    const list = this.values.get(name);
    if (!list) return undefined;
    if (list.length > 1) throw new TwilioError(70002, `Parameter ${name} was given ${list.length} times`);
    return list[0];
  }

  getAll(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Throws 20001 for the first parameter that is not in `allowed`. */
  rejectUnknown(allowed: readonly string[]): void {
    for (const name of this.values.keys()) {
      if (!allowed.includes(name)) throw new TwilioError(20001, `Unknown parameter: ${printable(name)}`);
    }
  }
}

function decodeComponent(raw: string): string {
  const plus = raw.replace(/\+/g, ' ');
  if (!plus.includes('%')) {
    checkWellFormed(plus);
    return plus;
  }
  const bytes: number[] = [];
  for (let i = 0; i < plus.length; i++) {
    const ch = plus.charCodeAt(i);
    if (ch === 0x25 /* % */) {
      const hex = plus.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new TwilioError(70002, 'Malformed percent-encoding in request parameters');
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ch < 0x80) {
      bytes.push(ch);
    } else {
      // Raw non-ASCII in a form body: re-encode it as UTF-8 bytes.
      const cp = plus.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      checkWellFormed(s);
      bytes.push(...utf8.encode(s));
      if (cp > 0xffff) i++;
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    throw new TwilioError(70002, 'Request parameters are not valid UTF-8');
  }
}

function checkWellFormed(s: string): void {
  if (/[\uD800-\uDFFF]/.test(s) && !isWellFormed(s)) throw new TwilioError(70002, 'Request parameters are not valid UTF-8');
}

function isWellFormed(s: string): boolean {
  return !/(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF]))|(?:(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/.test(s);
}

/** A parameter name made safe to echo in an error message. */
export function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 64 ? clean.slice(0, 64) + '…' : clean;
}

/**
 * Reads a POST body as form parameters. No body at all is an empty form (curl -X POST sends no
 * Content-Type); any other content type, or a body over MAX_BODY_BYTES, is a Twilio-format 4xx.
 */
export async function readForm(request: Request): Promise<Params> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new TwilioError(70002, `Request body over ${MAX_BODY_BYTES} bytes`, 413);
  const body = await readLimited(request);
  if (body.length === 0) return new Params();
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new TwilioError(70002, 'Content-Type must be application/x-www-form-urlencoded', 415);
  }
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new TwilioError(70002, 'Request body is not valid UTF-8');
  }
  return Params.parse(text);
}

async function readLimited(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw new TwilioError(70002, `Request body over ${MAX_BODY_BYTES} bytes`, 413);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Query parameters of a URL, parsed as strictly as a form body. */
export function queryParams(url: string): Params {
  const q = url.indexOf('?');
  if (q < 0) return new Params();
  const hash = url.indexOf('#', q);
  return Params.parse(url.slice(q + 1, hash < 0 ? undefined : hash));
}
