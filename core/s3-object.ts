import { AwsClient } from 'aws4fetch';
import type { StorageTarget } from './recordings';

/** A bucket of an S3-compatible store (R2, S3, MinIO), as a recording's storage names it. */
export type S3Target = Extract<StorageTarget, { type: 's3' }>;

/**
 * One object of an S3-compatible bucket, as the Worker reaches it: a presigned GET for
 * `/v1/Recordings/{Sid}/Media`, and DELETE for a deleted recording. aws4fetch signs with SigV4 over
 * `fetch`, which is all a Worker has; the media server uploads with the AWS SDK instead
 * (multipart, streamed from disk), which needs Node.
 */

/** The object's URL: the bucket URL (with its prefix, if any) then the key. */
export function objectUrl(target: S3Target, key: string): string {
  return `${target.url.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Where a recording stored in a bucket is (its `media_external_location`); null for a media server's folder. */
export function externalLocation(storage: StorageTarget, key: string): string | null {
  return storage.type === 's3' ? objectUrl(storage, key) : null;
}

function client(target: S3Target): AwsClient {
  return new AwsClient({ accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey, service: 's3', region: target.region, retries: 0 });
}

/** A GET URL that works without credentials for `ttlSeconds` from `at` (SigV4 query signing, as S3's presigner makes). */
export async function presignGet(target: S3Target, key: string, ttlSeconds: number, at = new Date()): Promise<string> {
  const url = new URL(objectUrl(target, key));
  url.searchParams.set('X-Amz-Expires', String(ttlSeconds));
  const datetime = at.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const signed = await client(target).sign(url.toString(), { method: 'GET', aws: { signQuery: true, datetime } });
  return signed.url;
}

/** Deletes the object; a missing one counts as deleted (S3 answers 204 either way). Throws with the store's status otherwise. */
export async function deleteObject(target: S3Target, key: string): Promise<void> {
  const res = await client(target).fetch(objectUrl(target, key), { method: 'DELETE' });
  if (!res.ok && res.status !== 404) throw new Error(`DELETE ${objectUrl(target, key)}: ${res.status} ${(await res.text()).slice(0, 200)}`);
}
