import { TwilioError } from './errors';
import type { Params } from './form';
import type { StorageTarget } from './recordings';

/**
 * The account's recording settings (`/v1/RecordingSettings/Default`): where its recordings are
 * stored. Twilio's fields, and the bucket's key pair, which Twilio kept in a separate Credentials
 * resource: Atrium takes it with the settings (`AwsAccessKeyId`, `AwsSecretAccessKey`, and
 * `AwsRegion` for stores that need one) and never returns the secret.
 */
export interface RecordingSettings {
  friendlyName: string;
  /** Bucket URL with an optional prefix: `https://<bucket>.s3.<region>.amazonaws.com/<prefix>`, or path-style (R2, MinIO). */
  awsS3Url: string | null;
  /** Whether recordings go to `awsS3Url` (else to the media server's folder). */
  awsStorageEnabled: boolean;
  /** Shown as Twilio shows it: `CR` and 32 hex digits naming the key pair (derived from the key id), null without one. */
  awsCredentialsSid: string | null;
  encryptionKeySid: string | null;
  encryptionEnabled: boolean;
  accessKeyId: string | null;
  /** Never rendered. */
  secretAccessKey: string | null;
  /** SigV4 region; from the URL for AWS hosts, else `auto` (R2) unless given. */
  region: string | null;
}

export const DEFAULT_RECORDING_SETTINGS: RecordingSettings = {
  friendlyName: '',
  awsS3Url: null,
  awsStorageEnabled: false,
  awsCredentialsSid: null,
  encryptionKeySid: null,
  encryptionEnabled: false,
  accessKeyId: null,
  secretAccessKey: null,
  region: null,
};

const invalid = (why: string) => new TwilioError(70002, `Bad request: ${why}`);

/**
 * Reads `POST /v1/RecordingSettings/Default` onto the current settings: FriendlyName is required
 * (as in Twilio's API), the rest keep their value when absent. Storage cannot be enabled without a
 * bucket URL and a key pair; encryption is refused, Atrium has no key store.
 */
export async function parseRecordingSettings(params: Params, current: RecordingSettings, accountSid: string): Promise<RecordingSettings> {
  params.rejectUnknown(['FriendlyName', 'AwsCredentialsSid', 'EncryptionKeySid', 'AwsS3Url', 'AwsStorageEnabled', 'EncryptionEnabled', 'AwsAccessKeyId', 'AwsSecretAccessKey', 'AwsRegion']);
  const friendlyName = params.get('FriendlyName');
  if (!friendlyName) throw invalid('FriendlyName is required');
  if (friendlyName.length > 64) throw invalid('FriendlyName must be at most 64 characters');
  const next: RecordingSettings = { ...current, friendlyName };
  const url = params.get('AwsS3Url');
  if (url !== undefined) next.awsS3Url = url === '' ? null : bucketUrl(url);
  const enabled = bool(params, 'AwsStorageEnabled');
  if (enabled !== undefined) next.awsStorageEnabled = enabled;
  if (bool(params, 'EncryptionEnabled') === true) throw invalid('EncryptionEnabled: Atrium does not encrypt recordings; encrypt at rest in your bucket instead');
  const keySid = params.get('EncryptionKeySid');
  if (keySid !== undefined) next.encryptionKeySid = keySid || null;
  const keyId = params.get('AwsAccessKeyId');
  const secret = params.get('AwsSecretAccessKey');
  if ((keyId === undefined) !== (secret === undefined)) throw invalid('AwsAccessKeyId and AwsSecretAccessKey must be given together');
  if (keyId !== undefined && secret !== undefined) {
    if (!/^[\x21-\x7e]{1,128}$/.test(keyId) || !/^[\x21-\x7e]{1,256}$/.test(secret)) throw invalid('AwsAccessKeyId and AwsSecretAccessKey must be printable, without spaces');
    next.accessKeyId = keyId;
    next.secretAccessKey = secret;
    next.awsCredentialsSid = await credentialsSid(accountSid, keyId);
  }
  const credentials = params.get('AwsCredentialsSid');
  if (credentials !== undefined && credentials !== (next.awsCredentialsSid ?? '')) {
    throw invalid('AwsCredentialsSid: Atrium keeps no Credentials resources; give AwsAccessKeyId and AwsSecretAccessKey (the sid is derived from them)');
  }
  const region = params.get('AwsRegion');
  if (region !== undefined) {
    if (region !== '' && !/^[a-z0-9-]{1,32}$/.test(region)) throw invalid('AwsRegion must be a region name such as us-east-1 or auto');
    next.region = region || null;
  }
  if (next.awsStorageEnabled && (!next.awsS3Url || !next.accessKeyId)) {
    throw invalid('AwsStorageEnabled needs AwsS3Url and a key pair (AwsAccessKeyId, AwsSecretAccessKey)');
  }
  return next;
}

/** Where the account's recordings go: its bucket when storage is enabled, else null (the media server's folder). */
export function bucketOf(s: RecordingSettings | null): Extract<StorageTarget, { type: 's3' }> | null {
  if (!s?.awsStorageEnabled || !s.awsS3Url || !s.accessKeyId || !s.secretAccessKey) return null;
  return { type: 's3', url: s.awsS3Url, region: s.region ?? regionOf(s.awsS3Url), accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey };
}

/** The region an AWS bucket URL names (`…s3.<region>.amazonaws.com`), else `auto` (R2; MinIO ignores it). */
export function regionOf(url: string): string {
  const host = new URL(url).hostname;
  return /(?:^|\.)s3[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1] ?? (host.endsWith('amazonaws.com') ? 'us-east-1' : 'auto');
}

function bucketUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('AwsS3Url must be an absolute https URL of the bucket');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('AwsS3Url must be an http(s) URL');
  if (url.username || url.password || url.search || url.hash) throw invalid('AwsS3Url must have no credentials, query or fragment');
  return raw.replace(/\/+$/, '');
}

function bool(params: Params, name: string): boolean | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  throw invalid(`${name} must be true or false`);
}

/** `CR` + 32 hex digits of SHA-256(account, key id): stable, and says nothing of the secret. */
async function credentialsSid(accountSid: string, keyId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${accountSid}:${keyId}`)));
  return 'CR' + [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
