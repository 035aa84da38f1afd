import type { RoomSpec, RoomType, VideoCodec } from './room-record';
import { isGroupType, MAX_PARTICIPANTS_BY_TYPE, maxConcurrentPublishedTracks, ROOM_TYPES } from './room-record';
import { TwilioError } from './errors';
import type { Params } from './form';
import { isSid } from './sids';
import { parseRecordingRules } from './recording-rules';

/** Every parameter Twilio's spec lists for `POST /v1/Rooms`. */
export const CREATE_ROOM_PARAMS = [
  'EnableTurn',
  'Type',
  'UniqueName',
  'StatusCallback',
  'StatusCallbackMethod',
  'MaxParticipants',
  'RecordParticipantsOnConnect',
  'TranscribeParticipantsOnConnect',
  'VideoCodecs',
  'MediaRegion',
  'RecordingRules',
  'TranscriptionsConfiguration',
  'AudioOnly',
  'MaxParticipantDuration',
  'EmptyRoomTimeout',
  'UnusedRoomTimeout',
  'LargeRoom',
] as const;

/** Twilio's media region names. */
export const KNOWN_MEDIA_REGIONS = ['gll', 'us1', 'us2', 'ie1', 'de1', 'au1', 'br1', 'jp1', 'sg1', 'in1'];

export const MAX_NAME_LENGTH = 128;
export const MAX_CALLBACK_URL_LENGTH = 4096;
export const PARTICIPANT_DURATION_RANGE = [600, 86_400] as const;
export const DEFAULT_PARTICIPANT_DURATION = 14_400;
export const TIMEOUT_RANGE = [1, 60] as const;

/** What a room gets when a parameter is omitted: the account's room settings. */
export interface RoomDefaults {
  type: RoomType;
  /** 0 means the room type's cap. */
  maxParticipants: number;
  maxParticipantDuration: number;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  emptyRoomTimeout: number;
  unusedRoomTimeout: number;
  mediaRegion: string;
  /** Whether connecting to a name with no room in progress creates one (ad-hoc rooms). */
  clientRoomCreation: boolean;
  /** Whether group rooms record every track from the start unless told otherwise (Twilio's console "Recording" setting). */
  recordParticipantsOnConnect: boolean;
}

export const BUILT_IN_DEFAULTS: RoomDefaults = {
  type: 'group',
  maxParticipants: 0,
  maxParticipantDuration: DEFAULT_PARTICIPANT_DURATION,
  statusCallback: null,
  statusCallbackMethod: 'POST',
  emptyRoomTimeout: 5,
  unusedRoomTimeout: 5,
  mediaRegion: 'us1',
  clientRoomCreation: true,
  recordParticipantsOnConnect: false,
};

/** Room name rules (shared by REST and signaling): 53100 empty or sid-like, 53101 long, 53102 characters. */
export function checkRoomName(name: string): void {
  if (name.length === 0) throw new TwilioError(53100, 'Room name is invalid: it is empty');
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new TwilioError(53101, `Room name is too long: at most ${MAX_NAME_LENGTH} characters`);
  }
  // Control characters, unpaired surrogates and noncharacters cannot be shown, logged or typed safely.
  if (/[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/.test(name) || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) {
    throw new TwilioError(53102, 'Room name contains invalid characters: control characters are not allowed');
  }
  if (isSid(name, 'RM')) {
    throw new TwilioError(53100, 'Room name is invalid: it must not look like a room sid (RM + 32 hex digits)');
  }
}

/**
 * Validates `POST /v1/Rooms` parameters with Twilio's codes and resolves every field of the room.
 * `availableRegions` are the media regions this deployment serves (MEDIA_REGIONS).
 */
export function parseCreateRoom(
  params: Params,
  ctx: { accountSid: string; sid: string; defaults: RoomDefaults; availableRegions: string[] },
): RoomSpec {
  params.rejectUnknown(CREATE_ROOM_PARAMS);
  const { defaults } = ctx;

  const type = roomType(params) ?? defaults.type;
  const cap = MAX_PARTICIPANTS_BY_TYPE[type];

  const uniqueName = params.get('UniqueName');
  if (uniqueName !== undefined) checkRoomName(uniqueName);

  const statusCallbackRaw = params.get('StatusCallback');
  const statusCallback = statusCallbackRaw === undefined || statusCallbackRaw === '' ? defaults.statusCallback : statusCallbackRaw;
  if (statusCallback !== null) checkCallbackUrl(statusCallback);
  const statusCallbackMethod = callbackMethod(params) ?? defaults.statusCallbackMethod;
  const maxParticipants = maxParticipantsFor(params, type) ?? Math.min(defaults.maxParticipants || cap, cap);
  const maxParticipantDuration = participantDuration(params) ?? defaults.maxParticipantDuration;
  const emptyRoomTimeout = timeout(params, 'EmptyRoomTimeout') ?? defaults.emptyRoomTimeout;
  const unusedRoomTimeout = timeout(params, 'UnusedRoomTimeout') ?? defaults.unusedRoomTimeout;

  const audioOnly = boolean(params, 'AudioOnly') ?? false;
  const largeRoom = boolean(params, 'LargeRoom') ?? false;
  const isGroup = isGroupType(type);
  // The account's setting applies to the room types that record; an explicit true elsewhere is 53114 below.
  const recordParticipantsOnConnect = boolean(params, 'RecordParticipantsOnConnect') ?? (isGroup && defaults.recordParticipantsOnConnect);
  const transcribeParticipantsOnConnect = boolean(params, 'TranscribeParticipantsOnConnect') ?? false;
  boolean(params, 'EnableTurn'); // deprecated and always true, but still must be a boolean
  if (audioOnly && !isGroup) throw incompatible('AudioOnly', type);
  if (largeRoom && type !== 'group') throw incompatible('LargeRoom', type);
  if (recordParticipantsOnConnect && !isGroup) throw incompatible('RecordParticipantsOnConnect', type);
  if (transcribeParticipantsOnConnect && !isGroup) throw incompatible('TranscribeParticipantsOnConnect', type);

  const codecs = params.getAll('VideoCodecs').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const codec of codecs) {
    if (codec !== 'VP8' && codec !== 'H264') throw new TwilioError(70002, `VideoCodecs: '${codec.slice(0, 16)}' is not VP8 or H264`);
  }
  if (codecs.length && audioOnly) throw new TwilioError(53114, 'VideoCodecs cannot be set on an AudioOnly room');
  const videoCodecs = audioOnly ? [] : codecs.length ? ([...new Set(codecs)] as VideoCodec[]) : (['VP8'] as VideoCodec[]);

  const regionRaw = params.get('MediaRegion');
  const mediaRegion = checkMediaRegion(regionRaw === undefined || regionRaw === '' ? defaults.mediaRegion : regionRaw, ctx.availableRegions);

  const recordingRules = recordingRulesParam(params);
  if (recordingRules && !isGroup) throw incompatible('RecordingRules', type);
  jsonParam(params, 'TranscriptionsConfiguration', (v) => typeof v === 'object' && v !== null && !Array.isArray(v));

  return {
    accountSid: ctx.accountSid,
    sid: ctx.sid,
    uniqueName: uniqueName ?? ctx.sid,
    type,
    statusCallback,
    statusCallbackMethod,
    maxParticipants,
    maxParticipantDuration,
    maxConcurrentPublishedTracks: maxConcurrentPublishedTracks(type),
    recordParticipantsOnConnect,
    ...(recordingRules ? { recordingRules } : {}),
    transcribeParticipantsOnConnect,
    videoCodecs,
    mediaRegion,
    audioOnly,
    emptyRoomTimeout,
    unusedRoomTimeout,
    largeRoom,
    adHoc: false,
  };
}

/*
 * One rule per parameter, shared by room creation and the account's room settings (and so by
 * ROOM_DEFAULTS): each returns undefined when the parameter is absent.
 */

/** `Type`: 53108 unless one of ROOM_TYPES. */
export function roomType(params: Params): RoomType | undefined {
  const raw = params.get('Type');
  if (raw === undefined) return undefined;
  if (!ROOM_TYPES.includes(raw as RoomType)) {
    throw new TwilioError(53108, `RoomType is not valid: Type must be one of ${ROOM_TYPES.join(', ')}`);
  }
  return raw as RoomType;
}

/** `MaxParticipants` for a room of `type`: 53107 outside 1 … the type's cap. */
export function maxParticipantsFor(params: Params, type: RoomType): number | undefined {
  const value = integer(params, 'MaxParticipants', 53107);
  const cap = MAX_PARTICIPANTS_BY_TYPE[type];
  if (value !== undefined && (value < 1 || value > cap)) {
    throw new TwilioError(53107, `MaxParticipants is out of range: ${type} rooms allow 1 to ${cap}`);
  }
  return value;
}

/** `StatusCallbackMethod`, upper-cased: 53110 unless GET or POST. */
export function callbackMethod(params: Params): 'GET' | 'POST' | undefined {
  const raw = params.get('StatusCallbackMethod');
  if (raw === undefined) return undefined;
  const upper = raw.toUpperCase();
  if (upper !== 'GET' && upper !== 'POST') throw new TwilioError(53110, 'StatusCallbackMethod is invalid: use GET or POST');
  return upper;
}

/** `MaxParticipantDuration` in seconds: 53109 outside PARTICIPANT_DURATION_RANGE. */
export function participantDuration(params: Params): number | undefined {
  const value = integer(params, 'MaxParticipantDuration', 53109);
  const [min, max] = PARTICIPANT_DURATION_RANGE;
  if (value !== undefined && (value < min || value > max)) {
    throw new TwilioError(53109, `Timeout is out of range: MaxParticipantDuration must be ${min} to ${max} seconds`);
  }
  return value;
}

/** A media region: 53115 unless Twilio knows it, 53116 unless this deployment serves it. */
export function checkMediaRegion(region: string, availableRegions: string[]): string {
  if (!KNOWN_MEDIA_REGIONS.includes(region)) {
    throw new TwilioError(53115, `MediaRegion is invalid: use one of ${KNOWN_MEDIA_REGIONS.join(', ')}`);
  }
  if (!availableRegions.includes(region)) {
    throw new TwilioError(53116, `There are no media servers available in the MediaRegion: this deployment serves ${availableRegions.join(', ')}`);
  }
  return region;
}

export function checkCallbackUrl(raw: string): void {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new TwilioError(53111, 'StatusCallback is invalid: it must be an absolute http or https URL');
  }
  if (raw.length > MAX_CALLBACK_URL_LENGTH) {
    throw new TwilioError(53111, `StatusCallback is invalid: longer than ${MAX_CALLBACK_URL_LENGTH} characters`);
  }
}

function incompatible(param: string, type: RoomType): TwilioError {
  return new TwilioError(53114, `Room creation parameter(s) incompatible with the Room type: ${param} is not available in ${type} rooms`);
}

export function integer(params: Params, name: string, code: number): number | undefined {
  const raw = params.get(name);
  if (raw === undefined) return undefined;
  if (!/^[+-]?\d{1,12}$/.test(raw.trim())) throw new TwilioError(code, `${name} must be an integer`);
  return Number(raw.trim());
}

/** A room timeout in minutes (TIMEOUT_RANGE); 53109 outside it. */
export function timeout(params: Params, name: string): number | undefined {
  const value = integer(params, name, 53109);
  const [min, max] = TIMEOUT_RANGE;
  if (value !== undefined && (value < min || value > max)) {
    throw new TwilioError(53109, `Timeout is out of range: ${name} must be ${min} to ${max} minutes`);
  }
  return value;
}

export function boolean(params: Params, name: string): boolean | undefined {
  const raw = params.get(name);
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new TwilioError(70002, `${name} must be true or false`);
}

/** `RecordingRules` at creation: the room's first recording rules (53120 when they are not Twilio's). */
function recordingRulesParam(params: Params): ReturnType<typeof parseRecordingRules> | undefined {
  const raw = params.get('RecordingRules');
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new TwilioError(53120, 'Invalid Recording Rule(s): RecordingRules must be JSON');
  }
  return parseRecordingRules(value);
}

function jsonParam(params: Params, name: string, valid: (v: unknown) => boolean): void {
  const raw = params.get(name);
  if (raw === undefined) return;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new TwilioError(70002, `${name} must be JSON`);
  }
  if (!valid(value)) throw new TwilioError(70002, `${name} has the wrong shape`);
}

/**
 * The room a participant's connect creates when no room with that name is in progress: the
 * account's defaults, and timeouts 0, so it ends the moment its last participant leaves.
 */
export function adHocRoomSpec(accountSid: string, sid: string, uniqueName: string, defaults: RoomDefaults): RoomSpec {
  const cap = MAX_PARTICIPANTS_BY_TYPE[defaults.type];
  return {
    accountSid,
    sid,
    uniqueName,
    type: defaults.type,
    statusCallback: defaults.statusCallback,
    statusCallbackMethod: defaults.statusCallbackMethod,
    maxParticipants: Math.min(defaults.maxParticipants || cap, cap),
    maxParticipantDuration: defaults.maxParticipantDuration,
    maxConcurrentPublishedTracks: maxConcurrentPublishedTracks(defaults.type),
    recordParticipantsOnConnect: isGroupType(defaults.type) && defaults.recordParticipantsOnConnect,
    transcribeParticipantsOnConnect: false,
    videoCodecs: ['VP8'],
    mediaRegion: defaults.mediaRegion,
    audioOnly: false,
    emptyRoomTimeout: 0,
    unusedRoomTimeout: 0,
    largeRoom: false,
    adHoc: true,
  };
}
