import type { StorageTarget } from '../../../core/recordings';

/** A bucket of an S3-compatible store, as a recording's storage target names it. */
export type S3Target = Extract<StorageTarget, { type: 's3' }>;

/** Where an S3 target's objects go, as the AWS SDK wants it said. */
export interface S3Location {
  /** The endpoint the client talks to; undefined for AWS itself (the SDK derives it from the region). */
  endpoint: string | undefined;
  /** Path-style addressing (`<endpoint>/<bucket>/<key>`): R2, MinIO and other hosts than AWS. */
  forcePathStyle: boolean;
  bucket: string;
  /** Prepended to every key (no leading or trailing slash), or '' for none. */
  prefix: string;
}

/** AWS's virtual-hosted bucket URLs: `<bucket>.s3.<region>.amazonaws.com` (or the legacy global `<bucket>.s3.amazonaws.com`). */
const AWS_VIRTUAL_HOST = /^(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/;

/**
 * Reads a bucket URL with an optional prefix: `https://<bucket>.s3.<region>.amazonaws.com/<prefix>`
 * (virtual-hosted, AWS), else `https://<host>/<bucket>/<prefix>` (path-style: R2's
 * `<account>.r2.cloudflarestorage.com`, MinIO). The same URLs core/s3-object.ts appends keys to.
 */
export function s3Location(url: string): S3Location {
  const u = new URL(url);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('the bucket URL must be http(s)');
  const segments = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const aws = AWS_VIRTUAL_HOST.exec(u.hostname);
  if (aws) return { endpoint: undefined, forcePathStyle: false, bucket: aws[1]!, prefix: segments.join('/') };
  const [bucket, ...prefix] = segments;
  if (!bucket) throw new Error('a path-style bucket URL must name the bucket: https://<host>/<bucket>[/<prefix>]');
  return { endpoint: u.origin, forcePathStyle: true, bucket, prefix: prefix.join('/') };
}

/** The object key for a recording key under the location's prefix. */
export function objectKey(location: S3Location, key: string): string {
  return location.prefix ? `${location.prefix}/${key}` : key;
}
