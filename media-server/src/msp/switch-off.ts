import type { TrackPriority, VideoBandwidthProfile } from '../../../core/media-signaling';

/**
 * Which of the video tracks a participant receives are switched on (bandwidth profiles). A track is
 * off when its subscriber turned it off (a render hint `enabled: false`: `switchOff()`, or a video
 * the app does not show), and otherwise on while it fits: tracks are taken highest priority first
 * (the subscriber's own priority for it, else the publisher's; the dominant speaker's video raised
 * to the profile's dominantSpeakerPriority), and each takes its bitrate out of the budget
 * (maxSubscriptionBitrate) and a place out of maxTracks. What does not fit is off: lowest priority
 * first, and among equals the most recently subscribed. A track that is on keeps its place while
 * it fits within KEEP_SLACK, so bitrates wobbling around the budget do not make it flap.
 */

export interface VideoCandidate {
  sid: string;
  /** Subscriber's priority for it (track_priority), or null to use the publisher's. */
  subscriberPriority: TrackPriority | null;
  publisherPriority: TrackPriority;
  /** Of the dominant speaker. */
  dominant: boolean;
  /** Bits per second the track takes now (at least a floor: a starting track is not free). */
  bitrate: number;
  /** The subscriber's render hint: false switches it off whatever the budget. */
  enabled: boolean;
  /** Whether it is on now. */
  on: boolean;
}

/** The least a video track is counted as taking: one that has not sent yet is not free. */
export const MIN_VIDEO_BITRATE = 100_000;
/** A track that is on stays on while the budget is short by no more than this fraction. */
const KEEP_SLACK = 0.15;

const RANK: Record<TrackPriority, number> = { low: 0, standard: 1, high: 2 };

export function effectivePriority(c: VideoCandidate, profile: VideoBandwidthProfile): number {
  const own = RANK[c.subscriberPriority ?? c.publisherPriority];
  return c.dominant && profile.dominantSpeakerPriority ? Math.max(own, RANK[profile.dominantSpeakerPriority]) : own;
}

/** The sids of the tracks that are on; `candidates` in subscription order. */
export function switchedOn(candidates: VideoCandidate[], profile: VideoBandwidthProfile): Set<string> {
  const on = new Set<string>();
  const bandwidthSwitching = profile.trackSwitchOffMode !== 'disabled';
  let budget = bandwidthSwitching ? (profile.maxSubscriptionBitrate ?? Infinity) : Infinity;
  let places = bandwidthSwitching ? (profile.maxTracks ?? Infinity) : Infinity;
  const order = candidates
    .map((c, i) => ({ c, i, rank: effectivePriority(c, profile) }))
    .filter(({ c }) => c.enabled)
    .sort((a, b) => b.rank - a.rank || Number(b.c.dominant) - Number(a.c.dominant) || a.i - b.i);
  for (const { c } of order) {
    const cost = Math.max(c.bitrate, MIN_VIDEO_BITRATE);
    const fits = cost <= budget || (c.on && cost <= budget * (1 + KEEP_SLACK));
    if (!fits || places < 1) continue;
    on.add(c.sid);
    budget -= cost;
    places -= 1;
  }
  return on;
}
