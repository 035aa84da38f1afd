/**
 * Network quality levels (0–5, 5 the best) as twilio-video's `networkQualityLevel` shows them,
 * computed from what the media server measures on each path of a participant's connection and the
 * round-trip time its client reports. The formula (docs/media-server.md, "Network quality"):
 *
 *   loss       ≤ 1 % → 5, ≤ 3 % → 4, ≤ 6 % → 3, ≤ 12 % → 2, ≤ 25 % → 1, more → 0
 *   latency    the lower of   rtt    ≤ 200 ms → 5, ≤ 300 → 4, ≤ 450 → 3, ≤ 700 → 2, ≤ 1,200 → 1
 *                             jitter ≤ 30 ms → 5, ≤ 50 → 4, ≤ 80 → 3, ≤ 120 → 2, ≤ 200 → 1
 *                             (audio's: the packets of a video frame leave paced, so their spread
 *                             says more about the sender's pacer than about the network)
 *   bandwidth  (what is sent) the bitrate the client's congestion control says it may send ÷ what its
 *              published media needs at its resolution (the media server reads VP8 key frames' size):
 *              ≥ 50 % → 5, ≥ 35 % → 4, ≥ 20 % → 3, ≥ 10 % → 2, ≥ 5 % → 1, less → 0
 *              (not the bitrate measured: a muted microphone or a disabled camera sends next to
 *              nothing on a perfect network)
 *
 * A path's level is the lowest of those it has figures for; a kind's (audio, video) send or receive
 * level is its path's, and the participant's level is the lowest of its paths. A path that carries
 * nothing has nothing wrong with it: it gets the connection's latency level.
 */

/** What is known of one direction of one kind of media (everything it sends, or receives). */
export interface PathStats {
  /** Bits per second measured on the path; null when unknown. */
  bitrate: number | null;
  /** Bits per second the media on it needs (for what it sends); null when unknown. */
  needed: number | null;
  /** Bits per second the client estimates it may send (for this kind); null when unknown. */
  available: number | null;
  /** 0–1, lost on the way (as the receiving side counted). */
  fractionLost: number | null;
  /** Seconds. */
  jitter: number | null;
  /** Seconds, the connection's round trip. */
  rtt: number | null;
}

export interface QualityInputs {
  audio: { send: PathStats | null; recv: PathStats | null };
  video: { send: PathStats | null; recv: PathStats | null };
  /** Seconds, from the client's report (its selected candidate pair). */
  rtt: number | null;
}

interface StatsJson {
  bandwidth: { actual: number | null; available: number | null; level: number };
  fractionLost: { fractionLost: number | null; level: number };
  latency: { jitter: number | null; rtt: number | null; level: number };
}

interface KindQuality {
  send: number;
  recv: number;
  sendStats: StatsJson;
  recvStats: StatsJson;
}

export interface Quality {
  level: number;
  audio: KindQuality;
  video: KindQuality;
}

const step = (value: number, bounds: number[]): number => {
  const i = bounds.findIndex((b) => value <= b);
  return i < 0 ? 0 : 5 - i;
};

export const lossLevel = (fractionLost: number): number => step(fractionLost, [0.01, 0.03, 0.06, 0.12, 0.25]);
export const rttLevel = (rtt: number): number => step(rtt, [0.2, 0.3, 0.45, 0.7, 1.2]);
export const jitterLevel = (jitter: number): number => step(jitter, [0.03, 0.05, 0.08, 0.12, 0.2]);
export function bandwidthLevel(bitrate: number, needed: number): number {
  const ratio = needed > 0 ? bitrate / needed : 1;
  return ratio >= 0.5 ? 5 : ratio >= 0.35 ? 4 : ratio >= 0.2 ? 3 : ratio >= 0.1 ? 2 : ratio >= 0.05 ? 1 : 0;
}

function pathQuality(path: PathStats | null, rtt: number | null): { level: number; stats: StatsJson } {
  const p: PathStats = path ?? { bitrate: null, needed: null, available: null, fractionLost: null, jitter: null, rtt };
  const roundTrip = p.rtt ?? rtt;
  const latency = Math.min(roundTrip === null ? 5 : rttLevel(roundTrip), p.jitter === null ? 5 : jitterLevel(p.jitter));
  const loss = p.fractionLost === null ? 5 : lossLevel(p.fractionLost);
  const bandwidth = p.available === null || p.needed === null ? 5 : bandwidthLevel(p.available, p.needed);
  return {
    level: Math.min(latency, loss, bandwidth),
    stats: {
      bandwidth: { actual: p.bitrate, available: p.available, level: bandwidth },
      fractionLost: { fractionLost: p.fractionLost, level: loss },
      latency: { jitter: p.jitter, rtt: roundTrip, level: latency },
    },
  };
}

export function quality(inputs: QualityInputs): Quality {
  const kind = (k: 'audio' | 'video'): KindQuality => {
    const send = pathQuality(inputs[k].send, inputs.rtt);
    const recv = pathQuality(inputs[k].recv, inputs.rtt);
    return { send: send.level, recv: recv.level, sendStats: send.stats, recvStats: recv.stats };
  };
  const audio = kind('audio');
  const video = kind('video');
  return { level: Math.min(audio.send, audio.recv, video.send, video.recv), audio, video };
}

/** The verbosity a client asked for (`reportLevel`, `remoteReportLevel`): 1 level, 2 per kind, 3 with figures. */
function shaped(q: Quality, verbosity: number): number | Record<string, unknown> {
  if (verbosity <= 1) return q.level;
  const kind = (k: KindQuality) => (verbosity >= 3 ? k : { send: k.send, recv: k.recv });
  return { level: q.level, audio: kind(q.audio), video: kind(q.video) };
}

/** The server's `network_quality` message: the participant's own level and, if asked, the others'. */
export function qualityMessage(
  local: Quality,
  remotes: { sid: string; quality: Quality }[],
  reportLevel: number,
  remoteReportLevel: number,
): Record<string, unknown> {
  const message: Record<string, unknown> = { type: 'network_quality', local: shaped(local, reportLevel) };
  if (remoteReportLevel > 0) {
    message.remotes = remotes.map(({ sid, quality: q }) => {
      const s = shaped(q, remoteReportLevel);
      return typeof s === 'number' ? { sid, level: s } : { sid, ...s };
    });
  }
  return message;
}
