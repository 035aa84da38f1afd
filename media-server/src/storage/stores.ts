import type { StorageTarget } from '../../../core/recordings';
import type { LocalStore } from './local-store';
import type { RecordingStore } from './store';

/**
 * The store a recording's order names: this server's folder, or a bucket with the order's own
 * credentials (each account may have its own bucket, so there is no server-wide one). The AWS SDK
 * is loaded on the first upload only: a server that stores locally never pays for it.
 */
export async function storeFor(target: StorageTarget, local: LocalStore): Promise<RecordingStore> {
  if (target.type === 'local') return local;
  const { S3Store } = await import('./s3-store');
  return new S3Store(target);
}
