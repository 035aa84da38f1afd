import type { DataChannel } from 'node-datachannel';
import { DataSink } from '../data/data-relay';

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
  /** What the server sends: queued until open, then delivered, as to any subscriber's data channel. */
  private readonly out: DataSink;

  constructor(
    channel: DataChannel,
    onMessage: (message: Record<string, unknown> & { type: string }) => void,
  ) {
    this.out = new DataSink(channel, MAX_QUEUED);
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
    this.out.send(JSON.stringify(message));
  }

  close(): void {
    this.out.close();
  }
}
