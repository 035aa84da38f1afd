/// <reference types="node" />
/**
 * Sends the media of many synthetic participants at exact average rates from one 5 ms timer: each
 * tick sends whatever is due for each participant since it was added, so timer drift or a short
 * busy moment delays packets but does not lower the rate. A participant more than MAX_LATE_MS
 * behind drops what is older instead of sending it in a burst, as a real encoder skips frames it
 * had no time for: so a load generator that cannot keep up sends less (and says so, `skipped`),
 * never more than the nominal rate. Each participant starts at a random phase of the audio
 * interval, so 20 participants do not all send in the same tick.
 */
import type { SyntheticParticipant } from '../media-server/test/support/synthetic-participant';

/** How far behind a participant may fall before older packets are dropped rather than sent late. */
const MAX_LATE_MS = 100;

export interface PacedMedia {
  /** Audio packets per second (one Opus frame each). */
  audioPps: number;
  /** Video packets per second of those that publish video. */
  videoPps: number;
}

interface Paced {
  p: SyntheticParticipant;
  startedAt: number;
  audio: number;
  video: number;
  reports: number;
}

export class MediaPacer {
  /** Packets dropped because they were more than MAX_LATE_MS late (this process could not keep up). */
  skipped = 0;
  private readonly paced = new Map<SyntheticParticipant, Paced>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly rates: PacedMedia) {}

  /** Starts sending `p`'s audio and video (what it publishes), and a sender report a second. */
  add(p: SyntheticParticipant): void {
    if (this.paced.has(p)) return;
    this.paced.set(p, { p, startedAt: performance.now() - Math.random() * (1000 / this.rates.audioPps), audio: 0, video: 0, reports: 0 });
    this.timer ??= setInterval(() => this.tick(), 5);
  }

  remove(p: SyntheticParticipant): void {
    this.paced.delete(p);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.paced.clear();
  }

  /** The count to send from: `done`, or, when that is more than MAX_LATE_MS behind, the count as of MAX_LATE_MS ago. */
  private catchUp(done: number, due: number, pps: number, sends: boolean): number {
    const floor = Math.floor(due - (MAX_LATE_MS / 1000) * pps);
    if (done >= floor) return done;
    if (sends) this.skipped += floor - done;
    return floor;
  }

  private tick(): void {
    const now = performance.now();
    for (const s of this.paced.values()) {
      const elapsed = (now - s.startedAt) / 1000;
      if (s.p.isClosed) continue;
      s.audio = this.catchUp(s.audio, elapsed * this.rates.audioPps, this.rates.audioPps, s.p.audioMid !== null);
      while (s.audio < Math.floor(elapsed * this.rates.audioPps)) {
        s.audio++;
        if (s.p.audioMid) s.p.sendAudio();
      }
      s.video = this.catchUp(s.video, elapsed * this.rates.videoPps, this.rates.videoPps, s.p.videoMid !== null);
      while (s.video < Math.floor(elapsed * this.rates.videoPps)) {
        s.video++;
        if (s.p.videoMid) s.p.sendVideo();
      }
      if (s.reports < Math.floor(elapsed)) {
        s.reports++;
        s.p.sendSenderReports();
      }
    }
  }
}
