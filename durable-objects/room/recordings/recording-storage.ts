import type { RecordingSettings } from '../../../core/recording-settings';
import { bucketOf } from '../../../core/recording-settings';
import type { StorageTarget } from '../../../core/recordings';

/**
 * Where a new recording is stored, chosen once when it is created: the account's bucket when its
 * recording settings enable one with a URL and a key pair, else the media server's own folder
 * (`server`, the control URL of the media server that writes it).
 */
export function storageFor(settings: RecordingSettings | null, server: string): StorageTarget {
  return bucketOf(settings) ?? { type: 'local', server };
}
