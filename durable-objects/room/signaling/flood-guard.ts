/**
 * A token bucket per connection, in memory: a client may burst to CAPACITY messages and sustain
 * REFILL_PER_S. twilio-video sends a few messages a second at most (ICE trickle bursts included);
 * a socket far beyond that is broken or hostile and is disconnected before it can starve the room.
 * Losing the buckets on hibernation only forgives, never punishes.
 */
const CAPACITY = 400;
const REFILL_PER_S = 200;
const MAX_TRACKED = 4096;

export class FloodGuard {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  allow(conn: string, now: number): boolean {
    let b = this.buckets.get(conn);
    if (!b) {
      if (this.buckets.size >= MAX_TRACKED) this.buckets.clear();
      b = { tokens: CAPACITY, at: now };
      this.buckets.set(conn, b);
    }
    b.tokens = Math.min(CAPACITY, b.tokens + ((now - b.at) / 1000) * REFILL_PER_S);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
