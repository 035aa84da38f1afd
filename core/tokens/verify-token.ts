/**
 * Verifies a Twilio Video access token (the JWT apps mint with the helper libraries) for a
 * connect to `roomName`, and says why it is unacceptable with Twilio's error codes:
 * 20101 malformed, 20102 header, 20103 issuer/subject, 20104 expiry, 20105 not yet valid,
 * 20106 grants, 20107 signature, 53200–53202 identity.
 *
 * Checks run in an order that leaks nothing to forgers: only the header and the issuer are
 * judged before the signature; every other claim is judged only on a token the key really signed.
 */
import { base64url, compactVerify, errors } from 'jose';
import type { Accounts } from '../accounts';
import { TwilioError } from '../errors';
import type { HmacHash } from '../hmac';
import { keyFor } from '../hmac';

export interface VideoToken {
  accountSid: string;
  apiKeySid: string;
  identity: string;
  /** video.room or null (any room) */
  room: string | null;
  /** epoch seconds */
  expiresAt: number;
}

/** The algorithms twilio-node's AccessToken can sign with; `none` and asymmetric ones are refused. */
const ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const CONTENT_TYPE = 'twilio-fpa;v=1';
/** Twilio caps a token's lifetime at 24 hours. */
const MAX_LIFETIME_SECONDS = 86_400;
/**
 * Tolerated clock difference between the minting server and us, applied to exp and nbf (and to
 * the lifetime measured from now). A minute covers NTP-synced hosts and phones with sloppy clocks
 * while keeping the window an expired or early token gains small.
 */
export const CLOCK_SKEW_SECONDS = 60;
/** Twilio's limit on participant identities, in characters (code points). */
const MAX_IDENTITY_LENGTH = 128;
/** C0 controls, DEL and C1 controls: they break logs, headers and the SDKs' own displays. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;

export async function verifyAccessToken(
  jwt: string,
  accounts: Accounts,
  roomName: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<VideoToken> {
  const segments = typeof jwt === 'string' ? jwt.split('.') : [];
  if (segments.length !== 3 || !segments.every((s) => BASE64URL_SEGMENT.test(s))) {
    throw new TwilioError(20101, 'Access token is not a JWT: expected three base64url segments');
  }
  const [encodedHeader, encodedPayload] = segments as [string, string, string];

  const header = decodeSegment(encodedHeader);
  if (!header) throw new TwilioError(20102, 'Access token header is not a base64url-encoded JSON object');
  const alg = checkHeader(header);

  const payload = decodeSegment(encodedPayload);
  if (!payload) throw new TwilioError(20101, 'Access token payload is not a base64url-encoded JSON object');

  const { iss, sub } = payload;
  const account = typeof iss === 'string' ? accounts.byApiKeySid(iss) : undefined;
  const secret = account && typeof iss === 'string' ? account.apiKeys.get(iss) : undefined;
  if (!account || secret === undefined || typeof iss !== 'string') {
    throw new TwilioError(20103, 'Access token issuer (iss) is not an API key of this deployment');
  }
  await checkSignature(jwt, secret, alg);
  if (sub !== account.sid) {
    throw new TwilioError(20103, 'Access token subject (sub) is not the account that owns the signing API key');
  }

  const expiresAt = checkTimes(payload, nowSeconds);
  const grants = payload.grants;
  if (!isObject(grants)) throw new TwilioError(20106, 'Access token has no grants object');
  const identity = checkIdentity(grants.identity);
  const room = checkVideoGrant(grants.video, roomName);

  return { accountSid: account.sid, apiKeySid: iss, identity, room, expiresAt };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One base64url JSON segment as an object, or null when it is not one. */
function decodeSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(base64url.decode(segment)));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** Returns the (whitelisted) alg. */
function checkHeader(header: Record<string, unknown>): string {
  const { alg, typ, cty } = header;
  if (typeof alg !== 'string' || !ALGORITHMS.includes(alg)) {
    throw new TwilioError(20102, `Access token algorithm ${JSON.stringify(alg ?? null)} is not allowed; use HS256, HS384 or HS512`);
  }
  // typ is a media type, and those compare case-insensitively (RFC 7515 §4.1.9).
  if (typ !== undefined && (typeof typ !== 'string' || typ.toUpperCase() !== 'JWT')) {
    throw new TwilioError(20102, 'Access token header typ must be "JWT"');
  }
  if (cty !== undefined && cty !== CONTENT_TYPE) {
    throw new TwilioError(20102, `Access token header cty must be "${CONTENT_TYPE}"`);
  }
  // Twilio's tokens never carry crit or b64; jose would refuse unknown crit anyway, but as a
  // generic JOSE error rather than as the header problem it is.
  if ('crit' in header || 'b64' in header) {
    throw new TwilioError(20102, 'Access token header must not use crit or b64');
  }
  return alg;
}

async function checkSignature(jwt: string, secret: string, alg: string): Promise<void> {
  try {
    // Pinning algorithms to the header's own (already whitelisted) alg keeps jose from ever
    // choosing one for us; the key is imported for that alg, and jose checks that they agree.
    // The key is imported once per secret and alg (core/hmac.ts): given raw bytes, jose would import
    // one on every verification.
    await compactVerify(jwt, await keyFor(`SHA-${alg.slice(2)}` as HmacHash, secret), { algorithms: [alg] });
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new TwilioError(20107, 'Access token signature does not match the API key secret');
    }
    // Anything else jose rejects here is structural: the segments were already checked, so this is
    // a defensive catch-all rather than an expected path.
    throw new TwilioError(20101, `Access token is malformed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Validates exp, nbf, iat and the 24-hour lifetime; returns exp. */
function checkTimes(payload: Record<string, unknown>, now: number): number {
  const { exp } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TwilioError(20104, 'Access token has no numeric expiration (exp)');
  }
  const iat = optionalTime(payload.iat, 20104, 'Access token issued-at (iat) is not a number');
  const nbf = optionalTime(payload.nbf, 20105, 'Access token not-before (nbf) is not a number');
  if (exp <= now - CLOCK_SKEW_SECONDS) {
    throw new TwilioError(20104, 'Access token has expired');
  }
  // Older helpers send no iat, so fall back to nbf, then to now. The second bound stops a token
  // that claims a future iat from stretching its validity beyond 24 hours from now.
  const start = iat ?? nbf ?? now;
  if (exp - start > MAX_LIFETIME_SECONDS || exp - now > MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
    throw new TwilioError(20104, 'Access token lifetime exceeds 24 hours');
  }
  if (nbf !== undefined && nbf > now + CLOCK_SKEW_SECONDS) {
    throw new TwilioError(20105, 'Access token is not valid yet (nbf is in the future)');
  }
  return exp;
}

/** An optional numeric date claim: absent → undefined, present but not a number → the error. */
function optionalTime(value: unknown, code: number, message: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TwilioError(code, message);
  return value;
}

/** grants.identity: what the participant is called; Twilio's rules for participant identities. */
function checkIdentity(identity: unknown): string {
  if (typeof identity !== 'string' || identity.length === 0) {
    throw new TwilioError(53200, 'Access token grants.identity is missing or empty');
  }
  if ([...identity].length > MAX_IDENTITY_LENGTH) {
    throw new TwilioError(53201, `Access token grants.identity is longer than ${MAX_IDENTITY_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(identity)) {
    throw new TwilioError(53202, 'Access token grants.identity contains control characters');
  }
  return identity;
}

/** grants.video must exist; a room in it must be the one being joined. Returns that room or null. */
function checkVideoGrant(video: unknown, roomName: string): string | null {
  if (!isObject(video)) throw new TwilioError(20106, 'Access token has no video grant');
  const { room } = video;
  if (room === undefined) return null;
  if (typeof room !== 'string') throw new TwilioError(20106, 'Access token video grant room is not a string');
  if (room !== roomName) {
    throw new TwilioError(20106, `Access token is for room ${JSON.stringify(room)}, not ${JSON.stringify(roomName)}`);
  }
  return room;
}
