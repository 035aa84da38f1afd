import type { Sockets } from './sockets';

/** An `update` room message under construction: any of its fields may be filled by several parts. */
export interface UpdateBody {
  type: 'update';
  participants?: unknown[];
  peer_connections?: unknown[];
  subscribed?: unknown;
  [field: string]: unknown;
}

/**
 * The `update` messages one step of the room sends, at most one per participant. The signaling
 * fills in who arrived, left or changed; the media backend adds the peer connections and
 * subscriptions that go with it. `flush` sends them, in the order their recipients were first named.
 */
export class Outgoing {
  private readonly bodies = new Map<string, UpdateBody>();

  /** The update `participantSid` will be sent, created on first use. */
  to(participantSid: string): UpdateBody {
    let body = this.bodies.get(participantSid);
    if (!body) {
      body = { type: 'update' };
      this.bodies.set(participantSid, body);
    }
    return body;
  }

  /** Adds peer connection entries to `participantSid`'s update. */
  addPeerConnections(participantSid: string, entries: unknown[]): void {
    if (entries.length === 0) return;
    const body = this.to(participantSid);
    body.peer_connections = [...(body.peer_connections ?? []), ...entries];
  }

  flush(sockets: Sockets): void {
    for (const [sid, body] of this.bodies) sockets.sendTo(sid, body);
    this.bodies.clear();
  }
}
