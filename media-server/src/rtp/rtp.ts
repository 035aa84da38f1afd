/**
 * RTP packets (RFC 3550) as a media server touches them: header fields read and rewritten in place,
 * header extensions (RFC 8285) read and stripped. Payloads are never decoded.
 */

export const RTP_HEADER_MIN = 12;

/** Whether a datagram demultiplexed as media is RTCP rather than RTP (RFC 5761: PT 64–95 after the marker bit). */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 4) return false;
  const pt = buf[1]! & 0x7f;
  return pt >= 64 && pt <= 95;
}

export function isRtp(buf: Uint8Array): boolean {
  return buf.length >= RTP_HEADER_MIN && buf[0]! >> 6 === 2 && !isRtcp(buf);
}

export const payloadType = (buf: Uint8Array): number => buf[1]! & 0x7f;
export const marker = (buf: Uint8Array): boolean => (buf[1]! & 0x80) !== 0;
export const sequenceNumber = (buf: Uint8Array): number => (buf[2]! << 8) | buf[3]!;
export const timestamp = (buf: Uint8Array): number => ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
export const ssrc = (buf: Uint8Array): number => ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;

/** Length of the fixed header plus CSRCs; the extension (if any) starts here. */
function csrcEnd(buf: Uint8Array): number {
  return RTP_HEADER_MIN + 4 * (buf[0]! & 0x0f);
}

/** Offset of the payload: after the fixed header, CSRCs and header extension. -1 if malformed. */
export function payloadOffset(buf: Uint8Array): number {
  let offset = csrcEnd(buf);
  if (buf[0]! & 0x10) {
    if (buf.length < offset + 4) return -1;
    const words = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    offset += 4 + 4 * words;
  }
  return offset <= buf.length ? offset : -1;
}

/** Payload length, without padding; -1 if malformed. */
export function payloadLength(buf: Uint8Array): number {
  const offset = payloadOffset(buf);
  if (offset < 0) return -1;
  const padding = buf[0]! & 0x20 ? buf[buf.length - 1]! : 0;
  const len = buf.length - offset - padding;
  return len >= 0 ? len : -1;
}

/** Rewrites payload type, sequence number, timestamp and SSRC in place. */
export function rewriteHeader(buf: Uint8Array, pt: number, seq: number, ts: number, newSsrc: number): void {
  buf[1] = (buf[1]! & 0x80) | (pt & 0x7f);
  buf[2] = (seq >> 8) & 0xff;
  buf[3] = seq & 0xff;
  buf[4] = (ts >>> 24) & 0xff;
  buf[5] = (ts >>> 16) & 0xff;
  buf[6] = (ts >>> 8) & 0xff;
  buf[7] = ts & 0xff;
  buf[8] = (newSsrc >>> 24) & 0xff;
  buf[9] = (newSsrc >>> 16) & 0xff;
  buf[10] = (newSsrc >>> 8) & 0xff;
  buf[11] = newSsrc & 0xff;
}

/**
 * A copy of the packet without its header extension. Extension ids are negotiated per connection,
 * so a publisher's (its `mid` above all, which a receiver would route by) mean nothing, or
 * something else, to a subscriber.
 */
export function withoutExtensions(buf: Uint8Array): Buffer {
  if (!(buf[0]! & 0x10)) return Buffer.from(buf);
  const start = csrcEnd(buf);
  const end = payloadOffset(buf);
  if (end < 0) return Buffer.from(buf);
  const out = Buffer.allocUnsafe(buf.length - (end - start));
  out.set(buf.subarray(0, start), 0);
  out.set(buf.subarray(end), start);
  out[0] = out[0]! & ~0x10;
  return out;
}

/**
 * The value of header extension `id` (one-byte or two-byte form, RFC 8285), or null. Used for
 * the audio level (RFC 6464) of published audio.
 */
export function extension(buf: Uint8Array, id: number): Uint8Array | null {
  if (!(buf[0]! & 0x10)) return null;
  const start = csrcEnd(buf);
  if (buf.length < start + 4) return null;
  const profile = (buf[start]! << 8) | buf[start + 1]!;
  const end = start + 4 + 4 * ((buf[start + 2]! << 8) | buf[start + 3]!);
  if (end > buf.length) return null;
  let i = start + 4;
  if (profile === 0xbede) {
    while (i < end) {
      const b = buf[i]!;
      if (b === 0) {
        i++;
        continue;
      }
      const extId = b >> 4;
      const len = (b & 0x0f) + 1;
      if (extId === 15) return null;
      if (extId === id) return buf.subarray(i + 1, i + 1 + len);
      i += 1 + len;
    }
  } else if ((profile & 0xfff0) === 0x1000) {
    while (i + 1 < end) {
      const extId = buf[i]!;
      if (extId === 0) {
        i++;
        continue;
      }
      const len = buf[i + 1]!;
      if (extId === id) return buf.subarray(i + 2, i + 2 + len);
      i += 2 + len;
    }
  }
  return null;
}

/** Sequence-number distance a − b in the 16-bit space, in −32768..32767. */
export function seqDiff(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

/**
 * Where the VP8 frame header of a packet starts (RFC 7741): after the payload descriptor, in a
 * packet that starts partition 0 of a frame; -1 otherwise.
 */
function vp8FrameHeader(buf: Uint8Array): number {
  const offset = payloadOffset(buf);
  if (offset < 0 || offset >= buf.length) return -1;
  let i = offset;
  const first = buf[i]!;
  const extended = (first & 0x80) !== 0;
  const start = (first & 0x10) !== 0;
  const partition = first & 0x07;
  if (!start || partition !== 0) return -1;
  i++;
  if (extended) {
    if (i >= buf.length) return -1;
    const x = buf[i]!;
    i++;
    if (x & 0x80) {
      // PictureID: one or two bytes.
      if (i >= buf.length) return -1;
      i += buf[i]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) i++; // TL0PICIDX
    if (x & 0x30) i++; // TID / KEYIDX
  }
  return i < buf.length ? i : -1;
}

/** Whether a VP8 payload starts a key frame: the inverse key-frame bit of the VP8 frame header. */
export function isVp8KeyFrame(buf: Uint8Array): boolean {
  const i = vp8FrameHeader(buf);
  return i >= 0 && (buf[i]! & 0x01) === 0;
}

/**
 * The picture size a VP8 key frame carries (RFC 6386 §9.1: a 3-byte frame tag, the start code
 * 9d 01 2a, then 14-bit width and height, little-endian), or null.
 */
export function vp8KeyFrameSize(buf: Uint8Array): { width: number; height: number } | null {
  const i = vp8FrameHeader(buf);
  if (i < 0 || (buf[i]! & 0x01) !== 0 || i + 10 > buf.length) return null;
  if (buf[i + 3] !== 0x9d || buf[i + 4] !== 0x01 || buf[i + 5] !== 0x2a) return null;
  const width = (buf[i + 6]! | (buf[i + 7]! << 8)) & 0x3fff;
  const height = (buf[i + 8]! | (buf[i + 9]! << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : null;
}

/**
 * Whether an H.264 payload (RFC 6184) carries the start of an IDR picture or its SPS: a single
 * NAL unit of type 5 or 7, a STAP-A holding one, or the first fragment (FU-A) of one.
 */
export function isH264KeyFrame(buf: Uint8Array): boolean {
  const offset = payloadOffset(buf);
  if (offset < 0 || offset >= buf.length) return false;
  const nal = buf[offset]! & 0x1f;
  if (nal === 5 || nal === 7) return true;
  if (nal === 24) {
    let i = offset + 1;
    while (i + 2 < buf.length) {
      const size = (buf[i]! << 8) | buf[i + 1]!;
      const type = buf[i + 2]! & 0x1f;
      if (type === 5 || type === 7) return true;
      i += 2 + size;
    }
    return false;
  }
  if (nal === 28 && offset + 1 < buf.length) {
    const fu = buf[offset + 1]!;
    const type = fu & 0x1f;
    return (fu & 0x80) !== 0 && (type === 5 || type === 7);
  }
  return false;
}

/** Whether a video packet starts a key frame, for the codec it is in. */
export function isKeyFrame(buf: Uint8Array, codec: string): boolean {
  return codec === 'H264' ? isH264KeyFrame(buf) : isVp8KeyFrame(buf);
}
