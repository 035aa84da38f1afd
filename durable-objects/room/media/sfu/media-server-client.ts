import type { MediaSignalingFeature, TrackPriority, VideoBandwidthProfile } from '../../../../core/media-signaling';
import { signControlRequest } from '../../../../core/control-signature';
import type { RecordingOrder, RecordingState } from '../../../../core/recordings';
import type { PeerConnectionEntry } from '../../signaling/protocol';

/** How a call to a media server went wrong. */
export type MediaServerFailure =
  /** No answer: refused, timed out, or a 5xx. The server may be down; the media check decides. */
  | 'unreachable'
  /** 404 for a session: the server does not hold it (it restarted, or closed it). */
  | 'unknown-session'
  /** 409: the session cannot go on on its connection (an ICE restart); the participant needs a new one. */
  | 'needs-new-session'
  /** A 4xx about the request itself; `code` is the Twilio code to give the participant. */
  | 'rejected';

export class MediaServerError extends Error {
  constructor(
    readonly failure: MediaServerFailure,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A track a participant receives, as the media server knows it. */
export interface SubscribedTrack {
  /** Media session of the publishing participant. */
  session: string;
  /** The publisher's own id for the track: its `a=msid` track id, or its data channel's label. */
  id: string;
  kind: 'audio' | 'video' | 'data';
  /** MT… sid: how the subscriber's client names the track (switch-off, render hints). */
  sid: string;
  /** The publisher's priority for it: switch-off takes the lowest first. */
  priority: TrackPriority;
}

/** What a media session is created with. */
export interface SessionOptions {
  room: string;
  participant: string;
  pc: string;
  videoCodec: 'VP8' | 'H264';
  /** The media-signaling features the client asked for: the server opens a channel for each. */
  features: MediaSignalingFeature[];
  /** The client's video bandwidth profile. */
  profile: VideoBandwidthProfile;
}

export interface SessionInfo {
  id: string;
  pc: string;
  /** The peer connection's state at the server: new, connecting, connected, disconnected, failed, closed. */
  state: string;
}

export interface RoomInfo {
  /** Changes whenever the media server restarts. */
  boot: string;
  sessions: SessionInfo[];
}

/** A media server's recordings of a room, as it answers an order. */
export interface RecordingsReply {
  /** Changes whenever the media server restarts. */
  boot: string;
  /** Every recording of the room it knows and was not told is acknowledged. */
  recordings: RecordingState[];
}

/** Entries the client must be sent on its peer connection (answers, offers). */
export interface SignalResult {
  entries: PeerConnectionEntry[];
}

/**
 * The media server's control API (media-server/README in docs/media-server.md), signed with the
 * shared secret (core/control-signature.ts). Every call is idempotent, so one that timed out may
 * simply be made again.
 */
export class MediaServerClient {
  constructor(
    private readonly secret: string,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Creates the session (or finds it, if it exists with the same peer connection, and updates its profile). */
  openSession(server: string, id: string, body: SessionOptions): Promise<SessionInfo> {
    return this.call(server, 'PUT', `/v1/sessions/${encodeURIComponent(id)}`, body);
  }

  /** Hands the client's peer connection entries to the session; returns what the client must be sent. */
  signal(server: string, id: string, entries: PeerConnectionEntry[]): Promise<SignalResult> {
    return this.call(server, 'POST', `/v1/sessions/${encodeURIComponent(id)}/signal`, { entries });
  }

  /** Sets everything the session's participant receives; returns an offer when its connection must change. */
  subscribe(server: string, id: string, tracks: SubscribedTrack[]): Promise<SignalResult> {
    return this.call(server, 'PUT', `/v1/sessions/${encodeURIComponent(id)}/subscriptions`, { tracks });
  }

  closeSession(server: string, id: string): Promise<unknown> {
    return this.call(server, 'DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
  }

  room(server: string, roomSid: string): Promise<RoomInfo> {
    return this.call(server, 'GET', `/v1/rooms/${encodeURIComponent(roomSid)}`);
  }

  closeRoom(server: string, roomSid: string): Promise<unknown> {
    return this.call(server, 'DELETE', `/v1/rooms/${encodeURIComponent(roomSid)}`);
  }

  /**
   * Sets the recordings that should be writing in the room now (any other it writes stops) and
   * forgets the `acknowledged` ones (final states the Room object has saved); answers the state of
   * every other recording of the room it knows.
   */
  recordings(server: string, roomSid: string, orders: RecordingOrder[], acknowledged: string[]): Promise<RecordingsReply> {
    return this.call(server, 'PUT', `/v1/rooms/${encodeURIComponent(roomSid)}/recordings`, { recordings: orders, acknowledged });
  }

  /** Deletes a recording's file from the media server's own folder (local storage); `key` as the recording's. */
  deleteMedia(server: string, key: string): Promise<{ deleted: boolean }> {
    return this.call(server, 'DELETE', `/v1/media/${key.split('/').map(encodeURIComponent).join('/')}`);
  }

  private async call<T>(server: string, method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const url = server.replace(/\/+$/, '') + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: await signControlRequest(this.secret, method, path, text),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : text,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new MediaServerError('unreachable', 53000, `media server ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
    }
    const payload = (await res.json().catch(() => null)) as { code?: number; message?: string } | null;
    if (res.ok) return payload as T;
    const message = `media server ${method} ${path}: ${res.status} ${payload?.message ?? ''}`.trim();
    if (res.status >= 500) throw new MediaServerError('unreachable', 53000, message);
    // A server that refuses our signature is as good as down for this room; say why, loudly.
    if (res.status === 401 || res.status === 403) {
      throw new MediaServerError('unreachable', 53000, `${message} (check that SFU_SECRET matches the media server's)`);
    }
    if (res.status === 404 && path.startsWith('/v1/sessions/')) throw new MediaServerError('unknown-session', 53000, message);
    if (res.status === 409 && path.endsWith('/signal')) throw new MediaServerError('needs-new-session', payload?.code ?? 53405, message);
    throw new MediaServerError('rejected', typeof payload?.code === 'number' ? payload.code : 53000, payload?.message ?? message);
  }
}
