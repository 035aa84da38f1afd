/**
 * Unit tests of the media-signaling logic (src/msp/): dominant speaker detection, network quality
 * levels and the messages that carry them, and which received videos a bandwidth profile leaves
 * switched on; and of what it stands on: the application section added to a client's offer
 * (sdp/munge.ts), the picture size read from a VP8 key frame (rtp/rtp.ts), and the control API's
 * checks of features, bandwidth profiles and subscription priorities (control/validate.ts).
 * Time is passed in, never read: nothing here waits.
 */
import { describe, expect, test } from 'vitest';
import { MEDIA_SIGNALING_FEATURES } from '../../core/media-signaling';
import { ControlError } from '../src/control/errors';
import { profile, sessionBody, subscriptionsBody } from '../src/control/validate';
import { DominantSpeaker, HOLD_MS, MIN_SCORE, SPEECH_LEVEL, SpeechActivity } from '../src/msp/dominant-speaker';
import type { PathStats, Quality, QualityInputs } from '../src/msp/network-quality';
import { bandwidthLevel, jitterLevel, lossLevel, quality, qualityMessage, rttLevel } from '../src/msp/network-quality';
import type { VideoCandidate } from '../src/msp/switch-off';
import { effectivePriority, MIN_VIDEO_BITRATE, switchedOn } from '../src/msp/switch-off';
import { isVp8KeyFrame, vp8KeyFrameSize } from '../src/rtp/rtp';
import { ADDED_APPLICATION_MID, withApplication, withoutSection } from '../src/sdp/munge';
import { parseSdp } from '../src/sdp/sdp';
import { CHROME_OFFER, FIREFOX_OFFER } from './support/browser-sdp';

// ---- Dominant speaker ----

/** One Opus frame every 20 ms at `level` (-dBov), from `from` (inclusive) to `to` (exclusive), ms. */
function talk(activity: SpeechActivity, level: number, from: number, to: number): void {
  for (let t = from; t < to; t += 20) activity.record(level, t);
}

/**
 * Runs a room as the media server does: every participant's frames recorded as they come, and the
 * dominant speaker looked for every 250 ms. `levelAt(participant, t)` is the level of its frame at
 * t (127: silence). Returns every change `update` reported, with its time, and each look's scores.
 */
function run(
  speaker: DominantSpeaker,
  activities: Map<string, SpeechActivity>,
  levelAt: (participant: string, t: number) => number,
  from: number,
  to: number,
): { at: number; speaker: string | null }[] & { looks: { at: number; speaker: string | null; scores: Map<string, number> }[] } {
  const changes = Object.assign([] as { at: number; speaker: string | null }[], { looks: [] as { at: number; speaker: string | null; scores: Map<string, number> }[] });
  for (let t = from; t < to; t += 20) {
    for (const [p, a] of activities) a.record(levelAt(p, t), t);
    if (t % 250 === 0) {
      const scores = new Map([...activities].map(([p, a]) => [p, a.score(t)]));
      changes.looks.push({ at: t, speaker: speaker.speaker, scores });
      const changed = speaker.update(scores, t);
      if (changed !== undefined) changes.push({ at: t, speaker: changed });
    }
  }
  return changes;
}

const scores = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

describe('SpeechActivity', () => {
  test('silence (127) and anything quieter than the speech threshold scores nothing', () => {
    const a = new SpeechActivity();
    talk(a, 127, 0, 3_000);
    expect(a.score(3_000)).toBe(0);
    talk(a, SPEECH_LEVEL + 1, 3_000, 6_000);
    expect(a.score(6_000)).toBe(0);
  });

  test('speech scores by how much of the last 1.5 s it filled, louder counting more, and fades once it stops', () => {
    const threshold = new SpeechActivity();
    talk(threshold, SPEECH_LEVEL, 0, 1_500);
    // Every frame of the window at the threshold: 1 each.
    expect(threshold.score(1_499)).toBeCloseTo(1, 5);
    const loud = new SpeechActivity();
    talk(loud, 0, 0, 1_500);
    // Full scale: 2 each.
    expect(loud.score(1_499)).toBeCloseTo(2, 5);
    const half = new SpeechActivity();
    talk(half, SPEECH_LEVEL, 0, 750);
    // 38 frames (0, 20, … 740 ms) of the window's 75.
    expect(half.score(1_499)).toBeCloseTo(38 / 75, 5);
    // Past the window, nothing is left of it.
    expect(loud.score(1_499 + 1_600)).toBe(0);
  });
});

describe('DominantSpeaker', () => {
  test('silence never takes the floor: nobody speaking, or only muted microphones, leaves it empty', () => {
    const speaker = new DominantSpeaker();
    const activities = new Map([
      ['PA', new SpeechActivity()],
      ['PB', new SpeechActivity()],
    ]);
    expect([...run(speaker, activities, () => 127, 0, 5_000)]).toEqual([]);
    expect(speaker.speaker).toBeNull();
    // A score under the least that can take the floor does not either.
    expect(speaker.update(scores({ PA: MIN_SCORE * 0.9, PB: 0 }), 5_000)).toBeUndefined();
    expect(speaker.speaker).toBeNull();
  });

  test('a single speaker is chosen at once, and stays', () => {
    const speaker = new DominantSpeaker();
    expect(speaker.update(scores({ PA: MIN_SCORE, PB: 0 }), 0)).toBe('PA');
    expect(speaker.speaker).toBe('PA');
    expect(speaker.update(scores({ PA: 1, PB: 0 }), 250)).toBeUndefined();

    // From packets: the first look after the first loud frames chooses them.
    const fresh = new DominantSpeaker();
    const activities = new Map([
      ['PA', new SpeechActivity()],
      ['PB', new SpeechActivity()],
    ]);
    const changes = run(fresh, activities, (p, t) => (p === 'PB' && t >= 1_000 ? 20 : 127), 0, 4_000);
    expect([...changes]).toEqual([{ at: 1_000, speaker: 'PB' }]);
  });

  test('a clearly louder challenger takes over only once it has led for HOLD_MS', () => {
    const speaker = new DominantSpeaker();
    expect(speaker.update(scores({ PA: 0.5, PB: 0 }), 0)).toBe('PA');
    // PB leads clearly (1.0 against 0.5) from t = 1000.
    const start = 1_000;
    for (let t = start; t < start + HOLD_MS; t += 100) {
      expect(speaker.update(scores({ PA: 0.5, PB: 1 }), t), `at ${t - start} ms of leading`).toBeUndefined();
      expect(speaker.speaker).toBe('PA');
    }
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), start + HOLD_MS)).toBe('PB');
    expect(speaker.speaker).toBe('PB');
  });

  test('a lead that breaks off starts the hold again', () => {
    const speaker = new DominantSpeaker();
    speaker.update(scores({ PA: 0.5, PB: 0 }), 0);
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), 1_000)).toBeUndefined();
    // At 1.8 s PB is still ahead, but not clearly (0.6 against 0.5): the challenge is over.
    expect(speaker.update(scores({ PA: 0.5, PB: 0.6 }), 1_800)).toBeUndefined();
    // Leading again from 1.9 s: not dominant at 2.0 s (a second after the first lead began), only at 2.9 s.
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), 1_900)).toBeUndefined();
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), 2_000)).toBeUndefined();
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), 2_899)).toBeUndefined();
    expect(speaker.speaker).toBe('PA');
    expect(speaker.update(scores({ PA: 0.5, PB: 1 }), 2_900)).toBe('PB');
  });

  test('a challenger only a little louder (under 1.3 times, plus a margin) never takes over', () => {
    const speaker = new DominantSpeaker();
    speaker.update(scores({ PA: 0.5, PB: 0 }), 0);
    for (let t = 250; t <= 10_000; t += 250) expect(speaker.update(scores({ PA: 0.5, PB: 0.5 * 1.3 }), t)).toBeUndefined();
    expect(speaker.speaker).toBe('PA');
  });

  test('two people alternating faster than the hold does not make it flap', () => {
    const speaker = new DominantSpeaker();
    const activities = new Map([
      ['PA', new SpeechActivity()],
      ['PB', new SpeechActivity()],
    ]);
    // Turns of 900 ms each, PA first, for 12 s.
    const turn = 900;
    const changes = run(speaker, activities, (p, t) => ((Math.floor(t / turn) % 2 === 0) === (p === 'PA') ? 20 : 127), 0, 12_000);
    expect([...changes]).toEqual([{ at: 0, speaker: 'PA' }]);
    // Not because PB never leads: it does, clearly (1.3 times PA's score and more, the takeover
    // threshold), in every one of its turns; only never for HOLD_MS.
    const clearLeads = changes.looks.filter((l) => l.at > 0 && l.scores.get('PB')! >= 1.3 * l.scores.get('PA')! + 0.01);
    expect(clearLeads.length).toBeGreaterThanOrEqual(5);
    expect(new Set(clearLeads.map((l) => Math.floor(l.at / turn))).size).toBeGreaterThanOrEqual(5);
  });

  test('the same two people taking longer turns do hand the floor over (the test above can fail)', () => {
    const speaker = new DominantSpeaker();
    const activities = new Map([
      ['PA', new SpeechActivity()],
      ['PB', new SpeechActivity()],
    ]);
    const turn = 3_000;
    const changes = run(speaker, activities, (p, t) => ((Math.floor(t / turn) % 2 === 0) === (p === 'PA') ? 20 : 127), 0, 12_000);
    expect(changes.map((c) => c.speaker)).toEqual(['PA', 'PB', 'PA', 'PB']);
    // Each hand-over comes at least HOLD_MS into the new turn, and well within it.
    for (const c of changes.slice(1)) {
      const into = c.at % turn;
      expect(into).toBeGreaterThanOrEqual(HOLD_MS);
      expect(into).toBeLessThan(turn);
    }
  });

  test('a speaker who pauses keeps the floor while nobody else speaks', () => {
    const speaker = new DominantSpeaker();
    const activities = new Map([
      ['PA', new SpeechActivity()],
      ['PB', new SpeechActivity()],
    ]);
    // PA speaks for 2 s, then everyone is silent for 8 s.
    const changes = run(speaker, activities, (p, t) => (p === 'PA' && t < 2_000 ? 20 : 127), 0, 10_000);
    expect([...changes]).toEqual([{ at: 0, speaker: 'PA' }]);
    expect(activities.get('PA')!.score(10_000)).toBe(0);
    expect(speaker.speaker).toBe('PA');
    // Then PB speaks: it takes the floor, after the hold.
    const later = run(speaker, activities, (p) => (p === 'PB' ? 20 : 127), 10_000, 13_000);
    expect(later).toHaveLength(1);
    expect(later[0]!.speaker).toBe('PB');
    expect(later[0]!.at).toBeGreaterThanOrEqual(10_000 + HOLD_MS);
  });

  test('the speaker leaving (absent from the scores) gives null, or the one still speaking at once', () => {
    const speaker = new DominantSpeaker();
    speaker.update(scores({ PA: 1, PB: 0 }), 0);
    expect(speaker.update(scores({ PB: 0 }), 250)).toBeNull();
    expect(speaker.speaker).toBeNull();
    // Nothing more to say while nobody speaks.
    expect(speaker.update(scores({ PB: 0 }), 500)).toBeUndefined();

    const other = new DominantSpeaker();
    other.update(scores({ PA: 1, PB: 0.2 }), 0);
    expect(other.speaker).toBe('PA');
    // PB was no challenger (0.2 against 1), but with PA gone it needs no hold.
    expect(other.update(scores({ PB: 0.2 }), 250)).toBe('PB');
    expect(other.speaker).toBe('PB');
  });
});

// ---- Network quality ----

/** `f` at each value, as `[value, level]` pairs. */
const levels = (f: (v: number) => number, values: number[]): [number, number][] => values.map((v) => [v, f(v)]);

describe('network quality levels', () => {
  test('loss: ≤1 % 5, ≤3 % 4, ≤6 % 3, ≤12 % 2, ≤25 % 1, more 0', () => {
    expect(levels(lossLevel, [0, 0.01, 0.0101, 0.03, 0.0301, 0.06, 0.0601, 0.12, 0.1201, 0.25, 0.2501, 1])).toEqual([
      [0, 5],
      [0.01, 5],
      [0.0101, 4],
      [0.03, 4],
      [0.0301, 3],
      [0.06, 3],
      [0.0601, 2],
      [0.12, 2],
      [0.1201, 1],
      [0.25, 1],
      [0.2501, 0],
      [1, 0],
    ]);
  });

  test('round trip: ≤200 ms 5, ≤300 4, ≤450 3, ≤700 2, ≤1200 1, more 0', () => {
    expect(levels(rttLevel, [0, 0.2, 0.2001, 0.3, 0.3001, 0.45, 0.4501, 0.7, 0.7001, 1.2, 1.2001, 10])).toEqual([
      [0, 5],
      [0.2, 5],
      [0.2001, 4],
      [0.3, 4],
      [0.3001, 3],
      [0.45, 3],
      [0.4501, 2],
      [0.7, 2],
      [0.7001, 1],
      [1.2, 1],
      [1.2001, 0],
      [10, 0],
    ]);
  });

  test('jitter: ≤30 ms 5, ≤50 4, ≤80 3, ≤120 2, ≤200 1, more 0', () => {
    expect(levels(jitterLevel, [0, 0.03, 0.0301, 0.05, 0.0501, 0.08, 0.0801, 0.12, 0.1201, 0.2, 0.2001, 2])).toEqual([
      [0, 5],
      [0.03, 5],
      [0.0301, 4],
      [0.05, 4],
      [0.0501, 3],
      [0.08, 3],
      [0.0801, 2],
      [0.12, 2],
      [0.1201, 1],
      [0.2, 1],
      [0.2001, 0],
      [2, 0],
    ]);
  });

  test('bandwidth: what may be sent ÷ what is needed, ≥50 % 5, ≥35 % 4, ≥20 % 3, ≥10 % 2, ≥5 % 1, less 0', () => {
    const needed = 1_000_000;
    const at = (bitrate: number) => bandwidthLevel(bitrate, needed);
    expect(levels(at, [2_000_000, 500_000, 499_999, 350_000, 349_999, 200_000, 199_999, 100_000, 99_999, 50_000, 49_999, 0])).toEqual([
      [2_000_000, 5],
      [500_000, 5],
      [499_999, 4],
      [350_000, 4],
      [349_999, 3],
      [200_000, 3],
      [199_999, 2],
      [100_000, 2],
      [99_999, 1],
      [50_000, 1],
      [49_999, 0],
      [0, 0],
    ]);
    // Nothing needed: nothing can be short.
    expect(bandwidthLevel(0, 0)).toBe(5);
  });
});

const path = (p: Partial<PathStats> = {}): PathStats => ({ bitrate: null, needed: null, available: null, fractionLost: null, jitter: null, rtt: null, ...p });

function inputs(p: { audioSend?: PathStats | null; audioRecv?: PathStats | null; videoSend?: PathStats | null; videoRecv?: PathStats | null; rtt?: number | null } = {}): QualityInputs {
  return {
    audio: { send: p.audioSend ?? null, recv: p.audioRecv ?? null },
    video: { send: p.videoSend ?? null, recv: p.videoRecv ?? null },
    rtt: p.rtt ?? null,
  };
}

describe('quality()', () => {
  test('everything good is 5 on every path', () => {
    const q = quality(inputs({ audioSend: path({ fractionLost: 0, jitter: 0.01 }), videoRecv: path({ fractionLost: 0 }), rtt: 0.05 }));
    expect([q.level, q.audio.send, q.audio.recv, q.video.send, q.video.recv]).toEqual([5, 5, 5, 5, 5]);
  });

  test("the participant's level is the lowest of its paths, a path's the lowest of its figures", () => {
    const q = quality(
      inputs({
        audioSend: path({ fractionLost: 0, jitter: 0.06 }), // jitter → 3
        audioRecv: path({ fractionLost: 0.02 }), // loss → 4
        videoSend: path({ bitrate: 250_000, needed: 300_000, available: 100_000, fractionLost: 0.005 }), // bandwidth 0.33 → 3
        videoRecv: path({ fractionLost: 0.1, jitter: 0.01 }), // loss → 2
        rtt: 0.1,
      }),
    );
    expect(q.audio).toMatchObject({ send: 3, recv: 4 });
    expect(q.video).toMatchObject({ send: 3, recv: 2 });
    expect(q.level).toBe(2);
    expect(q.video.recvStats).toEqual({
      bandwidth: { actual: null, available: null, level: 5 },
      fractionLost: { fractionLost: 0.1, level: 2 },
      latency: { jitter: 0.01, rtt: 0.1, level: 5 },
    });
    expect(q.video.sendStats.bandwidth).toEqual({ actual: 250_000, available: 100_000, level: 3 });
    expect(q.audio.sendStats.latency).toEqual({ jitter: 0.06, rtt: 0.1, level: 3 });

    // Worse on one path only: only that path and the overall level move.
    const worse = quality(inputs({ audioSend: path({ fractionLost: 0.3 }), rtt: 0.1 }));
    expect([worse.level, worse.audio.send, worse.audio.recv, worse.video.send, worse.video.recv]).toEqual([0, 0, 5, 5, 5]);
  });

  test("a path with no figures gets the connection's latency level (and 5 without a round trip)", () => {
    const q = quality(inputs({ rtt: 0.5 }));
    expect([q.level, q.audio.send, q.audio.recv, q.video.send, q.video.recv]).toEqual([2, 2, 2, 2, 2]);
    expect(q.audio.recvStats).toEqual({
      bandwidth: { actual: null, available: null, level: 5 },
      fractionLost: { fractionLost: null, level: 5 },
      latency: { jitter: null, rtt: 0.5, level: 2 },
    });
    expect(quality(inputs()).level).toBe(5);
    // A path's own round trip, if it has one, counts instead of the connection's.
    expect(quality(inputs({ videoRecv: path({ rtt: 1.0 }), rtt: 0.1 })).video.recv).toBe(1);
  });

  test('bandwidth counts only with both what may be sent and what is needed', () => {
    expect(quality(inputs({ videoSend: path({ available: 1_000, needed: null }) })).video.send).toBe(5);
    expect(quality(inputs({ videoSend: path({ available: null, needed: 1_000_000 }) })).video.send).toBe(5);
    expect(quality(inputs({ videoSend: path({ available: 40_000, needed: 1_000_000 }) })).video.send).toBe(0);
  });
});

describe('qualityMessage', () => {
  const local = quality(inputs({ audioSend: path({ fractionLost: 0.02 }), videoRecv: path({ fractionLost: 0.07 }), rtt: 0.1 }));
  const remote = quality(inputs({ rtt: 0.35 }));
  const remotes = [{ sid: 'PAremote', quality: remote }];
  const perKind = (q: Quality) => ({ level: q.level, audio: { send: q.audio.send, recv: q.audio.recv }, video: { send: q.video.send, recv: q.video.recv } });

  test('reportLevel 1: the level alone; 2: per kind, send and receive; 3: with the figures', () => {
    expect(local.level).toBe(2);
    expect(qualityMessage(local, remotes, 1, 0)).toEqual({ type: 'network_quality', local: 2 });
    expect(qualityMessage(local, remotes, 2, 0)).toEqual({ type: 'network_quality', local: { level: 2, audio: { send: 4, recv: 5 }, video: { send: 5, recv: 2 } } });
    const full = qualityMessage(local, remotes, 3, 0);
    expect(full).toEqual({ type: 'network_quality', local: { level: 2, audio: local.audio, video: local.video } });
    expect((full.local as { audio: Quality['audio'] }).audio.sendStats.fractionLost).toEqual({ fractionLost: 0.02, level: 4 });
  });

  test('remoteReportLevel 0: no remotes key at all; 1: sid and level; 2: per kind; 3: with the figures', () => {
    expect('remotes' in qualityMessage(local, remotes, 1, 0)).toBe(false);
    expect(qualityMessage(local, remotes, 1, 1)).toEqual({ type: 'network_quality', local: 2, remotes: [{ sid: 'PAremote', level: 3 }] });
    expect(qualityMessage(local, remotes, 1, 2)).toEqual({ type: 'network_quality', local: 2, remotes: [{ sid: 'PAremote', ...perKind(remote) }] });
    expect(qualityMessage(local, remotes, 1, 3).remotes).toEqual([{ sid: 'PAremote', level: 3, audio: remote.audio, video: remote.video }]);
    // Asked for, with nobody to report on: an empty list.
    expect(qualityMessage(local, [], 1, 1)).toEqual({ type: 'network_quality', local: 2, remotes: [] });
  });
});

// ---- Switch-off ----

function video(sid: string, c: Partial<VideoCandidate> = {}): VideoCandidate {
  return { sid, subscriberPriority: null, publisherPriority: 'standard', dominant: false, bitrate: 500_000, enabled: true, on: false, ...c };
}

const sorted = (s: Set<string>): string[] => [...s].sort();

describe('switch-off allocation', () => {
  test('without limits every enabled track is on', () => {
    expect(sorted(switchedOn([video('MT1'), video('MT2'), video('MT3')], {}))).toEqual(['MT1', 'MT2', 'MT3']);
  });

  test('the budget takes high before standard before low, whatever the subscription order', () => {
    const tracks = [video('MTlow', { publisherPriority: 'low' }), video('MTstd'), video('MThigh', { publisherPriority: 'high' })];
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 1_600_000 }))).toEqual(['MThigh', 'MTlow', 'MTstd']);
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 1_000_000 }))).toEqual(['MThigh', 'MTstd']);
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 500_000 }))).toEqual(['MThigh']);
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 400_000 }))).toEqual([]);
  });

  test("the subscriber's priority for a track counts instead of the publisher's", () => {
    const tracks = [video('MTa', { publisherPriority: 'high', subscriberPriority: 'low' }), video('MTb', { publisherPriority: 'low', subscriberPriority: 'high' })];
    expect(effectivePriority(tracks[0]!, {})).toBeLessThan(effectivePriority(tracks[1]!, {}));
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 500_000 }))).toEqual(['MTb']);
  });

  test('among equals, the most recently subscribed is the one left off', () => {
    const tracks = [video('MT1'), video('MT2'), video('MT3')];
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 1_000_000 }))).toEqual(['MT1', 'MT2']);
  });

  test('a track its subscriber disabled (render hint enabled: false) is off, budget or not', () => {
    const tracks = [video('MT1', { enabled: false, on: true, publisherPriority: 'high' }), video('MT2')];
    expect(sorted(switchedOn(tracks, {}))).toEqual(['MT2']);
    expect(sorted(switchedOn(tracks, { maxSubscriptionBitrate: 10_000_000, maxTracks: 10 }))).toEqual(['MT2']);
    // And it takes nothing from the budget: the next one fits in what would have been its share.
    expect(sorted(switchedOn([video('MT1', { enabled: false }), video('MT2')], { maxSubscriptionBitrate: 500_000 }))).toEqual(['MT2']);
  });

  test("trackSwitchOffMode 'disabled' ignores the budget and maxTracks, but not a disabled render hint", () => {
    const tracks = [video('MT1'), video('MT2', { publisherPriority: 'low' }), video('MT3', { enabled: false }), video('MT4', { bitrate: 5_000_000 })];
    const limits = { maxSubscriptionBitrate: 200_000, maxTracks: 1 };
    expect(sorted(switchedOn(tracks, limits))).toEqual([]);
    expect(sorted(switchedOn(tracks, { ...limits, trackSwitchOffMode: 'detected' }))).toEqual([]);
    expect(sorted(switchedOn(tracks, { ...limits, trackSwitchOffMode: 'disabled' }))).toEqual(['MT1', 'MT2', 'MT4']);
  });

  test('maxTracks: at most that many on, highest priority first', () => {
    const tracks = [video('MT1', { publisherPriority: 'low' }), video('MT2'), video('MT3', { publisherPriority: 'high' }), video('MT4')];
    expect(sorted(switchedOn(tracks, { maxTracks: 2 }))).toEqual(['MT2', 'MT3']);
    expect(sorted(switchedOn(tracks, { maxTracks: 1 }))).toEqual(['MT3']);
    expect(sorted(switchedOn(tracks, { maxTracks: 0 }))).toEqual([]);
    // With a budget too: whichever runs out first.
    expect(sorted(switchedOn(tracks, { maxTracks: 3, maxSubscriptionBitrate: 1_000_000 }))).toEqual(['MT2', 'MT3']);
  });

  test("the dominant speaker's video is raised to dominantSpeakerPriority, never lowered by it", () => {
    const speaker = video('MTspeaker', { publisherPriority: 'low', dominant: true });
    const other = video('MTother');
    expect(effectivePriority(speaker, {})).toBe(0);
    expect(effectivePriority(speaker, { dominantSpeakerPriority: 'high' })).toBe(2);
    expect(effectivePriority(other, { dominantSpeakerPriority: 'high' })).toBe(1);
    expect(effectivePriority(video('MThigh', { publisherPriority: 'high', dominant: true }), { dominantSpeakerPriority: 'low' })).toBe(2);
    // Room for one: the other, at standard, wins over the speaker's low video …
    expect(sorted(switchedOn([other, speaker], { maxSubscriptionBitrate: 500_000 }))).toEqual(['MTother']);
    // … unless the speaker's video is raised above it.
    expect(sorted(switchedOn([other, speaker], { maxSubscriptionBitrate: 500_000, dominantSpeakerPriority: 'high' }))).toEqual(['MTspeaker']);
    // Raised to the same priority, the speaker wins the tie, though subscribed later.
    expect(sorted(switchedOn([other, speaker], { maxSubscriptionBitrate: 500_000, dominantSpeakerPriority: 'standard' }))).toEqual(['MTspeaker']);
  });

  test('a track that is on stays on while the budget is short by up to 15 %; one that is off does not come on', () => {
    const budget = { maxSubscriptionBitrate: 1_000_000 };
    expect(sorted(switchedOn([video('MT1', { bitrate: 1_100_000, on: true })], budget))).toEqual(['MT1']);
    expect(sorted(switchedOn([video('MT1', { bitrate: 1_100_000, on: false })], budget))).toEqual([]);
    expect(sorted(switchedOn([video('MT1', { bitrate: 1_150_000, on: true })], budget))).toEqual(['MT1']);
    expect(sorted(switchedOn([video('MT1', { bitrate: 1_160_000, on: true })], budget))).toEqual([]);
    // The slack is on what is left: a second track on, 10 % over the remaining 500 kbit/s, stays.
    const two = [video('MT1', { bitrate: 500_000, on: true }), video('MT2', { bitrate: 550_000, on: true })];
    expect(sorted(switchedOn(two, budget))).toEqual(['MT1', 'MT2']);
    expect(sorted(switchedOn(two.map((c) => ({ ...c, on: false })), budget))).toEqual(['MT1']);
  });

  test('a track is counted at MIN_VIDEO_BITRATE at least: one that has not sent yet is not free', () => {
    expect(MIN_VIDEO_BITRATE).toBe(100_000);
    const silent = [video('MT1', { bitrate: 0 }), video('MT2', { bitrate: 0 }), video('MT3', { bitrate: 0 })];
    expect(sorted(switchedOn(silent, { maxSubscriptionBitrate: 250_000 }))).toEqual(['MT1', 'MT2']);
    expect(sorted(switchedOn(silent, { maxSubscriptionBitrate: 300_000 }))).toEqual(['MT1', 'MT2', 'MT3']);
    expect(sorted(switchedOn(silent, { maxSubscriptionBitrate: 99_999 }))).toEqual([]);
    expect(sorted(switchedOn([video('MT1', { bitrate: 20_000 })], { maxSubscriptionBitrate: 50_000 }))).toEqual([]);
  });
});

// ---- SDP: the application section added for the server ----

/** Chrome's offer (browser-sdp.ts) as it is without a data track: audio and video only. */
const CHROME_AV = CHROME_OFFER.slice(0, CHROME_OFFER.indexOf('m=application')).replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1');
/** Firefox's, likewise: ICE credentials per section, the fingerprint at session level. */
const FIREFOX_AV = FIREFOX_OFFER.slice(0, FIREFOX_OFFER.indexOf('m=application')).replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 1');

describe('withApplication / withoutSection', () => {
  test('the fixtures are what they claim: no application section, valid SDP', () => {
    for (const sdp of [CHROME_AV, FIREFOX_AV]) {
      const d = parseSdp(sdp);
      expect(d.media.map((m) => m.kind)).toEqual(['audio', 'video']);
      expect(d.bundle).toEqual(['0', '1']);
    }
  });

  test("adds an m=application with mid atrium-dc, the first section's ICE credentials, fingerprint and setup, in BUNDLE", () => {
    const munged = withApplication(CHROME_AV);
    expect(munged).not.toBeNull();
    expect(ADDED_APPLICATION_MID).toBe('atrium-dc');
    const d = parseSdp(munged!);
    const original = parseSdp(CHROME_AV);
    expect(d.media.map((m) => [m.kind, m.mid])).toEqual([
      ['audio', '0'],
      ['video', '1'],
      ['application', 'atrium-dc'],
    ]);
    expect(d.bundle).toEqual(['0', '1', 'atrium-dc']);
    const app = d.media[2]!;
    const first = original.media[0]!;
    expect(app).toMatchObject({
      port: 9,
      proto: 'UDP/DTLS/SCTP',
      formats: ['webrtc-datachannel'],
      iceUfrag: first.iceUfrag,
      icePwd: first.icePwd,
      fingerprint: first.fingerprint,
      setup: 'actpass',
      sctpPort: 5000,
      maxMessageSize: 262144,
      rejected: false,
    });
    expect(first.iceUfrag).toBe('Lq2Z');
    // What was there is untouched: the same session lines but the group, the same sections.
    expect(d.session.filter((l) => !l.startsWith('a=group:'))).toEqual(original.session.filter((l) => !l.startsWith('a=group:')));
    expect(d.media.slice(0, 2).map((m) => m.lines)).toEqual(original.media.map((m) => m.lines));
    expect(munged!.endsWith('\r\n')).toBe(true);
    expect(munged!.includes('\n\n')).toBe(false);
  });

  test('takes a fingerprint given at session level (Firefox)', () => {
    const d = parseSdp(withApplication(FIREFOX_AV)!);
    const app = d.media.find((m) => m.kind === 'application')!;
    expect(app.mid).toBe('atrium-dc');
    expect(app.fingerprint).toMatch(/^sha-256 1D:EA:6C/);
    expect(app.iceUfrag).toBe('5f2a9c1e');
    expect(app.icePwd).toBe('c9b1e1b3e0f5e9c3d8a2b7f4a1c6d5e0');
    expect(app.setup).toBe('actpass');
    expect(d.bundle).toEqual(['0', '1', 'atrium-dc']);
  });

  test('returns null when the offer has an application section already (even a rejected one)', () => {
    expect(withApplication(CHROME_OFFER)).toBeNull();
    expect(withApplication(FIREFOX_OFFER)).toBeNull();
  });

  test('withoutSection removes the section and its mid from the groups: the round trip gives the offer back', () => {
    const munged = withApplication(CHROME_AV)!;
    const back = withoutSection(munged, ADDED_APPLICATION_MID);
    expect(back).toBe(CHROME_AV);
    expect(back).not.toContain('atrium-dc');
    expect(parseSdp(back).bundle).toEqual(['0', '1']);
  });

  test("withoutSection on a browser's own section, by exact mid; an unknown mid changes nothing", () => {
    const d = parseSdp(withoutSection(CHROME_OFFER, '2'));
    expect(d.media.map((m) => [m.kind, m.mid])).toEqual([
      ['audio', '0'],
      ['video', '1'],
    ]);
    expect(d.bundle).toEqual(['0', '1']);
    const video = parseSdp(withoutSection(CHROME_OFFER, '1'));
    expect(video.media.map((m) => m.mid)).toEqual(['0', '2']);
    expect(video.bundle).toEqual(['0', '2']);
    expect(parseSdp(withoutSection(CHROME_OFFER, 'atrium-dc'))).toEqual(parseSdp(CHROME_OFFER));
    // No partial matches: mid "1" is not mid "10", nor a token that merely contains it.
    const tenth = CHROME_OFFER.replace('a=mid:1\r\n', 'a=mid:10\r\n').replace('a=group:BUNDLE 0 1 2', 'a=group:BUNDLE 0 10 2');
    expect(parseSdp(withoutSection(tenth, '1'))).toEqual(parseSdp(tenth));
    const first = parseSdp(withoutSection(tenth, '0'));
    expect(first.media.map((m) => m.mid)).toEqual(['10', '2']);
    expect(first.bundle).toEqual(['10', '2']);
  });
});

// ---- RTP: the size of a VP8 key frame ----

/** An RTP packet: 12-byte header, CSRCs, a one-byte-header extension block if given, then the payload. */
function rtp(payload: number[], opts: { csrcs?: number; extension?: number[] } = {}): Uint8Array {
  const csrcs = opts.csrcs ?? 0;
  const header = [0x80 | (opts.extension ? 0x10 : 0) | csrcs, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef];
  for (let i = 0; i < csrcs; i++) header.push(0, 0, 0, i + 1);
  const ext: number[] = [];
  if (opts.extension) {
    const body = [...opts.extension];
    while (body.length % 4) body.push(0);
    ext.push(0xbe, 0xde, 0, body.length / 4, ...body);
  }
  return Uint8Array.from([...header, ...ext, ...payload]);
}

/**
 * A VP8 frame header (RFC 6386 §9.1): the 3-byte frame tag (bit 0: 0 for a key frame; version 0;
 * show_frame; first partition size), then for a key frame the start code 9d 01 2a and the width and
 * height as 14 bits each plus 2 bits of scaling, little-endian.
 */
function vp8Frame(key: boolean, width: number, height: number, scale: [number, number] = [0, 0]): number[] {
  const tag = [(key ? 0x00 : 0x01) | 0x10, 0x2c, 0x01];
  if (!key) return [...tag, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22];
  const w = (width & 0x3fff) | (scale[0] << 14);
  const h = (height & 0x3fff) | (scale[1] << 14);
  return [...tag, 0x9d, 0x01, 0x2a, w & 0xff, w >> 8, h & 0xff, h >> 8, 0x00, 0x00];
}

describe('vp8KeyFrameSize', () => {
  test('reads the 14-bit width and height after the start code, ignoring the scaling bits', () => {
    // Minimal payload descriptor: S=1, partition 0.
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 640, 480)]))).toEqual({ width: 640, height: 480 });
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 1280, 720, [1, 2])]))).toEqual({ width: 1280, height: 720 });
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 16383, 1)]))).toEqual({ width: 16383, height: 1 });
  });

  test('after an extended descriptor (2-byte PictureID, TL0PICIDX, TID/KEYIDX), CSRCs and header extensions', () => {
    const descriptor = [0x90, 0xf0, 0x80 | 0x12, 0x34, 0x07, 0x40];
    const packet = rtp([...descriptor, ...vp8Frame(true, 1920, 1080, [3, 3])], { csrcs: 2, extension: [0x10, 0x80 | 30, 0x40, 0x61] });
    expect(isVp8KeyFrame(packet)).toBe(true);
    expect(vp8KeyFrameSize(packet)).toEqual({ width: 1920, height: 1080 });
    // A 1-byte PictureID and no TL0PICIDX.
    expect(vp8KeyFrameSize(rtp([0x90, 0xa0, 0x12, 0x00, ...vp8Frame(true, 320, 180)]))).toEqual({ width: 320, height: 180 });
  });

  test('null for a delta frame, a packet that does not start partition 0, a wrong start code, a truncated header or a zero size', () => {
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(false, 640, 480)]))).toBeNull();
    expect(isVp8KeyFrame(rtp([0x10, ...vp8Frame(false, 640, 480)]))).toBe(false);
    // A delta frame whose first bytes happen to read like a start code and a size is still no key frame.
    const lookalike = vp8Frame(true, 640, 480);
    lookalike[0]! |= 0x01;
    expect(vp8KeyFrameSize(rtp([0x10, ...lookalike]))).toBeNull();
    // S=0: a continuation packet, whose bytes only look like a frame header.
    expect(vp8KeyFrameSize(rtp([0x00, ...vp8Frame(true, 640, 480)]))).toBeNull();
    // S=1 but partition 1.
    expect(vp8KeyFrameSize(rtp([0x11, ...vp8Frame(true, 640, 480)]))).toBeNull();
    const badStart = vp8Frame(true, 640, 480);
    badStart[4] = 0x02;
    expect(vp8KeyFrameSize(rtp([0x10, ...badStart]))).toBeNull();
    // Cut inside the size fields.
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 640, 480).slice(0, 9)]))).toBeNull();
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 640, 480).slice(0, 10)]))).toEqual({ width: 640, height: 480 });
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 0, 480)]))).toBeNull();
    expect(vp8KeyFrameSize(rtp([0x10, ...vp8Frame(true, 640, 0)]))).toBeNull();
    expect(vp8KeyFrameSize(rtp([]))).toBeNull();
    expect(vp8KeyFrameSize(Uint8Array.from([0x80, 96, 0, 1]))).toBeNull();
  });
});

// ---- Control API bodies ----

/** The ControlError `f` throws (failing the test if it throws none or something else). */
function refusal(f: () => unknown): ControlError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ControlError);
    return err as ControlError;
  }
  throw new Error('expected a ControlError, nothing was thrown');
}

const session = { room: 'RM1', participant: 'PA1', pc: 'pc-1' };

describe('validation: session features and bandwidth profile', () => {
  test('features default to none and the profile to empty', () => {
    expect(sessionBody(session)).toEqual({ ...session, features: [], profile: {} });
  });

  test('every feature the server serves is accepted, repeats dropped', () => {
    expect(sessionBody({ ...session, features: [...MEDIA_SIGNALING_FEATURES] }).features).toEqual([...MEDIA_SIGNALING_FEATURES]);
    expect(sessionBody({ ...session, features: ['network_quality', 'active_speaker', 'network_quality'] }).features).toEqual(['network_quality', 'active_speaker']);
  });

  test('an unknown feature, a non-string or a non-array is a 400 naming it', () => {
    const cases: [unknown, RegExp][] = [
      [['active_speaker', 'dominant_speaker'], /^features\[1\] is not a media-signaling feature/],
      [['transcription'], /^features\[0\] /],
      [[42], /^features\[0\] /],
      [[null], /^features\[0\] /],
      [['ACTIVE_SPEAKER'], /^features\[0\] /],
      ['active_speaker', /^features must be an array/],
      [{ active_speaker: {} }, /^features must be an array/],
      [null, /^features must be an array/],
      [Array(17).fill('active_speaker'), /^features has more than 16 entries/],
    ];
    for (const [features, mentions] of cases) {
      const err = refusal(() => sessionBody({ ...session, features }));
      expect(err.status, JSON.stringify(features)).toBe(400);
      expect(err.code).toBe(53004);
      expect(err.message).toMatch(mentions);
    }
  });

  test('a full profile passes through; unknown keys are left out', () => {
    const full = { maxSubscriptionBitrate: 2_500_000, maxTracks: 4, mode: 'collaboration', trackSwitchOffMode: 'predicted', dominantSpeakerPriority: 'high' } as const;
    expect(sessionBody({ ...session, profile: { ...full, renderDimensions: { high: { width: 1280 } } } }).profile).toEqual(full);
    expect(profile({ maxSubscriptionBitrate: 0, maxTracks: 0 })).toEqual({ maxSubscriptionBitrate: 0, maxTracks: 0 });
    for (const mode of ['grid', 'collaboration', 'presentation']) expect(profile({ mode })).toEqual({ mode });
    for (const trackSwitchOffMode of ['detected', 'predicted', 'disabled']) expect(profile({ trackSwitchOffMode })).toEqual({ trackSwitchOffMode });
    for (const dominantSpeakerPriority of ['low', 'standard', 'high']) expect(profile({ dominantSpeakerPriority })).toEqual({ dominantSpeakerPriority });
  });

  test('each profile field is checked, and the 400 names it', () => {
    const cases: [unknown, RegExp][] = [
      [null, /^profile must be an object/],
      [[], /^profile must be an object/],
      ['grid', /^profile must be an object/],
      [{ maxSubscriptionBitrate: -1 }, /^profile\.maxSubscriptionBitrate must be a non-negative integer/],
      [{ maxSubscriptionBitrate: 1.5 }, /^profile\.maxSubscriptionBitrate /],
      [{ maxSubscriptionBitrate: '1000000' }, /^profile\.maxSubscriptionBitrate /],
      [{ maxSubscriptionBitrate: Number.MAX_SAFE_INTEGER + 2 }, /^profile\.maxSubscriptionBitrate /],
      [{ maxSubscriptionBitrate: null }, /^profile\.maxSubscriptionBitrate /],
      [{ maxTracks: -3 }, /^profile\.maxTracks /],
      [{ maxTracks: true }, /^profile\.maxTracks /],
      [{ mode: 'speaker' }, /^profile\.mode must be one of grid, collaboration, presentation/],
      [{ mode: 'GRID' }, /^profile\.mode /],
      [{ trackSwitchOffMode: 'off' }, /^profile\.trackSwitchOffMode must be one of detected, predicted, disabled/],
      [{ dominantSpeakerPriority: 'highest' }, /^profile\.dominantSpeakerPriority must be one of low, standard, high/],
      [{ dominantSpeakerPriority: 2 }, /^profile\.dominantSpeakerPriority /],
    ];
    for (const [p, mentions] of cases) {
      const err = refusal(() => sessionBody({ ...session, profile: p }));
      expect(err.status, JSON.stringify(p)).toBe(400);
      expect(err.code).toBe(53004);
      expect(err.message).toMatch(mentions);
    }
  });
});

describe('validation: subscription priority', () => {
  const track = { session: 'PA2.1', id: 'video-1', kind: 'video', sid: 'MTvideo1' };

  test('low, standard and high are taken; none leaves it unset', () => {
    for (const priority of ['low', 'standard', 'high']) expect(subscriptionsBody({ tracks: [{ ...track, priority }] })).toEqual([{ ...track, priority }]);
    const [ref] = subscriptionsBody({ tracks: [track] });
    expect(ref).toEqual(track);
    expect('priority' in ref!).toBe(false);
  });

  test('anything else is a 400 naming the track', () => {
    for (const priority of ['medium', 'HIGH', '', 1, null, true, { level: 'high' }]) {
      const err = refusal(() => subscriptionsBody({ tracks: [{ ...track, id: 'audio-1', kind: 'audio' }, { ...track, priority }] }));
      expect(err.status, JSON.stringify(priority)).toBe(400);
      expect(err.code).toBe(53004);
      expect(err.message).toMatch(/^tracks\[1\]\.priority must be low, standard or high/);
    }
  });
});
