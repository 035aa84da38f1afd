/**
 * VP8 over RTP (RFC 7741) back into VP8 frames as a Matroska V_VP8 block holds them: the payload
 * descriptor of each packet removed and the rest concatenated.
 */

/**
 * Length of the VP8 payload descriptor (RFC 7741 §4.2) at the start of an RTP payload, with its
 * S bit and partition index, or null when truncated. The descriptor: X|R|N|S|R|PID; when X, an
 * I|L|T|K byte; then a 7- or 15-bit PictureID (M bit) when I, TL0PICIDX when L, and one
 * TID|Y|KEYIDX byte when T or K.
 */
function vp8Descriptor(payload: Uint8Array): { length: number; start: boolean; partition: number } | null {
  if (payload.length < 1) return null;
  const first = payload[0]!;
  let i = 1;
  if (first & 0x80) {
    if (payload.length < 2) return null;
    const x = payload[1]!;
    i = 2;
    if (x & 0x80) {
      if (payload.length <= i) return null;
      i += payload[i]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) i++;
    if (x & 0x30) i++;
  }
  if (i > payload.length) return null;
  return { length: i, start: (first & 0x10) !== 0, partition: first & 0x07 };
}

/**
 * The VP8 frame carried by the payloads of one RTP timestamp, in sequence order, or null when they
 * do not make a frame: the first must start partition 0 (S=1, PID=0, RFC 7741 §4.2), and the
 * frame must not be empty.
 */
export function vp8Frame(payloads: readonly Uint8Array[]): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const [n, payload] of payloads.entries()) {
    const d = vp8Descriptor(payload);
    if (!d) return null;
    if (n === 0 && !(d.start && d.partition === 0)) return null;
    const part = payload.subarray(d.length);
    parts.push(part);
    size += part.length;
  }
  if (size < 3) return null;
  const frame = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    frame.set(part, offset);
    offset += part.length;
  }
  return frame;
}

/** Whether a VP8 frame is a key frame: the inverse key-frame bit of its frame tag (RFC 6386 §9.1). */
export function isVp8KeyFrameData(frame: Uint8Array): boolean {
  return frame.length >= 10 && (frame[0]! & 0x01) === 0 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a;
}

/**
 * The picture size a VP8 key frame declares (RFC 6386 §9.1: after the 3-byte frame tag and the
 * start code 9d 01 2a, 14-bit width and height, little-endian, each under 2 scaling bits), or null.
 */
export function vp8FrameSize(frame: Uint8Array): { width: number; height: number } | null {
  if (!isVp8KeyFrameData(frame)) return null;
  const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : null;
}
