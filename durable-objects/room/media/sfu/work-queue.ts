import { logError } from '../../../../core/log';

/**
 * One chain of asynchronous work per participant: a Room object's event handlers interleave at
 * every await (a call to the media server is one), but a participant's media operations must reach
 * the media server in the order they happened. Work for different participants runs concurrently.
 *
 * The chains live in memory. That is enough: while any of them is waiting on the network the object
 * stays alive, and what an evicted object forgets is found again by the media check (sfu-media.ts).
 */
export class WorkQueues {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `job` after every job queued for `key` before it; a job that throws does not stop later ones. */
  run(key: string, job: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(job).catch((err) => {
      // `key` is the participant's session key: the job was for that participant.
      logError({ event: 'media-job-failed', participantSid: key, message: `media job for ${key} failed`, error: err });
    });
    this.tails.set(key, next);
    void next.then(() => {
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  /** Resolves once everything queued for `key` so far is done, or after `timeoutMs`. */
  async idle(key: string, timeoutMs: number): Promise<void> {
    const tail = this.tails.get(key);
    if (!tail) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([tail, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  has(key: string): boolean {
    return this.tails.has(key);
  }
}
