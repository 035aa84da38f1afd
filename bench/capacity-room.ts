/// <reference types="node" />
/**
 * One group room of synthetic participants that joined through Atrium's signaling
 * (test/node/support/signaling-participant.ts): grown a few at a time, each sending its media
 * through a shared pacer once its connection is up, and read as counts per subscriber × publisher
 * track, for the capacity figures (bench/capacity.ts).
 */
import { SignalingParticipant } from '../test/node/support/signaling-participant';
import type { MediaPacer } from './pacer';
import { pool, sleep } from './stats';

export interface MemberMedia {
  /** Audio payload bytes, drawn per packet from [min, max]. */
  audioPayloadBytes: [number, number];
  /** Video payload bytes per packet (a whole frame). */
  videoPayloadBytes: number;
  videoPps: number;
  /** A key frame every this many video packets (and on every PLI). */
  keyFrameInterval: number;
}

/** Totals over every line of every member (a line: one publisher's track, as one subscriber receives it). */
export interface LineTotals {
  packets: number;
  expected: number;
  /** Per member, its lines' packets and expected packets (for the worst subscriber's loss). */
  perMember: Map<SignalingParticipant, { packets: number; expected: number }>;
  /** Per line ("subscriber→track"): packets so far (to find lines that went silent in a window). */
  perLine: Map<string, number>;
  /** Packets the members sent (audio and video). */
  sent: number;
}

/** Joins in flight at once while a room grows: each join makes the media server re-offer to everyone already in. */
const JOIN_CONCURRENCY = 4;

export class CapacityRoom {
  readonly members: SignalingParticipant[] = [];
  private joined = 0;

  constructor(
    private readonly baseUrl: string,
    readonly name: string,
    private readonly pacer: MediaPacer,
    private readonly media: MemberMedia,
  ) {}

  /** Members that publish video. */
  get videoPublishers(): number {
    return this.members.filter((m) => m.media.videoTrackId).length;
  }

  /**
   * Joins `count` more members (`video(n)` says whether the n-th of the room publishes video); each
   * starts sending once its connection is up. Resolves when every join has connected or failed,
   * with why those that failed did (they are closed, and not members).
   */
  async grow(count: number, video: (n: number) => boolean): Promise<string[]> {
    const first = this.joined;
    this.joined += count;
    const failures: string[] = [];
    await pool(count, JOIN_CONCURRENCY, async (i) => {
      try {
        await this.join(first + i, video(first + i));
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
    });
    return failures;
  }

  private async join(n: number, video: boolean): Promise<void> {
    const p = await SignalingParticipant.join({
      baseUrl: this.baseUrl,
      room: this.name,
      identity: `p${n}`,
      audio: true,
      video,
      audioPayloadBytes: this.media.audioPayloadBytes,
      videoPps: this.media.videoPps,
      videoPacketBytes: this.media.videoPayloadBytes,
      keyFrameInterval: this.media.keyFrameInterval,
      keepPackets: 0,
    });
    try {
      await p.media.waitConnected(20_000);
    } catch (err) {
      const frames = p.client.frames.slice(-8).map((f) => (f?.type === 'msg' ? `msg ${f.body?.type}${f.body?.peer_connections ? ` (${f.body.peer_connections.length} entries)` : ''}` : String(f?.type)));
      await p.leave().catch(() => p.close());
      const states = p.media.states.map((x) => x.state).join(' → ') || 'none';
      throw new Error(`p${n}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}; connection states ${states}; errors ${JSON.stringify(p.errors)}; last frames: ${frames.join(', ')}`);
    }
    this.members.push(p);
    this.pacer.add(p.media);
  }

  /** What should arrive and has not: "subscriber ← publisher kind" for every pair with no packet yet. */
  missing(): string[] {
    const out: string[] = [];
    for (const s of this.members) {
      const arrived = new Set(s.lines().filter((l) => l.packets > 0).map((l) => l.trackId));
      for (const q of this.members) {
        if (q === s) continue;
        for (const [kind, id] of [['audio', q.media.audioTrackId], ['video', q.media.videoTrackId]] as const) {
          if (id && !arrived.has(id)) out.push(`${s.media.participant} ← ${q.media.participant} ${kind}`);
        }
      }
    }
    return out;
  }

  /** Waits until every member receives every other's tracks; resolves with what is still missing at the deadline (none: all flowing). */
  async waitForMedia(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = this.missing();
      if (missing.length === 0 || Date.now() > deadline) return missing;
      await sleep(100);
    }
  }

  totals(): LineTotals {
    const t: LineTotals = { packets: 0, expected: 0, perMember: new Map(), perLine: new Map(), sent: 0 };
    for (const m of this.members) {
      const mine = { packets: 0, expected: 0 };
      for (const l of m.lines()) {
        mine.packets += l.packets;
        mine.expected += l.expected;
        t.perLine.set(`${m.media.participant}→${l.trackId}`, l.packets);
      }
      t.perMember.set(m, mine);
      t.packets += mine.packets;
      t.expected += mine.expected;
      t.sent += m.media.sent.audio + m.media.sent.video;
    }
    return t;
  }

  /** Every member leaves (a clean `disconnect`), its media stopped first. */
  async leaveAll(): Promise<void> {
    for (const m of this.members) this.pacer.remove(m.media);
    await Promise.all(this.members.map((m) => m.leave().catch(() => m.close())));
    this.members.length = 0;
  }
}
