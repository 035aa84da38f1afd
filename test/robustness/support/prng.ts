/**
 * A small seeded PRNG (mulberry32) for the fuzzers: the same seed replays the same inputs, so a
 * failure found in CI can be reproduced locally with `ROBUSTNESS_SEED=<seed> npm run test:robustness`.
 * Math.random cannot be seeded, which is why the fuzzers never use it.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string): string {
    const chars = [...alphabet];
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick(chars);
    return out;
  }
}

/**
 * The seed for this run: `ROBUSTNESS_SEED` when set (to replay a failure), else a fresh one. The
 * caller prints it, so every run's log says how to reproduce it.
 */
export function runSeed(): number {
  const raw = process.env.ROBUSTNESS_SEED;
  if (raw !== undefined && raw.trim() !== '') {
    const seed = Number(raw);
    if (!Number.isSafeInteger(seed)) throw new Error(`ROBUSTNESS_SEED must be an integer, got ${raw}`);
    return seed >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
