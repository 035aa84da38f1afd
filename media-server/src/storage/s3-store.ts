import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { objectKey, s3Location, type S3Location, type S3Target } from './s3-location';
import { contentType, type RecordingStore } from './store';

/** Multipart part size: S3's minimum, so at most PART_BYTES × QUEUE_SIZE of a file is in memory. */
const PART_BYTES = 5 * 1024 * 1024;
const QUEUE_SIZE = 2;

/**
 * An S3-compatible bucket (R2, S3, MinIO), with the credentials the recording's order carried.
 * Uploads stream from the spooled file, in parts for files over one part (@aws-sdk/lib-storage).
 */
export class S3Store implements RecordingStore {
  private readonly client: S3Client;
  private readonly location: S3Location;

  constructor(target: S3Target) {
    this.location = s3Location(target.url);
    this.client = new S3Client({
      region: target.region || 'auto',
      endpoint: this.location.endpoint,
      forcePathStyle: this.location.forcePathStyle,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
      // The SDK's default CRC32 checksums on every upload are refused by some S3-compatible stores
      // (older MinIO, some R2 paths); send them only where the API requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The recorder retries a failed upload as a whole; one layer of retries is enough.
      maxAttempts: 2,
    });
  }

  async put(key: string, filePath: string): Promise<number> {
    const { size } = await stat(filePath);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: objectKey(this.location, key), Body: createReadStream(filePath), ContentType: contentType(key), ContentLength: size },
      partSize: PART_BYTES,
      queueSize: QUEUE_SIZE,
    });
    await upload.done();
    await unlink(filePath);
    return size;
  }

  async delete(key: string): Promise<boolean> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: objectKey(this.location, key) }));
    return true;
  }
}
