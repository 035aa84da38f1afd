import type { TrackPriority, VideoBandwidthProfile } from '../../../core/media-signaling';

/**
 * Which of the video tracks a participant receives are switched on (bandwidth profiles), and at
 * which simulcast layer. A track is off when its subscriber turned it off (a render hint
 * `enabled: false`: `switchOff()`, or a video the app does not show). The others are taken highest
 * priority first (the subscriber's own priority for it, else the publisher's; the dominant
 * speaker's video raised to the profile's dominantSpeakerPriority), in two passes over the budget
 * (maxSubscriptionBitrate) and the places (maxTracks):
 * 1. each track gets its lowest layer (its only one without simulcast) if that fits; what does not
 *    fit is off: lowest priority first, and among equals the most recently subscribed;
 * 2. then, in the same order, each is raised to the highest layer the rest of the budget pays for,
 *    up to the smallest layer at least as tall as the subscriber renders it (render dimensions).
 * A track keeps its place, or its layer, while that fits within KEEP_SLACK, so bitrates wobbling
 * around the budget do not make it flap.
 */

export interface VideoCandidate {
  sid: string;
  /** Subscriber's priority for it (track_priority), or null to use the publisher's. */
  subscriberPriority: TrackPriority | null;
  publisherPriority: TrackPriority;
  /** Of the dominant speaker. */
  dominant: boolean;
  /** Bits per second the track takes now, at its best layer (at least a floor: a starting track is not free). */
  bitrate: number;
  /** With simulcast: bits per second of each layer, lowest first (0: not flowing); empty or absent otherwise. */
  layers?: number[];
  /** With simulcast: each layer's picture height (0: not known yet). */
  layerHeights?: number[];
  /** The height the subscriber renders it at (render hints), if it said. */
  renderHeight?: number | null;
  /** The subscriber's render hint: false switches it off whatever the budget. */
  enabled: boolean;
  /** Whether it is on now, and at which layer (Infinity or absent: the best there is). */
  on: boolean;
  layer?: number;
}

/** The least a video track is counted as taking: one that has not sent yet is not free. */
export const MIN_VIDEO_BITRATE = 100_000;
/** A track (or layer) that is on stays on while the budget is short by no more than this fraction. */
const KEEP_SLACK = 0.15;

const RANK: Record<TrackPriority, number> = { low: 0, standard: 1, high: 2 };

export function effectivePriority(c: Pick<VideoCandidate, 'subscriberPriority' | 'publisherPriority' | 'dominant'>, profile: VideoBandwidthProfile): number {
  const own = RANK[c.subscriberPriority ?? c.publisherPriority];
  return c.dominant && profile.dominantSpeakerPriority ? Math.max(own, RANK[profile.dominantSpeakerPriority]) : own;
}

/** The tracks that are on, each with the highest layer it may get (Infinity: the best flowing); `candidates` in subscription order. */
export function allocate(candidates: VideoCandidate[], profile: VideoBandwidthProfile): Map<string, number> {
  const on = new Map<string, number>();
  const bandwidthSwitching = profile.trackSwitchOffMode !== 'disabled';
  let budget = bandwidthSwitching ? (profile.maxSubscriptionBitrate ?? Infinity) : Infinity;
  let places = bandwidthSwitching ? (profile.maxTracks ?? Infinity) : Infinity;
  const order = candidates
    .map((c, i) => ({ c, i, rank: effectivePriority(c, profile) }))
    .filter(({ c }) => c.enabled)
    .sort((a, b) => b.rank - a.rank || Number(b.c.dominant) - Number(a.c.dominant) || a.i - b.i)
    .map(({ c }) => ({ ...c, layers: c.layers ?? [], layerHeights: c.layerHeights ?? [], renderHeight: c.renderHeight ?? null, layer: c.layer ?? Infinity }));
  const fits = (cost: number, kept: boolean) => cost <= budget || (kept && cost <= budget * (1 + KEEP_SLACK));
  const spent = new Map<string, number>();
  for (const c of order) {
    const cost = Math.max(c.layers.length > 1 ? c.layers.find((b) => b > 0) ?? c.bitrate : c.bitrate, MIN_VIDEO_BITRATE);
    if (places < 1 || !fits(cost, c.on)) continue;
    on.set(c.sid, c.layers.length > 1 ? 0 : Infinity);
    spent.set(c.sid, cost);
    budget -= cost;
    places -= 1;
  }
  for (const c of order) {
    if (!on.has(c.sid) || c.layers.length < 2) continue;
    const cap = renderCap(c);
    let layer = 0;
    let cost = spent.get(c.sid)!;
    for (let l = 1; l <= cap; l++) {
      const bitrate = c.layers[l]!;
      if (bitrate === 0) continue;
      const extra = Math.max(bitrate, MIN_VIDEO_BITRATE) - cost;
      if (!fits(extra, c.on && c.layer >= l)) break;
      layer = l;
      budget -= extra;
      cost += extra;
    }
    on.set(c.sid, layer >= c.layers.length - 1 ? Infinity : layer);
  }
  return on;
}

/** The sids of the tracks that are on (allocate, without the layers). */
export function switchedOn(candidates: VideoCandidate[], profile: VideoBandwidthProfile): Set<string> {
  return new Set(allocate(candidates, profile).keys());
}

/** The smallest layer at least as tall as the subscriber renders the track; the top one when it did not say. */
function renderCap(c: Required<VideoCandidate>): number {
  const top = c.layers.length - 1;
  if (c.renderHeight === null || c.renderHeight <= 0) return top;
  const i = c.layerHeights.findIndex((h) => h >= c.renderHeight!);
  return i < 0 ? top : i;
}
