import type { Vars } from './vars';
import { ConfigError, perEnv, repeatedJsonField } from './config-error';
import { Params } from './form';
import type { RoomDefaults } from './room-params';
import { BUILT_IN_DEFAULTS, KNOWN_MEDIA_REGIONS } from './room-params';
import { parseRoomSettings, ROOM_SETTINGS_FIELDS } from './room-settings-params';

/**
 * Media regions this deployment serves (`MEDIA_REGIONS`, comma-separated; `us1` when unset). Each
 * must be one of Twilio's region names, listed once; a bad list is a ConfigError.
 */
export const availableRegions: (env: Vars) => string[] = perEnv((env: Vars) => {
  if (env.MEDIA_REGIONS === undefined) return ['us1'];
  const regions = String(env.MEDIA_REGIONS).split(',').map((r) => r.trim());
  regions.forEach((region, i) => {
    if (!region) throw new ConfigError('MEDIA_REGIONS', `entry ${i + 1} is empty (list Twilio region names separated by commas)`);
    if (!KNOWN_MEDIA_REGIONS.includes(region)) {
      throw new ConfigError('MEDIA_REGIONS', `'${region.slice(0, 20)}' is not a Twilio media region (use ${KNOWN_MEDIA_REGIONS.join(', ')})`);
    }
    if (regions.indexOf(region) !== i) throw new ConfigError('MEDIA_REGIONS', `'${region}' is listed twice`);
  });
  return regions;
});

/**
 * The deployment's defaults: `ROOM_DEFAULTS` (the settings resource's JSON fields, e.g.
 * `{"type":"group-small","client_room_creation":false}`) over BUILT_IN_DEFAULTS. Checked with the
 * same rules as the REST resource; a bad value is a ConfigError that says what is wrong.
 */
export const configuredDefaults: (env: Vars) => RoomDefaults = perEnv((env: Vars) => {
  if (!env.ROOM_DEFAULTS) return BUILT_IN_DEFAULTS;
  const regions = availableRegions(env); // a bad MEDIA_REGIONS is reported as itself
  let json: unknown;
  try {
    json = JSON.parse(env.ROOM_DEFAULTS);
  } catch {
    throw new ConfigError('ROOM_DEFAULTS', 'it is not valid JSON');
  }
  const repeated = repeatedJsonField(env.ROOM_DEFAULTS);
  if (repeated !== null) throw new ConfigError('ROOM_DEFAULTS', `the field '${repeated.slice(0, 40)}' is given twice`);
  try {
    return { ...BUILT_IN_DEFAULTS, ...parseRoomSettings(asParams(json), BUILT_IN_DEFAULTS, regions) };
  } catch (err) {
    throw new ConfigError('ROOM_DEFAULTS', err instanceof Error ? err.message : String(err));
  }
});

/** A JSON object of settings fields as the form parameters they stand for (null → empty: cleared). */
function asParams(json: unknown): Params {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('it must be a JSON object');
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(json)) {
    // A GET /v1/Settings/Rooms answer can be pasted as it is: its read-only fields are skipped.
    if (name === 'account_sid' || name === 'url') continue;
    const field = ROOM_SETTINGS_FIELDS.find((f) => f.json === name);
    if (!field) throw new Error(`unknown field ${name}`);
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`${name} must be a string, number, boolean or null`);
    }
    form.append(field.param, value === null ? '' : String(value));
  }
  return Params.parse(form.toString());
}
