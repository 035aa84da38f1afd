import type { DataChannel } from 'node-datachannel';

/** Messages held for a subscriber channel that is not open yet; beyond this the oldest are dropped. */
const MAX_QUEUED = 256;

type Message = string | Buffer;

/** A subscriber's copy of a data track: a channel the server opened toward it, labelled with the publisher's track id. */
export class DataSink {
  private queue: Message[] = [];
  private open = false;
  private closed = false;

  constructor(
    readonly channel: DataChannel,
    private readonly maxQueued = MAX_QUEUED,
  ) {
    channel.onOpen(() => {
      this.open = true;
      const queued = this.queue;
      this.queue = [];
      for (const m of queued) this.deliver(m);
    });
    channel.onClosed(() => {
      this.open = false;
      this.closed = true;
    });
  }

  send(message: Message): void {
    if (this.closed) return;
    if (!this.open) {
      if (this.queue.length >= this.maxQueued) this.queue.shift();
      this.queue.push(message);
      return;
    }
    this.deliver(message);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.channel.close();
    } catch {
      // Already closed with its connection.
    }
  }

  private deliver(message: Message): void {
    try {
      if (typeof message === 'string') this.channel.sendMessage(message);
      else this.channel.sendMessageBinary(message);
    } catch {
      // A channel closing under us; its close handler marks it.
    }
  }
}

/**
 * A data track a participant publishes: the in-band channel its client opened (label = its track
 * id), every message relayed to each subscriber's channel, text as text and binary as binary,
 * never back to the publisher.
 */
export class DataSource {
  readonly sinks = new Set<DataSink>();
  readonly stats = { messages: 0, relayed: 0 };

  constructor(
    readonly key: string,
    channel: DataChannel,
    onClosed: () => void,
  ) {
    channel.onMessage((message) => {
      this.stats.messages++;
      const m: Message = typeof message === 'string' ? message : Buffer.isBuffer(message) ? message : Buffer.from(new Uint8Array(message));
      for (const sink of this.sinks) sink.send(m);
      this.stats.relayed += this.sinks.size;
    });
    channel.onClosed(onClosed);
  }
}
