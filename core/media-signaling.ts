/**
 * twilio-video's media-signaling features (its "MSP"): what a client asks for in `connect`
 * (`media_signaling`), and the data channel each one is served on. The Room object names the
 * channels in `connected`; the media server opens them, in-band, on the participant's connection,
 * and speaks the feature's messages on them (group-room-protocol.md §6).
 */

/** The features a group room serves, by the key twilio-video uses in `media_signaling`. */
export const MEDIA_SIGNALING_FEATURES = ['active_speaker', 'network_quality', 'track_priority', 'track_switch_off', 'render_hints'] as const;

export type MediaSignalingFeature = (typeof MEDIA_SIGNALING_FEATURES)[number];

export const isMediaSignalingFeature = (v: unknown): v is MediaSignalingFeature =>
  typeof v === 'string' && (MEDIA_SIGNALING_FEATURES as readonly string[]).includes(v);

/**
 * The label of a feature's data channel. One channel per feature: the client's render-hints and
 * publisher-hints transports warn about every message of another type on a shared channel. The
 * prefix keeps labels apart from data tracks, whose labels are the publisher's track ids.
 */
export const mediaSignalingLabel = (feature: MediaSignalingFeature): string => `atrium.msp.${feature}`;

export type TrackPriority = 'low' | 'standard' | 'high';

export const isTrackPriority = (v: unknown): v is TrackPriority => v === 'low' || v === 'standard' || v === 'high';

/** A subscriber's video bandwidth profile (`bandwidthProfile.video` of twilio-video's connect options). */
export interface VideoBandwidthProfile {
  /** Most bits per second the participant's received video may take (`maxSubscriptionBitrate`); none: no limit. */
  maxSubscriptionBitrate?: number;
  /** Most video tracks switched on at once (`maxTracks`, deprecated by Twilio but still sent). */
  maxTracks?: number;
  /** grid, collaboration or presentation: how the server picks what to keep when it must choose. */
  mode?: 'grid' | 'collaboration' | 'presentation';
  /** detected, predicted or disabled: whether the server switches video off for bandwidth at all. */
  trackSwitchOffMode?: 'detected' | 'predicted' | 'disabled';
  /** The priority the dominant speaker's video gets, if higher than its own. */
  dominantSpeakerPriority?: TrackPriority;
}

/**
 * The profile's fields: the name twilio-video sends in `bandwidth_profile.video` (wire), the name
 * the Room object and the media server use (key), and what each may hold. One table, read by both
 * the signaling parser (wire names) and the media server's control API (keys).
 */
const PROFILE_FIELDS = [
  { wire: 'max_subscription_bandwidth', key: 'maxSubscriptionBitrate', values: null },
  { wire: 'max_tracks', key: 'maxTracks', values: null },
  { wire: 'mode', key: 'mode', values: ['grid', 'collaboration', 'presentation'] },
  { wire: 'track_switch_off', key: 'trackSwitchOffMode', values: ['detected', 'predicted', 'disabled'] },
  { wire: 'active_speaker_priority', key: 'dominantSpeakerPriority', values: ['low', 'standard', 'high'] },
] as const satisfies readonly { wire: string; key: keyof VideoBandwidthProfile; values: readonly string[] | null }[];

/**
 * Reads a video bandwidth profile from `fields`, named as on the wire or by key. The first bad
 * field is reported through `invalid` (which throws the caller's own error) with a message naming
 * it under `where`; fields the table does not list (e.g. `render_dimensions`) are ignored.
 */
export function readVideoProfile(
  fields: Record<string, unknown>,
  names: 'wire' | 'key',
  where: string,
  invalid: (message: string) => Error,
): VideoBandwidthProfile {
  const out: Record<string, unknown> = {};
  for (const field of PROFILE_FIELDS) {
    const v = fields[field[names]];
    if (v === undefined) continue;
    const at = `${where}.${field[names]}`;
    if (field.values === null) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${at} must be a non-negative integer`);
    } else if (!(field.values as readonly unknown[]).includes(v)) {
      throw invalid(`${at} must be one of ${field.values.join(', ')}`);
    }
    out[field.key] = v;
  }
  return out as VideoBandwidthProfile;
}
