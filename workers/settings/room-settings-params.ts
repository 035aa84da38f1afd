import type { RoomType } from '../../durable-objects/room/room-record';
import { MAX_PARTICIPANTS_BY_TYPE, ROOM_TYPES } from '../../durable-objects/room/room-record';
import { TwilioError } from '../errors';
import type { Params } from '../http/form';
import type { RoomDefaults } from '../rooms/room-params';
import { boolean, checkCallbackUrl, integer, KNOWN_MEDIA_REGIONS, PARTICIPANT_DURATION_RANGE, timeout } from '../rooms/room-params';

/**
 * The account's room settings as form parameters (`POST /v1/Settings/Rooms`) and as JSON fields
 * (its response, and the `ROOM_DEFAULTS` variable), each naming a field of RoomDefaults.
 */
export const ROOM_SETTINGS_FIELDS = [
  { key: 'clientRoomCreation', param: 'ClientRoomCreation', json: 'client_room_creation' },
  { key: 'type', param: 'Type', json: 'type' },
  { key: 'maxParticipants', param: 'MaxParticipants', json: 'max_participants' },
  { key: 'statusCallback', param: 'StatusCallback', json: 'status_callback' },
  { key: 'statusCallbackMethod', param: 'StatusCallbackMethod', json: 'status_callback_method' },
  { key: 'maxParticipantDuration', param: 'MaxParticipantDuration', json: 'max_participant_duration' },
  { key: 'emptyRoomTimeout', param: 'EmptyRoomTimeout', json: 'empty_room_timeout' },
  { key: 'unusedRoomTimeout', param: 'UnusedRoomTimeout', json: 'unused_room_timeout' },
  { key: 'mediaRegion', param: 'MediaRegion', json: 'media_region' },
] as const satisfies readonly { key: keyof RoomDefaults; param: string; json: string }[];

/**
 * Validates room settings parameters with the codes room creation uses for the same parameters and
 * returns the fields they change. An empty `StatusCallback` removes the callback; an empty
 * `MaxParticipants` means the room type's cap. `current` are the settings in force, against which
 * `MaxParticipants` is checked when `Type` is not being changed.
 */
export function parseRoomSettings(params: Params, current: RoomDefaults, availableRegions: string[]): Partial<RoomDefaults> {
  params.rejectUnknown(ROOM_SETTINGS_FIELDS.map((f) => f.param));
  const patch: Partial<RoomDefaults> = {};

  const clientRoomCreation = boolean(params, 'ClientRoomCreation');
  if (clientRoomCreation !== undefined) patch.clientRoomCreation = clientRoomCreation;

  const type = params.get('Type');
  if (type !== undefined) {
    if (!ROOM_TYPES.includes(type as RoomType)) {
      throw new TwilioError(53108, `RoomType is not valid: Type must be one of ${ROOM_TYPES.join(', ')}`);
    }
    patch.type = type as RoomType;
  }

  if (params.get('MaxParticipants') === '') {
    patch.maxParticipants = 0;
  } else {
    const maxParticipants = integer(params, 'MaxParticipants', 53107);
    if (maxParticipants !== undefined) {
      const roomType = patch.type ?? current.type;
      const cap = MAX_PARTICIPANTS_BY_TYPE[roomType];
      if (maxParticipants < 1 || maxParticipants > cap) {
        throw new TwilioError(53107, `MaxParticipants is out of range: ${roomType} rooms allow 1 to ${cap}`);
      }
      patch.maxParticipants = maxParticipants;
    }
  }

  const statusCallback = params.get('StatusCallback');
  if (statusCallback !== undefined) {
    if (statusCallback !== '') checkCallbackUrl(statusCallback);
    patch.statusCallback = statusCallback === '' ? null : statusCallback;
  }
  const method = params.get('StatusCallbackMethod');
  if (method !== undefined) {
    const upper = method.toUpperCase();
    if (upper !== 'GET' && upper !== 'POST') throw new TwilioError(53110, 'StatusCallbackMethod is invalid: use GET or POST');
    patch.statusCallbackMethod = upper;
  }

  const duration = integer(params, 'MaxParticipantDuration', 53109);
  if (duration !== undefined) {
    const [min, max] = PARTICIPANT_DURATION_RANGE;
    if (duration < min || duration > max) {
      throw new TwilioError(53109, `Timeout is out of range: MaxParticipantDuration must be ${min} to ${max} seconds`);
    }
    patch.maxParticipantDuration = duration;
  }
  const emptyRoomTimeout = timeout(params, 'EmptyRoomTimeout');
  if (emptyRoomTimeout !== undefined) patch.emptyRoomTimeout = emptyRoomTimeout;
  const unusedRoomTimeout = timeout(params, 'UnusedRoomTimeout');
  if (unusedRoomTimeout !== undefined) patch.unusedRoomTimeout = unusedRoomTimeout;

  const region = params.get('MediaRegion');
  if (region !== undefined) {
    if (!KNOWN_MEDIA_REGIONS.includes(region)) {
      throw new TwilioError(53115, `MediaRegion is invalid: use one of ${KNOWN_MEDIA_REGIONS.join(', ')}`);
    }
    if (!availableRegions.includes(region)) {
      throw new TwilioError(53116, `There are no media servers available in the MediaRegion: this deployment serves ${availableRegions.join(', ')}`);
    }
    patch.mediaRegion = region;
  }
  return patch;
}
