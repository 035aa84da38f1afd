import { Forwarder } from '../media/forwarder';
import type { Publication } from '../media/publication';
import { isRtcp } from '../rtp/rtp';
import type { TrackWriter } from './track-writer';

/**
 * Payload type and SSRC the recorder's stream is rewritten to. The writer reads neither (it knows
 * its codec and takes one stream); they only have to be constant.
 */
const RECORDED_PT = 96;
const RECORDED_SSRC = 1;

export interface RecorderOptions {
  /** Where the packets go. */
  writer: TrackWriter;
  kind: 'audio' | 'video';
  /** Called once, when the writer has written its first media (its startedAt is set). */
  onStarted(startedAt: number): void;
}

/**
 * Feeds one publication's packets to a TrackWriter. The recorder is one more subscriber of the
 * publication: a Forwarder whose output is the writer. That gives it what a subscriber gets
 * without any code of its own: video starts at a key frame, asked for (PLI) while it waits and
 * throttled like every request to the publisher; with simulcast, the highest flowing layer,
 * switched only at a key frame of the new layer; and sequence numbers and timestamps that go on
 * without a jump across a layer switch, so the writer sees one continuous stream.
 */
export class Recorder {
  private readonly forwarder: Forwarder;
  private publication: Publication | null = null;
  private started = false;

  constructor(private readonly options: RecorderOptions) {
    this.forwarder = new Forwarder(RECORDED_SSRC, RECORDED_PT, options.kind === 'audio' ? 48_000 : 90_000, options.kind === 'video', {
      send: (packet) => this.write(packet),
    });
  }

  /** Media time written so far, ms. */
  get durationMs(): number {
    return this.options.writer.durationMs;
  }

  /** Starts taking the publication's packets (and asks for a key frame when it is video). */
  attach(p: Publication): void {
    this.detach();
    this.publication = p;
    p.sinks.add(this.forwarder);
    p.requestKeyFrame();
  }

  /** Stops taking packets; the writer is left for its owner to finish. */
  detach(): void {
    this.publication?.sinks.delete(this.forwarder);
    this.publication = null;
  }

  private write(packet: Buffer): boolean {
    // Sender reports are forwarded to subscribers for lip sync; a file has no use for them.
    if (isRtcp(packet) || !this.publication) return true;
    const { writer } = this.options;
    const now = Date.now();
    // The forwarder rewrites this buffer for the next subscriber: the writer copies what it keeps.
    // It never throws: a packet it cannot use is dropped, a failed write surfaces at finish().
    writer.push(packet, now);
    if (!this.started && writer.startedAt !== null) {
      this.started = true;
      this.options.onStarted(writer.startedAt);
    }
    // The writer may drop a broken frame (loss) and wait for the next key frame: ask for it.
    if (writer.wantsKeyFrame) this.publication.requestKeyFrame(now, this.forwarder.source);
    return true;
  }
}
