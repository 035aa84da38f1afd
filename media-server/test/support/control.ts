/**
 * The media server's control API for tests and benchmarks: a signed client (as the Room object's
 * media-server-client.ts signs its requests) and an in-process media server (`new Sfu(config)` and
 * `controlServer(sfu, secret)` on a free port), so that tests can look at its state directly.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signControlRequest } from '../../../core/control-signature';
import type { MediaServerConfig } from '../../src/config';
import { controlServer } from '../../src/control/http-server';
import { Sfu } from '../../src/sfu';

export interface ControlResponse<T = unknown> {
  status: number;
  body: T;
}

/** Signed requests to one media server's control API. */
export interface ControlClient {
  readonly url: string;
  /** A signed request; `body` is sent as JSON. Resolves with any status; the body parsed as JSON (or the text, if it is not). */
  call<T = any>(method: string, path: string, body?: unknown): Promise<ControlResponse<T>>;
}

/** A control response the caller did not expect (anything but 200). */
export class ControlCallError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${method} ${path} → ${status} ${JSON.stringify(body)}`);
  }
}

export function controlClient(url: string, secret: string, timeoutMs = 15_000): ControlClient {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async call(method, path, body) {
      const text = body === undefined ? '' : JSON.stringify(body);
      const res = await fetch(base + path, {
        method,
        headers: { authorization: await signControlRequest(secret, method, path, text), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : text,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const raw = await res.text();
      let parsed: unknown = raw;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // left as text: the tests say what they expected
      }
      return { status: res.status, body: parsed as never };
    },
  };
}

/** Throws ControlCallError unless the response is a 200; returns its body. */
export async function ok<T = any>(client: ControlClient, method: string, path: string, body?: unknown): Promise<T> {
  const res = await client.call<T>(method, path, body);
  if (res.status !== 200) throw new ControlCallError(method, path, res.status, res.body);
  return res.body;
}

export interface InProcessMediaServer {
  readonly sfu: Sfu;
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  readonly secret: string;
  readonly config: MediaServerConfig;
  /** A client signing with the server's secret. */
  readonly control: ControlClient;
  close(): Promise<void>;
}

/**
 * Starts a media server in this process, on 127.0.0.1 and a port of the system's choosing. Media
 * sockets bind every interface (as in production) and 127.0.0.1 is the only announced address.
 */
export async function startInProcessMediaServer(overrides: Partial<MediaServerConfig> = {}): Promise<InProcessMediaServer> {
  const secret = overrides.secret ?? randomBytes(24).toString('hex');
  const config: MediaServerConfig = {
    port: 0,
    host: '127.0.0.1',
    secret,
    announcedAddresses: ['127.0.0.1'],
    rtcPortRange: null,
    bindAddress: '0.0.0.0',
    sessionIdleSeconds: 60,
    ...overrides,
  };
  const sfu = new Sfu(config);
  const server = controlServer(sfu, secret);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    sfu,
    server,
    url,
    port,
    secret,
    config,
    control: controlClient(url, secret),
    async close() {
      if (closed) return;
      closed = true;
      sfu.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
