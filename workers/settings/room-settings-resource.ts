import type { RoomDefaults } from '../../core/room-params';
import { ROOM_SETTINGS_FIELDS } from '../../core/room-settings-params';

/**
 * The account's room settings as `GET /v1/Settings/Rooms` returns them (an Atrium extension in
 * Twilio's style: snake_case fields, an absolute `url`). `max_participants` null means the cap of
 * the room type; `status_callback` null means none.
 */
export function roomSettingsResource(settings: RoomDefaults, accountSid: string, base: string): Record<string, unknown> {
  const body: Record<string, unknown> = { account_sid: accountSid };
  for (const field of ROOM_SETTINGS_FIELDS) {
    const value = settings[field.key];
    body[field.json] = field.key === 'maxParticipants' && value === 0 ? null : value;
  }
  body.url = `${base}/v1/Settings/Rooms`;
  return body;
}
