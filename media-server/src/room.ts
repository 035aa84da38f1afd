import type { DataSource } from './data/data-relay';
import type { Publication } from './media/publication';
import type { Session, SessionRoom } from './session/session';

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

  constructor(
    readonly sid: string,
    readonly videoCodec = 'VP8',
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
  }

  unpublish(key: string): void {
    const p = this.publications.get(key);
    if (!p) return;
    this.publications.delete(key);
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

  counts(): { publications: number; dataSources: number } {
    return { publications: this.publications.size, dataSources: this.dataSources.size };
  }
}
