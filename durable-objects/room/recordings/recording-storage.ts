import type { RecordingSettings } from '../../../core/recording-settings';
import type { StorageTarget } from '../../../core/recordings';

/**
 * Where a new recording is stored, chosen once when it is created: the account's bucket when its
 * recording settings enable one with a URL and a key pair, else the media server's own folder
 * (`server`, the control URL of the media server that writes it).
 */
export function storageFor(settings: RecordingSettings | null, server: string): StorageTarget {
  if (settings?.awsStorageEnabled && settings.awsS3Url && settings.accessKeyId && settings.secretAccessKey) {
    return {
      type: 's3',
      url: settings.awsS3Url,
      region: settings.region ?? 'auto',
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
    };
  }
  return { type: 'local', server };
}

/** Where the file of a recording stored in a bucket is (its MediaExternalLocation); null for the local store. */
export function externalLocation(storage: StorageTarget, key: string): string | null {
  return storage.type === 's3' ? `${storage.url.replace(/\/+$/, '')}/${key}` : null;
}
