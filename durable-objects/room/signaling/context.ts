import type { Env } from '../../env';
import type { Lifecycle } from '../lifecycle';
import type { MediaBackend } from '../media/media-backend';
import type { ParticipantRecord } from '../participants/participant-record';
import type { ParticipantStore } from '../participants/participant-store';
import type { TrackEvents } from '../participants/tracks';
import type { RoomRecord } from '../../../core/room-record';
import type { RoomStore } from '../room-store';
import type { Scheduler } from '../scheduler';
import type { Sockets } from './sockets';

/** What happens to participants and tracks, reported in the same step as the change (status callbacks). */
export interface SignalingEvents extends TrackEvents {
  participantConnected(room: RoomRecord, p: ParticipantRecord): void;
  participantDisconnected(room: RoomRecord, p: ParticipantRecord): void;
}

/** What the Room object hands its signaling. */
export interface SignalingDeps {
  ctx: DurableObjectState;
  env: Env;
  store: RoomStore;
  participants: ParticipantStore;
  lifecycle: Lifecycle;
  scheduler: Scheduler;
  events: SignalingEvents;
  /** The room's signaling WebSockets, shared with the media backends that send on them. */
  sockets: Sockets;
  /** The media backend of the room `roomSid` (by its type): the mesh or the media server. */
  media(roomSid: string): MediaBackend;
  /** Creates an ad-hoc room under `name` if none is in progress (53103 when the account forbids it). */
  startAdHocRoom(accountSid: string, name: string): Promise<RoomRecord>;
  /** Mirrors room changes to the catalog (awaited by callers that changed the room). */
  publishRoom(): Promise<void>;
  /** The room's `recording` state for `connected` and `synced` (recordings send its changes themselves). */
  recording(roomSid: string): { revision: number; is_recording: boolean };
}

/** What the parts of the signaling share. */
export type SignalingContext = SignalingDeps;
