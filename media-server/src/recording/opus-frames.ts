/**
 * Opus as WebRTC sends it (RFC 7587): one Opus packet per RTP packet, timestamps at 48 kHz
 * whatever the real sampling rate, and always signaled as 2 channels (opus/48000/2, §7).
 */

export const OPUS_CLOCK_RATE = 48_000;
export const OPUS_CHANNELS = 2;

/** Frame sizes in 48 kHz samples by TOC configuration group (RFC 6716 §3.1, Table 2). */
const SILK_SAMPLES = [480, 960, 1920, 2880];
const HYBRID_SAMPLES = [480, 960];
const CELT_SAMPLES = [120, 240, 480, 960];
/** An Opus packet never holds more than 120 ms (RFC 6716 §3.2.5). */
const MAX_PACKET_SAMPLES = 5760;

/**
 * The duration of an Opus packet in 48 kHz samples, read from its TOC byte (RFC 6716 §3.1: the
 * configuration gives the frame size, the code the frame count; code 3 carries the count in the
 * next byte, §3.2.5), or null when the packet is malformed. Used for each block's duration, so
 * the last one ends the file at the right time even when DTX (RFC 7587 §3.1.3) left gaps.
 */
export function opusPacketSamples(packet: Uint8Array): number | null {
  if (packet.length < 1) return null;
  const toc = packet[0]!;
  const config = toc >> 3;
  const frameSamples = config < 12 ? SILK_SAMPLES[config & 3]! : config < 16 ? HYBRID_SAMPLES[config & 1]! : CELT_SAMPLES[config & 3]!;
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code !== 3) frames = 2;
  else {
    if (packet.length < 2) return null;
    frames = packet[1]! & 0x3f;
  }
  const samples = frames * frameSamples;
  return samples > 0 && samples <= MAX_PACKET_SAMPLES ? samples : null;
}

/**
 * The Opus identification header (RFC 7845 §5.1) that Matroska's A_OPUS wants as CodecPrivate.
 * Pre-skip is 0: a recording starts mid-stream, after the encoder's priming samples, so there is
 * nothing to skip. Channel mapping family 0 (mono or stereo), which also decodes a mono stream
 * sent as opus/48000/2.
 */
export function opusHead(channels = OPUS_CHANNELS, inputSampleRate = OPUS_CLOCK_RATE): Uint8Array {
  const head = new Uint8Array(19);
  const view = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'), 0);
  head[8] = 1; // version
  head[9] = channels;
  view.setUint16(10, 0, true); // pre-skip
  view.setUint32(12, inputSampleRate, true);
  view.setInt16(16, 0, true); // output gain
  head[18] = 0; // channel mapping family
  return head;
}
