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
