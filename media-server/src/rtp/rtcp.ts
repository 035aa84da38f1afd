/**
 * RTCP (RFC 3550, 4585, 5104) as a media server needs it: split compound packets, read feedback
 * (PLI, FIR, NACK, REMB, receiver reports), and build the feedback it sends itself.
 */

export const SR = 200;
export const RR = 201;
export const RTPFB = 205;
export const PSFB = 206;

export type Feedback =
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; mediaSsrcs: number[] }
  | { type: 'nack'; mediaSsrc: number; seqs: number[] }
  | { type: 'remb'; bitrate: number; ssrcs: number[] }
  | { type: 'report'; ssrc: number; fractionLost: number; cumulativeLost: number; highestSeq: number; jitter: number; lastSr: number; delaySinceLastSr: number }
  | { type: 'sr'; ssrc: number; ntp: bigint; rtpTimestamp: number };

const u32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

/** Every feedback item in a (compound) RTCP packet; unknown or malformed parts are skipped. */
export function readRtcp(buf: Uint8Array): Feedback[] {
  const out: Feedback[] = [];
  let i = 0;
  while (i + 4 <= buf.length) {
    const count = buf[i]! & 0x1f;
    const type = buf[i + 1]!;
    const length = (u16(buf, i + 2) + 1) * 4;
    if (buf[i]! >> 6 !== 2 || i + length > buf.length) break;
    const end = i + length;
    if (type === PSFB && length >= 12) {
      const mediaSsrc = u32(buf, i + 8);
      if (count === 1) out.push({ type: 'pli', mediaSsrc });
      else if (count === 4) {
        const ssrcs: number[] = [];
        for (let j = i + 12; j + 8 <= end; j += 8) ssrcs.push(u32(buf, j));
        out.push({ type: 'fir', mediaSsrcs: ssrcs });
      } else if (count === 15 && length >= 20 && buf[i + 12] === 0x52 && buf[i + 13] === 0x45 && buf[i + 14] === 0x4d && buf[i + 15] === 0x42) {
        const num = buf[i + 16]!;
        const exp = buf[i + 17]! >> 2;
        const mantissa = ((buf[i + 17]! & 0x03) << 16) | u16(buf, i + 18);
        const ssrcs: number[] = [];
        for (let j = 0; j < num && i + 20 + 4 * j + 4 <= end; j++) ssrcs.push(u32(buf, i + 20 + 4 * j));
        out.push({ type: 'remb', bitrate: mantissa * 2 ** exp, ssrcs });
      }
    } else if (type === RTPFB && count === 1 && length >= 12) {
      const mediaSsrc = u32(buf, i + 8);
      const seqs: number[] = [];
      for (let j = i + 12; j + 4 <= end; j += 4) {
        const pid = u16(buf, j);
        const blp = u16(buf, j + 2);
        seqs.push(pid);
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.push((pid + bit + 1) & 0xffff);
      }
      out.push({ type: 'nack', mediaSsrc, seqs });
    } else if (type === SR || type === RR) {
      let blocks = i + 8;
      if (type === SR && length >= 28) {
        out.push({ type: 'sr', ssrc: u32(buf, i + 4), ntp: (BigInt(u32(buf, i + 8)) << 32n) | BigInt(u32(buf, i + 12)), rtpTimestamp: u32(buf, i + 16) });
        blocks = i + 28;
      }
      for (let r = 0; r < count && blocks + 24 <= end; r++, blocks += 24) {
        out.push({
          type: 'report',
          ssrc: u32(buf, blocks),
          fractionLost: buf[blocks + 4]! / 256,
          // 24 bits, signed (duplicates can make it negative).
          cumulativeLost: ((buf[blocks + 5]! << 16) | (buf[blocks + 6]! << 8) | buf[blocks + 7]!) << 8 >> 8,
          highestSeq: u32(buf, blocks + 8),
          jitter: u32(buf, blocks + 12),
          lastSr: u32(buf, blocks + 16),
          delaySinceLastSr: u32(buf, blocks + 20),
        });
      }
    }
    i = end;
  }
  return out;
}

function header(fmtOrCount: number, type: number, words: number): Buffer {
  const b = Buffer.alloc((words + 1) * 4);
  b[0] = 0x80 | (fmtOrCount & 0x1f);
  b[1] = type;
  b.writeUInt16BE(words, 2);
  return b;
}

/** Picture Loss Indication (RFC 4585 §6.3.1): asks the sender of `mediaSsrc` for a key frame. */
export function pli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = header(1, PSFB, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  return b;
}

/** Generic NACK (RFC 4585 §6.2.1) for the given sequence numbers of `mediaSsrc`. */
export function nack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const items: [number, number][] = [];
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    const last = items[items.length - 1];
    const d = last ? (seq - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else items.push([seq & 0xffff, 0]);
  }
  const b = header(1, RTPFB, 2 + items.length);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  items.forEach(([pid, blp], k) => {
    b.writeUInt16BE(pid, 12 + 4 * k);
    b.writeUInt16BE(blp, 14 + 4 * k);
  });
  return b;
}

/** Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb) for `ssrcs`. */
export function remb(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  const b = header(15, PSFB, 4 + ssrcs.length);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.write('REMB', 12, 'ascii');
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | ((mantissa >> 16) & 0x03);
  b.writeUInt16BE(mantissa & 0xffff, 18);
  ssrcs.forEach((s, k) => b.writeUInt32BE(s >>> 0, 20 + 4 * k));
  return b;
}

/** A receiver report with one report block: loss and jitter of `mediaSsrc` as seen here. */
export function receiverReport(
  senderSsrc: number,
  block: { ssrc: number; fractionLost: number; cumulativeLost: number; highestSeq: number; jitter: number; lastSr: number; delaySinceLastSr: number },
): Buffer {
  const b = header(1, RR, 7);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(block.ssrc >>> 0, 8);
  b[12] = Math.max(0, Math.min(255, Math.floor(block.fractionLost * 256)));
  const lost = Math.max(-0x800000, Math.min(0x7fffff, block.cumulativeLost)) & 0xffffff;
  b[13] = (lost >> 16) & 0xff;
  b.writeUInt16BE(lost & 0xffff, 14);
  b.writeUInt32BE(block.highestSeq >>> 0, 16);
  b.writeUInt32BE(block.jitter >>> 0, 20);
  b.writeUInt32BE(block.lastSr >>> 0, 24);
  b.writeUInt32BE(block.delaySinceLastSr >>> 0, 28);
  return b;
}

/** A sender report for a forwarded stream: the publisher's wall-clock time, mapped to the forwarded RTP clock. */
export function senderReport(ssrc: number, ntp: bigint, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const b = header(0, SR, 6);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.writeUInt32BE(Number((ntp >> 32n) & 0xffffffffn), 8);
  b.writeUInt32BE(Number(ntp & 0xffffffffn), 12);
  b.writeUInt32BE(rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return b;
}
