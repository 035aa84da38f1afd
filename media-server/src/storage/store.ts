/**
 * Where finished recordings go: one small interface over the media server's own folder
 * (local-store.ts, `npm start` and tests) and any S3-compatible bucket (s3-store.ts: R2, S3, MinIO).
 * The recorder writes to the spool; a store takes the finished file from there.
 */
export interface RecordingStore {
  /**
   * Stores the file at `filePath` under `key` and resolves with its size in bytes. The file is the
   * store's once this resolves (moved in, or uploaded and removed); on failure it is left where it is.
   */
  put(key: string, filePath: string): Promise<number>;
  /** Deletes the object; resolves with whether there was one (S3 does not say: true). */
  delete(key: string): Promise<boolean>;
}

/** Matroska audio or video, by the key's extension (`.mka`, `.mkv`), as stored and served. */
export function contentType(key: string): string {
  return key.endsWith('.mka') ? 'audio/x-matroska' : key.endsWith('.mkv') ? 'video/x-matroska' : 'application/octet-stream';
}
