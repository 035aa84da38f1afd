/// <reference types="node" />
/**
 * A synthetic participant that joins a group room through Atrium's own signaling, as twilio-video
 * does: a node-datachannel peer connection (media-server/test/support/synthetic-participant.ts,
 * the same negotiation and RTP as the media server's tests) behind the scripted twilio-video
 * signaling client (signaling-client.ts). Nothing here talks to the media server directly.
 *
 *   - its first offer goes in `connect`, with the tracks it announces (ids = its `a=msid` track ids,
 *     which is how the Room object names them to the media server) and twilio-video's default
 *     subscribe rules (everything);
 *   - what the media server sends it (the answer, then offers of the others' tracks) arrives in
 *     `update` messages, relayed by the Room object, and is handed to the participant;
 *   - its answers, later offers and trickled ICE go out as `update` messages.
 *
 *   const p = await SignalingParticipant.join({ baseUrl: atrium.url, room, identity: 'p1', video: true });
 *   await p.media.waitConnected();
 *   p.media.sendAudio(); ...                  // or p.media.startMedia()
 *   p.lines()                                 // what arrived, per publisher's track
 *   await p.leave();
 */
import { randomUUID } from 'node:crypto';
import { SyntheticParticipant, type SyntheticParticipantOptions } from '../../../media-server/test/support/synthetic-participant';
import type { PeerConnectionEntry } from '../../../media-server/src/types';
import { connectMessage, SignalingClient, token, track, type AnnouncedTrack, type Json } from './signaling-client';

export interface SignalingParticipantOptions extends Omit<SyntheticParticipantOptions, 'control' | 'transport' | 'room' | 'participant' | 'session'> {
  /** Atrium's origin (http://…); the participant opens `/signaling/{room}` on it. */
  baseUrl: string;
  /** The room's unique name (a group room: one created over REST, or an ad-hoc one of the account's default type). */
  room: string;
  identity: string;
  /** How long to wait for `connected`, ms (default 15,000). */
  timeoutMs?: number;
}

/** What arrived on one line this participant receives: a publisher's track. */
export interface LineCount {
  /** The publisher's track id (its `a=msid` track, as announced in its `connect`). */
  trackId: string;
  kind: string;
  packets: number;
  /** Packets the line's sequence numbers say were sent to it since its first (packets + lost). */
  expected: number;
  /** Date.now() of its first packet, or null before any arrived. */
  firstAt: number | null;
}

/** Frames kept after `connected` (the rest are dropped as they come: a long run would keep every SDP). */
const KEEP_FRAMES = 50;

export class SignalingParticipant {
  /** Participant sid (PA…), from `connected`. */
  sid = '';
  /** Date.now() when `connect` was sent, when `connected` arrived, when the first answer arrived. */
  readonly times = { connectSent: 0, connected: 0, answered: 0 };
  /** Room-level `error` messages the server sent after `connected`, and failures handling its entries. */
  readonly errors: unknown[] = [];

  private constructor(
    readonly media: SyntheticParticipant,
    readonly client: SignalingClient,
  ) {}

  /** Connects (resolves at `connected`); the media connection then negotiates on its own. */
  static async join(o: SignalingParticipantOptions): Promise<SignalingParticipant> {
    const { baseUrl, room, identity, timeoutMs = 15_000, ...mediaOptions } = o;
    let client: SignalingClient | null = null;
    const media = new SyntheticParticipant({
      ...mediaOptions,
      room,
      participant: identity,
      // Replies come later, in `update` messages (see onFrame).
      transport: {
        send: async (entries: PeerConnectionEntry[]) => {
          if (client?.open) client.msg({ type: 'update', version: 2, peer_connections: entries });
          return [];
        },
      },
    });
    try {
      const offer = await media.createOffer();
      const jwt = await token(identity, { room });
      const tracks: AnnouncedTrack[] = [];
      if (media.audioTrackId) tracks.push({ ...track('audio', `${identity}-audio`), id: media.audioTrackId });
      if (media.videoTrackId) tracks.push({ ...track('video', `${identity}-video`), id: media.videoTrackId });
      if (media.dataTrackId) tracks.push({ ...track('data', `${identity}-data`), id: media.dataTrackId });
      client = await SignalingClient.open(baseUrl, room);
      const p = new SignalingParticipant(media, client);
      client.onFrame = (frame) => p.onFrame(frame);
      p.times.connectSent = Date.now();
      client.send({ type: 'hello', id: randomUUID(), timeout: 5000, version: 2, body: { ...connectMessage(room, jwt, { tracks }), peer_connections: [offer] } });
      const outcome = await client.nextMsg((m) => m.type === 'connected' || m.type === 'error', timeoutMs);
      if (outcome.type === 'error') throw new Error(`${identity} was refused: ${outcome.code} ${outcome.message}`);
      p.sid = outcome.participant.sid;
      client.startHeartbeats();
      return p;
    } catch (err) {
      client?.terminate();
      media.close();
      throw err;
    }
  }

  /** Per publisher track this participant receives (a line the server offered), what arrived. */
  lines(): LineCount[] {
    const out: LineCount[] = [];
    for (const line of this.media.offered.values()) {
      if (!line.msid) continue;
      const s = this.media.received.get(line.mid);
      out.push({ trackId: line.msid.track, kind: line.kind, packets: s?.packets ?? 0, expected: s ? s.highestSeq - s.firstSeq + 1 : 0, firstAt: s ? s.firstAt : null });
    }
    return out;
  }

  /** Says `disconnect` (a clean departure, as the SDK's disconnect()), then closes the socket and the connection. */
  async leave(): Promise<void> {
    try {
      if (this.client.open) {
        this.client.msg({ type: 'disconnect', version: 2 });
        await this.client.closedByServer(2_000);
      }
    } finally {
      this.client.close();
      this.media.close();
    }
  }

  /** Closes everything at once, saying nothing (what a crashed client looks like). */
  close(): void {
    this.client.terminate();
    this.media.close();
  }

  private onFrame(frame: Json): void {
    const body = frame?.type === 'msg' ? frame.body : null;
    if (body?.type === 'connected' && !this.times.connected) this.times.connected = Date.now();
    if (body?.type === 'error' && this.sid) this.errors.push(body);
    const entries: PeerConnectionEntry[] | undefined = body?.peer_connections;
    if (Array.isArray(entries) && entries.length > 0) {
      if (!this.times.answered && entries.some((e) => e.description?.type === 'answer')) this.times.answered = Date.now();
      this.media.receive(entries).catch((err: unknown) => this.errors.push(err instanceof Error ? err.message : String(err)));
    }
    if (this.sid && this.client.frames.length > KEEP_FRAMES * 2) this.client.frames.splice(0, this.client.frames.length - KEEP_FRAMES);
  }
}
