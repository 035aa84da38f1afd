import type { TwilioError } from '../../../core/errors';
import type { ParticipantRecord } from '../participants/participant-record';
import type { SubscribeRule } from '../participants/subscribe-rules';
import type { RoomRecord } from '../../../core/room-record';
import { Connection } from './connection';
import type { SignalingContext } from './context';
import { Departures } from './departures';
import { Handshakes } from './handshakes';
import { Presence } from './presence';
import { RoomMessages } from './room-messages';
import type { Sockets } from './sockets';

export type { SignalingEvents, SignalingDeps } from './context';
export { MAX_DURATION_PREFIX, RECONNECT_PREFIX } from './departures';
export { SWEEP } from './presence';

/**
 * Twilio's signaling protocol, spoken by the Room object to every twilio-video.js client in the
 * room. Its layers are files of their own:
 * - connection.ts: the connection layer (hello/welcome, heartbeat, msg framing, bye, errors);
 * - room-messages.ts: the room layer (ice, connect, update, sync, disconnect);
 * - presence.ts: reconnect windows, the dead-socket sweep, MaxParticipantDuration;
 * - departures.ts: leaving, being removed, the room ending;
 * and media goes through the room's media backend (../media/), which they all share.
 */
export class Signaling {
  readonly sockets: Sockets;
  /** Sockets not yet bound to a participant: their limit and deadline, in memory only. */
  readonly handshakes: Handshakes;
  private readonly departures: Departures;
  private readonly presence: Presence;
  private readonly rooms: RoomMessages;
  private readonly connection: Connection;

  constructor(c: SignalingContext) {
    this.sockets = c.sockets;
    this.handshakes = new Handshakes(c.sockets);
    this.departures = new Departures(c);
    this.presence = new Presence(c, this.departures);
    this.rooms = new RoomMessages(c, this.presence, this.departures);
    this.connection = new Connection(c, this.rooms, this.presence, this.departures, this.handshakes);
  }

  accept(accountSid: string, roomName: string, clientAddress: string | null = null): Response {
    return this.connection.accept(accountSid, roomName, clientAddress);
  }

  onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    return this.connection.onMessage(ws, data);
  }

  onClose(ws: WebSocket): void {
    this.connection.onClose(ws);
  }

  /** Handles a due deadline; false if the key is not signaling's. */
  onDeadline(key: string, now: number): boolean {
    return this.presence.onDeadline(key, now);
  }

  roomEnded(room: RoomRecord): void {
    this.departures.roomEnded(room);
  }

  disconnectParticipant(sid: string): ParticipantRecord | null {
    return this.departures.disconnectParticipant(sid);
  }

  kick(p: ParticipantRecord, error: TwilioError): void {
    this.departures.kick(p, error);
  }

  setSubscribeRules(sid: string, rules: SubscribeRule[]): ParticipantRecord | null {
    return this.rooms.setSubscribeRules(sid, rules);
  }

  sessionTimeoutSeconds(): number {
    return this.presence.sessionTimeoutSeconds();
  }
}
