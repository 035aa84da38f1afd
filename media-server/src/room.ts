import type { DataSource } from './data/data-relay';
import type { Publication } from './media/publication';
import { DominantSpeaker } from './msp/dominant-speaker';
import type { Quality } from './msp/network-quality';
import type { Session, SessionRoom } from './session/session';

/** Who hears of a room's publications coming and going (the recordings: recording/recordings.ts). */
export interface PublicationWatcher {
  published(room: string, p: Publication): void;
  unpublished(p: Publication): void;
}

/**
 * A room at the media server: its sessions and what they publish. Tracks are named
 * `<session>/<track id>`, as the Room object names them in subscriptions; a subscription may come
 * before the track it names (the publisher's offer is still on its way), and forwarding starts when
 * it arrives.
 */
export class Room implements SessionRoom {
  readonly sessions = new Map<string, Session>();
  private readonly publications = new Map<string, Publication>();
  private readonly dataSources = new Map<string, DataSource>();
  private readonly speaker = new DominantSpeaker();

  constructor(
    readonly sid: string,
    readonly videoCodec = 'VP8',
    private readonly watcher: PublicationWatcher | null = null,
  ) {}

  publication(key: string): Publication | undefined {
    return this.publications.get(key);
  }

  dataSource(key: string): DataSource | undefined {
    return this.dataSources.get(key);
  }

  publish(p: Publication): void {
    this.unpublish(p.key);
    this.publications.set(p.key, p);
    for (const s of this.sessions.values()) s.publicationAdded(p);
    this.watcher?.published(this.sid, p);
  }

  unpublish(key: string): void {
    const p = this.publications.get(key);
    if (!p) return;
    this.publications.delete(key);
    this.watcher?.unpublished(p);
    p.sinks.clear();
  }

  publishData(source: DataSource): void {
    this.unpublishData(source.key);
    this.dataSources.set(source.key, source);
    for (const s of this.sessions.values()) s.dataSourceAdded(source);
  }

  unpublishData(key: string): void {
    const source = this.dataSources.get(key);
    if (!source) return;
    this.dataSources.delete(key);
    source.sinks.clear();
  }

  get dominantSpeaker(): string | null {
    return this.speaker.speaker;
  }

  /**
   * Runs a few times a second: scores every participant present by its loudest audio track, and
   * when the dominant speaker changes, tells every session and lets them re-weigh their video.
   */
  detectSpeaker(now: number): void {
    const scores = new Map<string, number>();
    for (const s of this.sessions.values()) if (!s.isClosed) scores.set(s.participant, 0);
    for (const p of this.publications.values()) {
      if (p.kind !== 'audio') continue;
      const participant = this.sessions.get(p.key.slice(0, p.key.indexOf('/')))?.participant;
      if (participant === undefined || !scores.has(participant)) continue;
      scores.set(participant, Math.max(scores.get(participant)!, p.speech.score(now)));
    }
    const changed = this.speaker.update(scores, now);
    if (changed === undefined) return;
    for (const s of this.sessions.values()) {
      s.signaling.activeSpeaker(changed);
      s.signaling.reallocate();
    }
  }

  /** The latest network quality of each participant but `except` (its newest session's, if it has two). */
  qualities(except: string): { sid: string; quality: Quality }[] {
    const latest = new Map<string, Quality>();
    for (const s of this.sessions.values()) {
      if (s.participant !== except && s.signaling.latest) latest.set(s.participant, s.signaling.latest);
    }
    return [...latest].map(([sid, quality]) => ({ sid, quality }));
  }

  counts(): { publications: number; dataSources: number } {
    return { publications: this.publications.size, dataSources: this.dataSources.size };
  }
}
