/**
 * A small S3-compatible server for the recording tests, path-style (`/<bucket>/<key>`), as R2 and
 * MinIO are addressed: PutObject, the multipart upload (create, upload part, complete),
 * DeleteObject, and GetObject by presigned URL, each refused unless its AWS Signature Version 4
 * checks out against the one credential it knows (and its payload matches the signed hash; a
 * presigned URL must not have expired). Objects are kept in memory. No real S3, R2 or MinIO is
 * reachable from the test machines; this checks what our clients sign, from the spec.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3 {
  readonly url: string;
  /** Stored objects by `<bucket>/<key>`. */
  readonly objects: Map<string, Buffer>;
  /** Every request as `<METHOD> <path>?<query>` with its status, oldest first. */
  readonly requests: string[];
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4's canonical query wants it. */
const encode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Why a request's SigV4 signature is refused, or null when it is good: in the Authorization header,
 * or in the query of a presigned URL (which signs no payload and carries its own expiry).
 */
function checkSignature(req: IncomingMessage, body: Buffer, accessKeyId: string, secretAccessKey: string): string | null {
  const url = new URL(req.url ?? '/', 'http://s3');
  const presigned = url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256';
  const m = presigned
    ? /^([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request$/.exec(url.searchParams.get('X-Amz-Credential') ?? '')
    : /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '');
  if (!m) return presigned ? 'bad X-Amz-Credential' : 'no SigV4 Authorization header';
  const [, keyId, date, region] = m as unknown as [string, string, string, string];
  const signedHeaders = presigned ? (url.searchParams.get('X-Amz-SignedHeaders') ?? '') : m[4]!;
  const signature = presigned ? (url.searchParams.get('X-Amz-Signature') ?? '') : m[5]!;
  if (keyId !== accessKeyId) return 'unknown access key';
  const amzDate = presigned ? (url.searchParams.get('X-Amz-Date') ?? '') : String(req.headers['x-amz-date'] ?? '');
  if (presigned) {
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!(Date.now() <= signedAt + Number(url.searchParams.get('X-Amz-Expires')) * 1000)) return 'Request has expired';
  }
  const payloadHash = presigned ? 'UNSIGNED-PAYLOAD' : String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) return 'the payload does not match its signed hash';
  const query = [...url.searchParams]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join('&');
  const headers = signedHeaders.split(';').map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = ['s3', 'aws4_request'].reduce((k, part) => hmac(k, part), hmac(hmac(`AWS4${secretAccessKey}`, date), region));
  return createHmac('sha256', key).update(toSign).digest('hex') === signature ? null : 'SignatureDoesNotMatch';
}

export async function startFakeS3(accessKeyId: string, secretAccessKey: string): Promise<FakeS3> {
  const objects = new Map<string, Buffer>();
  const uploads = new Map<string, Map<number, Buffer>>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://s3');
      const path = decodeURIComponent(url.pathname.slice(1));
      const answer = (status: number, xml = '', headers: Record<string, string> = {}) => {
        requests.push(`${req.method} ${url.pathname}${url.search} ${status}`);
        res.writeHead(status, { 'content-type': 'application/xml', ...headers });
        res.end(xml);
      };
      const refused = checkSignature(req, body, accessKeyId, secretAccessKey);
      if (refused) return answer(403, `<Error><Code>SignatureDoesNotMatch</Code><Message>${refused}</Message></Error>`);
      const uploadId = url.searchParams.get('uploadId');
      if (req.method === 'POST' && url.searchParams.has('uploads')) {
        const id = randomUUID();
        uploads.set(id, new Map());
        return answer(200, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }
      if (req.method === 'PUT' && uploadId) {
        uploads.get(uploadId)?.set(Number(url.searchParams.get('partNumber')), body);
        return answer(200, '', { etag: `"${sha256(body).slice(0, 32)}"` });
      }
      if (req.method === 'POST' && uploadId) {
        const parts = uploads.get(uploadId);
        if (!parts) return answer(404, '<Error><Code>NoSuchUpload</Code></Error>');
        objects.set(path, Buffer.concat([...parts].sort(([a], [b]) => a - b).map(([, b]) => b)));
        uploads.delete(uploadId);
        return answer(200, `<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key><ETag>"done"</ETag></CompleteMultipartUploadResult>`);
      }
      if (req.method === 'PUT') {
        objects.set(path, body);
        return answer(200, '', { etag: `"${sha256(body).slice(0, 32)}"` });
      }
      if (req.method === 'DELETE') {
        objects.delete(path);
        return answer(204);
      }
      if (req.method === 'GET') {
        const object = objects.get(path);
        if (!object) return answer(404, '<Error><Code>NoSuchKey</Code></Error>');
        requests.push(`GET ${url.pathname} 200`);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': object.length });
        return res.end(object);
      }
      return answer(400, '<Error><Code>NotImplemented</Code></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
