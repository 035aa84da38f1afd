import { describe, expect, it } from 'vitest';
import { objectUrl, presignGet } from '../core/s3-object';
import { regionOf } from '../core/recording-settings';

/** The Worker's S3 signing, in the Worker runtime, against the example AWS publishes for presigned URLs. */
describe('presignGet', () => {
  it('reproduces the signature of AWS’s published example (S3 API Reference, “Query string authentication”)', async () => {
    const url = await presignGet(
      { type: 's3', url: 'https://examplebucket.s3.amazonaws.com', region: 'us-east-1', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      'test.txt',
      86400,
      new Date(Date.UTC(2013, 4, 24)),
    );
    const q = new URL(url).searchParams;
    expect(q.get('X-Amz-Credential')).toBe('AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
    expect(q.get('X-Amz-Date')).toBe('20130524T000000Z');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Signature')).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  });

  it('puts keys under the bucket URL’s prefix, path segments encoded once', () => {
    const target = { type: 's3' as const, url: 'https://acct.r2.cloudflarestorage.com/bucket/calls/', region: 'auto', accessKeyId: 'k', secretAccessKey: 's' };
    expect(objectUrl(target, 'AC1/RT 2.mka')).toBe('https://acct.r2.cloudflarestorage.com/bucket/calls/AC1/RT%202.mka');
  });

  it('reads the region from AWS hosts, and says auto for others', () => {
    expect(regionOf('https://b.s3.eu-west-1.amazonaws.com/p')).toBe('eu-west-1');
    expect(regionOf('https://b.s3-us-west-2.amazonaws.com')).toBe('us-west-2');
    expect(regionOf('https://b.s3.amazonaws.com')).toBe('us-east-1');
    expect(regionOf('https://acct.r2.cloudflarestorage.com/bucket')).toBe('auto');
  });
});
