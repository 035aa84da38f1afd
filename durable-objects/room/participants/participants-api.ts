import type { Result } from '../../../core/errors';
import { fail, ok, TwilioError } from '../../../core/errors';
import { isSid } from '../../../core/sids';
import type { RoomRecord } from '../../../core/room-record';
import { isGroupType } from '../../../core/room-record';
import type { RoomStore } from '../room-store';
import type { ParticipantRecord, TrackKind, TrackRecord } from './participant-record';
import type { ParticipantQuery, ParticipantStore } from './participant-store';
import type { MediaBackend } from '../media/media-backend';
import type { Signaling } from '../signaling/signaling';
import type { SubscribeRule } from './subscribe-rules';
import { parseSubscribeRules, rulesOf } from './subscribe-rules';

/** A participant as the REST API shows it: plain data, so it crosses Durable Object RPC. */
export interface ParticipantView {
  sid: string;
  roomSid: string;
  identity: string;
  /** REST knows only these two: a reconnecting participant keeps its place, so it is connected. */
  status: 'connected' | 'disconnected';
  /** Epoch ms. */
  connectedAt: number;
  disconnectedAt: number | null;
}

/** A published track, or one a participant receives (then `publisherSid` is someone else). */
export interface TrackView {
  sid: string;
  name: string;
  kind: TrackKind;
  enabled: boolean;
  /** Epoch ms. */
  publishedAt: number;
  /** The participant that publishes it. */
  publisherSid: string;
}

/** A participant and a list of its tracks. */
export interface ParticipantTracks {
  participant: ParticipantView;
  tracks: TrackView[];
}

/** A participant and the subscribe rules in force for it. */
export interface ParticipantRules {
  participant: ParticipantView;
  rules: SubscribeRule[];
}

/**
 * What the REST participant resources need from a Room object: lookups by sid or identity, lists,
 * the kick, and subscribe rules. Every method answers a `Result` (errors as Twilio codes), because
 * its values cross Durable Object RPC to the Worker.
 */
export class ParticipantsApi {
  constructor(
    private readonly rooms: RoomStore,
    private readonly participants: ParticipantStore,
    private readonly signaling: Signaling,
    private readonly media: (roomSid: string) => MediaBackend,
  ) {}

  /** One page (plus one row, to tell whether more follow) of the room's participants. */
  list(roomSid: string, query: ParticipantQuery): Result<ParticipantView[]> {
    return this.run(() => {
      this.room(roomSid);
      return this.participants.list(roomSid, query).map(participantView);
    });
  }

  participant(roomSid: string, sidOrIdentity: string): Result<ParticipantView> {
    return this.run(() => participantView(this.find(roomSid, sidOrIdentity)));
  }

  /**
   * REST `Status=disconnected`: the participant's client is told and its socket closed at once.
   * Disconnecting a participant that already left answers it as it is.
   */
  disconnect(roomSid: string, sidOrIdentity: string): Result<ParticipantView> {
    return this.run(() => {
      const p = this.find(roomSid, sidOrIdentity);
      if (p.status === 'disconnected') return participantView(p);
      return participantView(this.signaling.disconnectParticipant(p.sid) ?? p);
    });
  }

  /** The tracks the participant publishes now; none once it has left. */
  publishedTracks(roomSid: string, sidOrIdentity: string): Result<ParticipantTracks> {
    return this.run(() => {
      const p = this.find(roomSid, sidOrIdentity);
      const tracks = p.status === 'disconnected' ? [] : p.tracks.map((t) => trackView(p, t));
      return { participant: participantView(p), tracks };
    });
  }

  /** The tracks the participant receives now: exactly what its last `subscribed` listed. */
  subscribedTracks(roomSid: string, sidOrIdentity: string): Result<ParticipantTracks> {
    return this.run(() => {
      const p = this.find(roomSid, sidOrIdentity);
      const tracks =
        p.status === 'disconnected'
          ? []
          : this.media(roomSid)
              .subscriptions(p, this.participants.present(roomSid))
              .map(({ publisher, track }) => trackView(publisher, track));
      return { participant: participantView(p), tracks };
    });
  }

  subscribeRules(roomSid: string, sidOrIdentity: string): Result<ParticipantRules> {
    return this.run(() => {
      const p = this.find(roomSid, sidOrIdentity);
      return { participant: participantView(p), rules: [...rulesOf(p)] };
    });
  }

  /**
   * Replaces the participant's subscribe rules and applies them at once. 53117 in peer-to-peer and
   * Go rooms (Twilio offers track subscriptions in group rooms only); 53204 once it has left.
   */
  setSubscribeRules(roomSid: string, sidOrIdentity: string, rules: unknown): Result<ParticipantRules> {
    return this.run(() => {
      const room = this.room(roomSid);
      const p = this.find(roomSid, sidOrIdentity);
      // The Worker validated them already; checked again so that nothing else can store bad rules.
      const parsed = parseSubscribeRules(rules);
      if (!isGroupType(room.type)) {
        throw new TwilioError(53117, `The subscription operation requested is not supported for the Room type: ${room.type} rooms receive every track`);
      }
      const updated = this.signaling.setSubscribeRules(p.sid, parsed);
      if (!updated) throw new TwilioError(53204, 'Participant not found: the participant is no longer connected');
      return { participant: participantView(updated), rules: [...rulesOf(updated)] };
    });
  }

  private room(roomSid: string): RoomRecord {
    const room = this.rooms.get(roomSid);
    if (!room) throw new TwilioError(20404, `The requested resource /Rooms/${roomSid.slice(0, 40)} was not found`);
    return room;
  }

  /** `{Sid}` of a participant path: the participant's sid, or its identity (see byIdentity). */
  private find(roomSid: string, sidOrIdentity: string): ParticipantRecord {
    this.room(roomSid);
    const bySid = isSid(sidOrIdentity, 'PA') ? this.participants.get(sidOrIdentity) : null;
    const p = bySid?.roomSid === roomSid ? bySid : this.participants.byIdentity(roomSid, sidOrIdentity);
    if (!p) {
      throw new TwilioError(20404, `The requested resource /Rooms/${roomSid}/Participants/${sidOrIdentity.slice(0, 140)} was not found`);
    }
    return p;
  }

  /** Runs `fn`, turning a TwilioError into the `fail` a caller across RPC can rethrow. */
  private run<T>(fn: () => T): Result<T> {
    try {
      return ok(fn());
    } catch (err) {
      if (err instanceof TwilioError) return fail(err.code, err.message);
      throw err;
    }
  }
}

function participantView(p: ParticipantRecord): ParticipantView {
  return {
    sid: p.sid,
    roomSid: p.roomSid,
    identity: p.identity,
    status: p.status === 'disconnected' ? 'disconnected' : 'connected',
    connectedAt: p.connectedAt,
    disconnectedAt: p.disconnectedAt,
  };
}

function trackView(publisher: ParticipantRecord, t: TrackRecord): TrackView {
  return { sid: t.sid, name: t.name, kind: t.kind, enabled: t.enabled, publishedAt: t.publishedAt, publisherSid: publisher.sid };
}
