import type { Result } from '../../../core/errors';
import { fail, ok, TwilioError } from '../../../core/errors';
import { initialRecordingRules, parseRecordingRules } from '../../../core/recording-rules';
import type { RecordingRule } from '../../../core/recordings';
import type { RoomRecord } from '../../../core/room-record';
import { isGroupType } from '../../../core/room-record';
import type { RoomStore } from '../room-store';
import type { RecordingRoom, RecordingStore } from './recording-store';

/** The RecordingRules resource as an RPC answers it. */
export interface RecordingRulesView {
  roomSid: string;
  rules: RecordingRule[];
  /** Epoch ms the rules were first set over REST; null while the room keeps its initial ones. */
  dateCreated: number | null;
  dateUpdated: number | null;
}

export interface RecordingRulesDeps {
  store: RecordingStore;
  rooms: Pick<RoomStore, 'get'>;
  now: () => number;
  /** The rules changed: what is recorded is planned again right after the step. */
  changed(roomSid: string): void;
}

/** The rules a room records with: those set over REST, else those it was created with (rules, or everything on connect, or none). */
export function rulesInForce(room: RoomRecord, state: RecordingRoom): RecordingRule[] {
  return state.rules ?? initialRecordingRules(room);
}

/** `/v1/Rooms/{RoomSid}/RecordingRules`, as the Room object serves it. */
export class RecordingRulesResource {
  constructor(private readonly d: RecordingRulesDeps) {}

  get(roomSid: string): Result<RecordingRulesView> {
    const room = this.d.rooms.get(roomSid);
    if (!room) return notFound(roomSid);
    return ok(view(room, this.d.store.room(roomSid)));
  }

  /**
   * Replaces the room's rules and applies them at once. 53121 in peer-to-peer and Go rooms (Twilio
   * records group rooms only), 53112 once the room has ended, 53120 for invalid rules.
   */
  set(roomSid: string, raw: unknown): Result<RecordingRulesView> {
    const room = this.d.rooms.get(roomSid);
    if (!room) return notFound(roomSid);
    if (!isGroupType(room.type)) {
      return fail(53121, `The recording operation requested is not supported for the Room type: ${room.type} rooms are not recorded`);
    }
    if (room.status !== 'in-progress') return fail(53112, 'Status is invalid: the room is not in progress');
    let rules: RecordingRule[];
    try {
      rules = parseRecordingRules(raw);
    } catch (err) {
      if (err instanceof TwilioError) return fail(err.code, err.message);
      throw err;
    }
    const state = this.d.store.room(roomSid);
    const now = this.d.now();
    const next = { ...state, rules, rulesCreated: state.rulesCreated ?? now, rulesUpdated: now };
    this.d.store.saveRoom(roomSid, next);
    this.d.changed(roomSid);
    return ok(view(room, next));
  }
}

function view(room: RoomRecord, state: RecordingRoom): RecordingRulesView {
  return { roomSid: room.sid, rules: rulesInForce(room, state), dateCreated: state.rulesCreated, dateUpdated: state.rulesUpdated };
}

function notFound(roomSid: string): Result<never> {
  return fail(20404, `The requested resource /Rooms/${roomSid.slice(0, 40)} was not found`);
}
