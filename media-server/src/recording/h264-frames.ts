/**
 * H.264 over RTP (RFC 6184, packetization-mode 1 as WebRTC negotiates it) back into access units
 * as Matroska's V_MPEG4/ISO/AVC holds them: NAL units with 4-byte length prefixes ("AVCC", ISO/IEC
 * 14496-15 §5.3.4.2), described by an AVCDecoderConfigurationRecord (avcC, §5.3.3.1) built from the
 * stream's SPS and PPS. mediabunny's Matroska muxer writes packets as given (it converts no Annex B
 * for Matroska), so the conversion is done here. Parameter sets stay in-band too: WebRTC resends
 * them before every IDR, and may change them mid-stream (a resolution change), which decoders
 * follow from the in-band copies.
 */

/** NAL unit types (H.264 Table 7-1) the recorder acts on: an IDR slice starts a key frame; SPS and PPS configure the decoder. */
const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
const STAP_A = 24;
const FU_A = 28;

/**
 * The NAL units of one access unit (the payloads of one RTP timestamp, in sequence order), or null
 * when they do not reassemble: single NAL unit packets (types 1–23, RFC 6184 §5.6), STAP-A (§5.7.1:
 * 16-bit size + NAL unit, repeated) and FU-A (§5.8: fragments of one NAL unit, the original NAL
 * header rebuilt from the FU indicator's F/NRI bits and the FU header's type; Start bit on the
 * first fragment, End on the last). Interleaved-mode types (STAP-B, MTAP, FU-B) are refused.
 */
export function h264Nalus(payloads: readonly Uint8Array[]): Uint8Array[] | null {
  const nalus: Uint8Array[] = [];
  let fragments: Uint8Array[] | null = null;
  for (const payload of payloads) {
    if (payload.length < 1) return null;
    const type = payload[0]! & 0x1f;
    if (fragments && type !== FU_A) return null;
    if (type >= 1 && type <= 23) {
      nalus.push(payload);
    } else if (type === STAP_A) {
      let i = 1;
      while (i < payload.length) {
        if (i + 2 > payload.length) return null;
        const size = (payload[i]! << 8) | payload[i + 1]!;
        if (size === 0 || i + 2 + size > payload.length) return null;
        nalus.push(payload.subarray(i + 2, i + 2 + size));
        i += 2 + size;
      }
    } else if (type === FU_A) {
      if (payload.length < 3) return null;
      const header = payload[1]!;
      const start = (header & 0x80) !== 0;
      const end = (header & 0x40) !== 0;
      if (start === (fragments !== null)) return null;
      if (start) fragments = [Uint8Array.of((payload[0]! & 0xe0) | (header & 0x1f))];
      fragments!.push(payload.subarray(2));
      if (end) {
        nalus.push(concat(fragments!));
        fragments = null;
      }
    } else {
      return null;
    }
  }
  return fragments || nalus.length === 0 ? null : nalus;
}

/** A NAL unit's type: the low 5 bits of its header byte (H.264 §7.3.1). */
export const nalType = (nalu: Uint8Array): number => nalu[0]! & 0x1f;

/** Whether an access unit is a key frame: it holds an IDR slice (H.264 §7.4.1.2.4). */
export function isH264KeyFrameNalus(nalus: readonly Uint8Array[]): boolean {
  return nalus.some((n) => nalType(n) === NAL_IDR);
}

/** An access unit as AVCC: each NAL unit behind its 4-byte big-endian length. */
export function toAvcc(nalus: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(nalus.reduce((n, nalu) => n + 4 + nalu.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const nalu of nalus) {
    view.setUint32(offset, nalu.length);
    out.set(nalu, offset + 4);
    offset += 4 + nalu.length;
  }
  return out;
}

/** What a decoder needs to be set up for a stream: codec string, avcC record and picture size. */
export interface AvcConfig {
  codec: string;
  description: Uint8Array;
  width: number;
  height: number;
}

/**
 * The decoder configuration from an SPS and a PPS (the first of each in an access unit), or null
 * when the SPS does not parse. The codec string is RFC 6381 §3.3's avc1.PPCCLL (profile,
 * constraint flags, level: the SPS's bytes 1–3).
 */
export function avcConfig(sps: Uint8Array, pps: Uint8Array): AvcConfig | null {
  const info = parseSps(sps);
  if (!info) return null;
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  const high = [100, 110, 122, 144].includes(sps[1]!);
  const record = [
    1, sps[1]!, sps[2]!, sps[3]!,
    0xfc | 3, // reserved + lengthSizeMinusOne: 4-byte lengths
    0xe0 | 1, (sps.length >> 8) & 0xff, sps.length & 0xff, ...sps,
    1, (pps.length >> 8) & 0xff, pps.length & 0xff, ...pps,
    // High profiles carry the chroma format and bit depths after the parameter sets (§5.3.3.1.2).
    ...(high ? [0xfc | info.chromaFormat, 0xf8 | info.bitDepthLumaMinus8, 0xf8 | info.bitDepthChromaMinus8, 0] : []),
  ];
  return { codec: `avc1.${hex(sps[1]!)}${hex(sps[2]!)}${hex(sps[3]!)}`, description: Uint8Array.from(record), width: info.width, height: info.height };
}

/** Exp-Golomb reader over an RBSP (H.264 §9.1). Reading past the end throws. */
class BitReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  bit(): number {
    const byte = this.bytes[this.pos >> 3];
    if (byte === undefined) throw new RangeError('SPS truncated');
    const b = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** A NAL unit's payload without emulation prevention bytes (00 00 03 → 00 00, H.264 §7.4.1). */
function rbsp(nalu: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (let i = 1; i < nalu.length; i++) {
    const b = nalu[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** Profiles whose SPS carries chroma format and bit depths (H.264 §7.3.2.1.1). */
const CHROMA_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * The cropped picture size, chroma format and bit depths an SPS declares (H.264 §7.3.2.1.1 and
 * §7.4.2.1.1 for the frame cropping units), or null when it does not parse. Matroska's PixelWidth
 * and PixelHeight come from it.
 */
function parseSps(sps: Uint8Array): { width: number; height: number; chromaFormat: number; bitDepthLumaMinus8: number; bitDepthChromaMinus8: number } | null {
  try {
    const r = new BitReader(rbsp(sps));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chromaFormat = 1;
    let bitDepthLumaMinus8 = 0;
    let bitDepthChromaMinus8 = 0;
    let separateColourPlane = 0;
    if (CHROMA_PROFILES.has(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) separateColourPlane = r.bit();
      bitDepthLumaMinus8 = r.ue();
      bitDepthChromaMinus8 = r.ue();
      r.bit(); // qpprime_y_zero_transform_bypass_flag
      if (r.bit()) {
        // seq_scaling_matrix_present_flag: scaling lists are skipped (§7.3.2.1.1.1).
        for (let i = 0; i < (chromaFormat !== 3 ? 8 : 12); i++) {
          if (!r.bit()) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
            next = (last + r.se() + 256) % 256;
            if (next !== 0) last = next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit(); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit(); // mb_adaptive_frame_field_flag
    r.bit(); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const arrayType = separateColourPlane ? 0 : chromaFormat;
    const cropX = arrayType === 0 ? 1 : chromaFormat === 3 ? 1 : 2;
    const cropY = (arrayType === 0 ? 1 : chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropX * (crop[0]! + crop[1]!);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop[2]! + crop[3]!);
    if (width <= 0 || height <= 0) return null;
    return { width, height, chromaFormat, bitDepthLumaMinus8, bitDepthChromaMinus8 };
  } catch {
    return null;
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
