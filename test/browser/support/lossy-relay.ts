/// <reference types="node" />
/**
 * A UDP relay in front of the media server that loses a share of what a client sends: a bad
 * uplink, for one participant only. The client is pointed at it by rewriting the server's
 * candidate port in the descriptions it receives (JoinOptions.candidatePorts); the media server
 * must then listen on one port for every connection (SFU_RTC_PORT_MIN = SFU_RTC_PORT_MAX).
 *
 * Each client address gets a socket of its own toward the server, so the server sees one
 * (peer-reflexive) address per client and answers there; what it answers goes back untouched.
 * Only media (SRTP and SRTCP, RFC 7983: first byte 128–191) is dropped: ICE and DTLS pass, so the
 * connection comes up as fast as any other and it is the media that suffers.
 */
import { createSocket, type Socket } from 'node:dgram';

export class LossyRelay {
  private readonly front: Socket;
  private readonly upstream = new Map<string, Socket>();
  readonly counts = { forwarded: 0, dropped: 0 };

  private constructor(
    private readonly target: { host: string; port: number },
    private readonly loss: number,
  ) {
    this.front = createSocket('udp4');
  }

  /** Listens on an ephemeral loopback port; `loss` is the share of the client's media dropped (0–1). */
  static async start(target: { host: string; port: number }, loss: number): Promise<LossyRelay> {
    const relay = new LossyRelay(target, loss);
    relay.front.on('message', (msg, from) => relay.fromClient(msg, from.address, from.port));
    await new Promise<void>((resolve) => relay.front.bind(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    return this.front.address().port;
  }

  close(): void {
    this.front.close();
    for (const s of this.upstream.values()) s.close();
  }

  private fromClient(msg: Buffer, address: string, port: number): void {
    const media = msg.length > 0 && msg[0]! >= 128 && msg[0]! <= 191;
    if (media && Math.random() < this.loss) {
      this.counts.dropped++;
      return;
    }
    this.counts.forwarded++;
    const key = `${address}:${port}`;
    let up = this.upstream.get(key);
    if (!up) {
      const socket = createSocket('udp4');
      socket.on('message', (reply) => this.front.send(reply, port, address));
      socket.bind(0, '127.0.0.1');
      this.upstream.set(key, socket);
      up = socket;
    }
    up.send(msg, this.target.port, this.target.host);
  }
}
