import type { DataChannel } from 'node-datachannel';

/** Messages held while the channel opens; a client that never opens it loses the oldest. */
const MAX_QUEUED = 64;
/** Larger client messages are ignored (a network-quality report is under 2 KB, render hints for 50 tracks ~5 KB). */
const MAX_MESSAGE = 64 * 1024;

/**
 * One feature's data channel toward a participant: JSON text both ways, as twilio-video's
 * DataTransport speaks it (data/transport.js). Messages sent before the channel opens are queued;
 * what the client sends that is not a JSON object with a string `type` is ignored, as the client
 * ignores what it cannot read.
 */
export class MspChannel {
  private queue: string[] = [];
  private open = false;
  private closed = false;

  constructor(
    private readonly channel: DataChannel,
    onMessage: (message: Record<string, unknown> & { type: string }) => void,
  ) {
    channel.onOpen(() => {
      this.open = true;
      const queued = this.queue;
      this.queue = [];
      for (const text of queued) this.deliver(text);
    });
    channel.onClosed(() => {
      this.open = false;
      this.closed = true;
    });
    channel.onMessage((raw) => {
      if (typeof raw !== 'string' || raw.length > MAX_MESSAGE) return;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch {
        return;
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
      if (typeof (message as { type?: unknown }).type !== 'string') return;
      onMessage(message as Record<string, unknown> & { type: string });
    });
  }

  send(message: Record<string, unknown>): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    if (!this.open) {
      if (this.queue.length >= MAX_QUEUED) this.queue.shift();
      this.queue.push(text);
      return;
    }
    this.deliver(text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.channel.close();
    } catch {
      // Closed with its connection already.
    }
  }

  private deliver(text: string): void {
    try {
      this.channel.sendMessage(text);
    } catch {
      // Closing under us; its close handler marks it.
    }
  }
}
