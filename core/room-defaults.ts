import type { Vars } from './vars';
import { Params } from './form';
import type { RoomDefaults } from './room-params';
import { BUILT_IN_DEFAULTS } from './room-params';
import { parseRoomSettings, ROOM_SETTINGS_FIELDS } from './room-settings-params';

/** Media regions this deployment serves (`MEDIA_REGIONS`). */
export function availableRegions(env: Vars): string[] {
  return (env.MEDIA_REGIONS ?? 'us1').split(',').map((r) => r.trim());
}

const cache = new WeakMap<object, RoomDefaults>();

/**
 * The deployment's defaults: `ROOM_DEFAULTS` (the settings resource's JSON fields, e.g.
 * `{"type":"group-small","client_room_creation":false}`) over BUILT_IN_DEFAULTS. Checked with the
 * same rules as the REST resource; a bad value is a configuration error, thrown with what is wrong.
 */
export function configuredDefaults(env: Vars): RoomDefaults {
  let defaults = cache.get(env);
  if (defaults) return defaults;
  defaults = BUILT_IN_DEFAULTS;
  if (env.ROOM_DEFAULTS) {
    try {
      defaults = { ...BUILT_IN_DEFAULTS, ...parseRoomSettings(asParams(JSON.parse(env.ROOM_DEFAULTS)), BUILT_IN_DEFAULTS, availableRegions(env)) };
    } catch (err) {
      throw new Error(`ROOM_DEFAULTS is invalid: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  cache.set(env, defaults);
  return defaults;
}

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
