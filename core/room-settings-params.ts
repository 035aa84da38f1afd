import type { Params } from './form';
import type { RoomDefaults } from './room-params';
import { boolean, callbackMethod, checkCallbackUrl, checkMediaRegion, maxParticipantsFor, participantDuration, roomType, timeout } from './room-params';

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
  { key: 'recordParticipantsOnConnect', param: 'RecordParticipantsOnConnect', json: 'record_participants_on_connect' },
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

  const type = roomType(params);
  if (type !== undefined) patch.type = type;

  if (params.get('MaxParticipants') === '') {
    patch.maxParticipants = 0;
  } else {
    // Checked against the type in force when Type is not being changed.
    const maxParticipants = maxParticipantsFor(params, patch.type ?? current.type);
    if (maxParticipants !== undefined) patch.maxParticipants = maxParticipants;
  }

  const statusCallback = params.get('StatusCallback');
  if (statusCallback !== undefined) {
    if (statusCallback !== '') checkCallbackUrl(statusCallback);
    patch.statusCallback = statusCallback === '' ? null : statusCallback;
  }
  const method = callbackMethod(params);
  if (method !== undefined) patch.statusCallbackMethod = method;

  const duration = participantDuration(params);
  if (duration !== undefined) patch.maxParticipantDuration = duration;
  const emptyRoomTimeout = timeout(params, 'EmptyRoomTimeout');
  if (emptyRoomTimeout !== undefined) patch.emptyRoomTimeout = emptyRoomTimeout;
  const unusedRoomTimeout = timeout(params, 'UnusedRoomTimeout');
  if (unusedRoomTimeout !== undefined) patch.unusedRoomTimeout = unusedRoomTimeout;

  const record = boolean(params, 'RecordParticipantsOnConnect');
  if (record !== undefined) patch.recordParticipantsOnConnect = record;

  const region = params.get('MediaRegion');
  if (region !== undefined) patch.mediaRegion = checkMediaRegion(region, availableRegions);
  return patch;
}
