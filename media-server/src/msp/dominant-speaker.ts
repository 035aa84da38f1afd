/**
 * Dominant speaker detection from the audio level clients put in every audio packet (RFC 6464's
 * `ssrc-audio-level` header extension: the level of the packet's audio in -dBov, 0 the loudest,
 * 127 silence), without decoding anything.
 *
 * Each published audio track keeps a short history (SpeechActivity): how much of the last 1.5 s
 * was speech (packets at least as loud as SPEECH_LEVEL), weighted by loudness. The room's
 * DominantSpeaker picks the most active participant, with hysteresis:
 * - nobody takes over while quiet: a challenger needs a score of at least MIN_SCORE, so silence
 *   (and a muted microphone, which sends level 127) never steals the floor;
 * - a challenger must beat the current speaker clearly (by TAKEOVER_RATIO, plus a margin) and keep
 *   doing so for HOLD_MS, so two people talking over each other do not make it flap;
 * - the current speaker stays dominant through pauses, until someone else speaks or it leaves.
 */

/** A packet this loud (in -dBov) or louder is speech; quieter is background. */
export const SPEECH_LEVEL = 50;
const BUCKET_MS = 100;
const WINDOW_MS = 1_500;
const BUCKETS = WINDOW_MS / BUCKET_MS;
/** Opus frames of 20 ms: how many packets a window holds when someone talks throughout. */
const FRAMES_PER_WINDOW = WINDOW_MS / 20;
/** Least score that can take the floor: about one loud frame a second. */
export const MIN_SCORE = 0.015;
const TAKEOVER_RATIO = 1.3;
const TAKEOVER_MARGIN = 0.01;
/** How long a challenger must lead before it takes over. */
export const HOLD_MS = 1_000;

/** One audio track's recent speech: 100 ms buckets over the last 1.5 s. */
export class SpeechActivity {
  private readonly stamps = new Float64Array(BUCKETS).fill(-1);
  private readonly weights = new Float64Array(BUCKETS);

  /** A packet's audio level (0–127, -dBov) at `now` (ms). */
  record(level: number, now: number): void {
    if (level > SPEECH_LEVEL) return;
    const bucket = Math.floor(now / BUCKET_MS);
    const i = bucket % BUCKETS;
    if (this.stamps[i] !== bucket) {
      this.stamps[i] = bucket;
      this.weights[i] = 0;
    }
    // 1 for a frame at the threshold, up to 2 for one at full scale: louder speech counts more.
    this.weights[i]! += 1 + (SPEECH_LEVEL - level) / SPEECH_LEVEL;
  }

  /** 0 (silent) to about 2 (loud speech in every frame of the window). */
  score(now: number): number {
    const newest = Math.floor(now / BUCKET_MS);
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++) if (newest - this.stamps[i]! < BUCKETS) sum += this.weights[i]!;
    return sum / FRAMES_PER_WINDOW;
  }
}

/** The room's dominant speaker, by participant. */
export class DominantSpeaker {
  private current: string | null = null;
  private challenger: string | null = null;
  private challengerSince = 0;

  get speaker(): string | null {
    return this.current;
  }

  /**
   * Takes every present participant's score (its loudest audio track's); returns the new dominant
   * speaker when it changed (null: the speaker left and nobody speaks), undefined otherwise.
   */
  update(scores: ReadonlyMap<string, number>, now: number): string | null | undefined {
    let changed: string | null | undefined;
    if (this.current !== null && !scores.has(this.current)) {
      this.current = null;
      changed = null;
    }
    let best: string | null = null;
    let bestScore = 0;
    for (const [participant, score] of scores) {
      if (score > bestScore || (score === bestScore && participant === this.current)) {
        best = participant;
        bestScore = score;
      }
    }
    if (best === null || bestScore < MIN_SCORE || best === this.current) {
      this.challenger = null;
      return changed;
    }
    if (this.current === null) {
      this.current = best;
      this.challenger = null;
      return best;
    }
    const currentScore = scores.get(this.current) ?? 0;
    if (bestScore < currentScore * TAKEOVER_RATIO + TAKEOVER_MARGIN) {
      this.challenger = null;
      return changed;
    }
    if (this.challenger !== best) {
      this.challenger = best;
      this.challengerSince = now;
      return changed;
    }
    if (now - this.challengerSince < HOLD_MS) return changed;
    this.current = best;
    this.challenger = null;
    return best;
  }
}
