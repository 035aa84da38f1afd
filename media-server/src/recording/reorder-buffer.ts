import { seqDiff } from '../rtp/rtp';

/** How long a hole in the sequence is waited for, and how many packets may queue behind it. */
export interface ReorderLimits {
  maxDelayMs: number;
  /** Under RESTART_DISTANCE (3000): a jump that far is a restart, not reordering. */
  maxPackets: number;
}

/**
 * Defaults sized for NACK recovery: the media server asks again for a missing packet every 100 ms
 * (media/publication.ts), so a retransmission typically lands 1–2 round trips after the hole.
 */
export const DEFAULT_REORDER_LIMITS: ReorderLimits = { maxDelayMs: 200, maxPackets: 128 };

/** A sequence jump (either way) this large is a restarted sender, not reordering: start over there. */
const RESTART_DISTANCE = 3000;

interface Slot<T> {
  seq: number;
  item: T;
  at: number;
}

/**
 * Puts one SSRC's RTP packets back in sequence-number order (RFC 3550 §5.1: the sequence number
 * increments by one per packet, so a hole is a loss or a packet still on its way, typically a NACK
 * retransmission, RFC 4585 §6.2.1). In-order packets pass straight through; after a hole, later
 * packets wait until it is filled, or until the hole has been waited for `maxDelayMs` or
 * `maxPackets` are queued behind it, then the hole is declared lost (`onLoss`) and the queue
 * moves on. A packet behind the release point (too late, or a duplicate) is refused. The first
 * `maxDelayMs` are held as a whole, so that a stream whose first packets arrive out of order
 * starts at its lowest sequence number. Memory is a fixed ring of `maxPackets` slots.
 */
export class ReorderBuffer<T> {
  private readonly slots: (Slot<T> | undefined)[];
  private readonly mask: number;
  private next: number | null = null;
  private held = 0;
  /** Arrival of the first packet; `warm` once `maxDelayMs` have passed since or anything was released. */
  private startedAt = 0;
  private warm = false;
  /** The highest sequence number held. */
  private highest = 0;

  constructor(
    private readonly onRelease: (item: T, arrival: number) => void,
    private readonly onLoss: (missing: number) => void,
    private readonly limits: ReorderLimits = DEFAULT_REORDER_LIMITS,
  ) {
    let size = 1;
    while (size < limits.maxPackets) size *= 2;
    this.slots = new Array(size);
    this.mask = size - 1;
  }

  /** Adds a packet; false when it was refused (late or duplicate). */
  push(seq: number, item: T, now: number): boolean {
    if (this.next === null) {
      this.next = seq;
      this.startedAt = now;
    }
    let ahead = seqDiff(seq, this.next);
    if (Math.abs(ahead) >= RESTART_DISTANCE) {
      this.flush();
      this.next = seq;
      ahead = 0;
    }
    if (ahead < 0) {
      // While warming up nothing has been released: an earlier packet just came late, start there.
      if (!this.warming(now) || seqDiff(this.highest, seq) >= this.limits.maxPackets) return false;
      this.next = seq;
      ahead = 0;
    }
    // The window holds maxPackets sequence numbers from `next`: skip the oldest holes to make room.
    while (ahead >= this.limits.maxPackets) {
      if (this.held > 0) {
        this.skipHole();
      } else {
        const lost = ahead - this.limits.maxPackets + 1;
        this.onLoss(lost);
        this.next = (this.next + lost) & 0xffff;
      }
      ahead = seqDiff(seq, this.next!);
    }
    const index = seq & this.mask;
    if (this.slots[index] !== undefined) return false;
    this.slots[index] = { seq, item, at: now };
    if (this.held++ === 0 || seqDiff(seq, this.highest) > 0) this.highest = seq;
    if (!this.warming(now)) this.drain(now);
    return true;
  }

  /** Releases everything held, in order, declaring the holes between them lost. */
  flush(): void {
    this.warm = true;
    while (this.held > 0) this.skipHole();
  }

  private warming(now: number): boolean {
    this.warm ||= now - this.startedAt >= this.limits.maxDelayMs;
    return !this.warm;
  }

  /** Releases the in-order run at `next`; then gives up on a hole that has been waited for long enough. */
  private drain(now: number): void {
    for (;;) {
      this.releaseRun();
      if (this.held === 0) return;
      const first = this.firstHeld();
      if (now - first.at < this.limits.maxDelayMs) return;
      this.skipHole();
    }
  }

  private releaseRun(): void {
    for (;;) {
      const index = this.next! & this.mask;
      const slot = this.slots[index];
      if (slot === undefined || slot.seq !== this.next) return;
      this.slots[index] = undefined;
      this.held--;
      this.warm = true;
      this.next = (this.next! + 1) & 0xffff;
      this.onRelease(slot.item, slot.at);
    }
  }

  /** The held packet nearest after `next` (the one waiting on the hole). */
  private firstHeld(): Slot<T> {
    for (let i = 0; ; i++) {
      const slot = this.slots[(this.next! + i) & this.mask];
      if (slot !== undefined) return slot;
    }
  }

  /** Declares the hole at `next` lost, and releases the run after it (something must be held). */
  private skipHole(): void {
    const first = this.firstHeld();
    const missing = seqDiff(first.seq, this.next!);
    if (missing > 0) this.onLoss(missing);
    this.next = first.seq;
    this.releaseRun();
  }
}
