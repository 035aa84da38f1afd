/**
 * The per-file setup of the media tests: one in-process media server for the file, a fresh room per
 * test, and every synthetic participant a test makes closed after it (and its room deleted at the
 * server), whether the test passed or not.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { MediaServerConfig } from '../../src/config';
import { startInProcessMediaServer, type InProcessMediaServer } from './control';
import { SyntheticParticipant, type SyntheticParticipantOptions } from './synthetic-participant';

export interface SessionStats {
  id: string;
  state: string;
  lines: { mid: string; kind: string; up: string | null; down: string | null; state: string }[];
  published: { key: string; packets: number; bytes: number; forwarded: number; nacksSent: number; plisSent: number; sinks: number }[];
  data: { key: string; messages: number; relayed: number; sinks: number }[];
}

export interface MediaFixture {
  readonly server: InProcessMediaServer;
  /** This test's room. */
  readonly room: string;
  /** A synthetic participant in this test's room, closed after the test. */
  participant(name: string, options?: Partial<SyntheticParticipantOptions>): SyntheticParticipant;
  /** The server's view of a session (GET /v1/stats' detail), or undefined if it holds none by that id. */
  session(id: string): SessionStats | undefined;
  /** A publication's counters at the server, by `<session>/<track id>`. */
  publication(key: string): SessionStats['published'][number] | undefined;
}

export function mediaFixture(overrides: Partial<MediaServerConfig> = {}): MediaFixture {
  let server: InProcessMediaServer | undefined;
  let room = '';
  let rooms = 0;
  const peers: SyntheticParticipant[] = [];

  beforeAll(async () => {
    server = await startInProcessMediaServer(overrides);
  });

  afterAll(async () => {
    await server?.close();
  });

  beforeEach(() => {
    room = `RM${String(++rooms).padStart(3, '0')}`;
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    if (server) await server.control.call('DELETE', `/v1/rooms/${room}`);
  });

  const sessions = (): SessionStats[] => {
    const detail = (server!.sfu.stats().detail ?? []) as { sessions: SessionStats[] }[];
    return detail.flatMap((r) => r.sessions);
  };

  return {
    get server() {
      if (!server) throw new Error('the media server is not started (use the fixture inside tests)');
      return server;
    },
    get room() {
      return room;
    },
    participant(name, options = {}) {
      const p = new SyntheticParticipant({ control: server!.control, room, participant: name, ...options });
      peers.push(p);
      return p;
    },
    session(id) {
      return sessions().find((s) => s.id === id);
    },
    publication(key) {
      for (const s of sessions()) {
        const p = s.published.find((x) => x.key === key);
        if (p) return p;
      }
      return undefined;
    },
  };
}
