import { TwilioError } from '../../core/errors';
import { signControlRequest } from '../../core/control-signature';
import { signMediaUrl } from '../../core/media-url';
import type { RecordingRecord } from '../../core/recordings';
import { deleteObject, presignGet } from '../../core/s3-object';
import type { Env } from '../../durable-objects/env';

/** How long a media URL works unless `Ttl` says otherwise, and the longest `Ttl` accepted (seconds). */
export const DEFAULT_MEDIA_TTL_SECONDS = 600;
export const MAX_MEDIA_TTL_SECONDS = 3600;

/**
 * Where a recording's bytes can be fetched for the next `ttlSeconds`: a presigned URL of the
 * account's bucket, or a URL the media server that stored the file signs for itself (the local
 * store). The Worker never carries the bytes.
 */
export async function mediaUrl(env: Env, r: RecordingRecord, ttlSeconds: number): Promise<string> {
  if (r.status !== 'completed' && r.status !== 'failed') {
    throw new TwilioError(20404, `The requested resource /Recordings/${r.sid}/Media was not found: the recording is ${r.status}`);
  }
  if (r.storage.type === 's3') return presignGet(r.storage, r.key, ttlSeconds);
  return signMediaUrl(secret(env), r.storage.server, r.key, Math.floor(Date.now() / 1000) + ttlSeconds);
}

/** Deletes a recording's file wherever it is stored; throws 20500 naming the store when it refuses. */
export async function deleteMedia(env: Env, r: RecordingRecord): Promise<void> {
  try {
    if (r.storage.type === 's3') return await deleteObject(r.storage, r.key);
    const path = `/v1/media/${r.key.split('/').map(encodeURIComponent).join('/')}`;
    const res = await fetch(r.storage.server.replace(/\/+$/, '') + path, {
      method: 'DELETE',
      headers: { authorization: await signControlRequest(secret(env), 'DELETE', path, '') },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`media server answered ${res.status}`);
  } catch (err) {
    throw new TwilioError(20500, `Internal server error: the recording's media could not be deleted (${err instanceof Error ? err.message : String(err)})`);
  }
}

function secret(env: Env): string {
  if (!env.SFU_SECRET) throw new TwilioError(20500, 'Internal server error: the server is misconfigured (SFU_SECRET)');
  return env.SFU_SECRET;
}
