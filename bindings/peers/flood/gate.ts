// The I/O shell of a flood controller (controller.ts): one timer at its next deadline,
// a promise per queued call, and the FLOOD_WAIT loop. A call goes when the controller
// lets it; a FLOOD_WAIT it draws is remembered (so the calls behind it wait rather than
// draw it too) and, when no longer than the caller's threshold, the call queues again in
// its old place; past the threshold the caller gets the FloodWaitError, with its seconds.
import { FloodWaitError } from '../../tl';
import { FloodQueueError } from '../errors';
import {
  FloodController,
  type FloodControllerOptions,
  type FloodJob,
  type FloodPriority,
} from './controller';

export interface GateCallOptions {
  priority?: FloodPriority;
  /** Longest FLOOD_WAIT (seconds) waited out before FloodWaitError is thrown. */
  threshold: number;
  /** ms since the epoch (Infinity: none). */
  deadline: number;
  signal?: AbortSignal;
}

/** How the gate tells its caller why a queued call ended early (the session's own errors). */
export interface GateErrors {
  timedOut(): Error;
  aborted(signal: AbortSignal): Error;
}

export class FloodGate {
  readonly controller: FloodController;
  private readonly waiting = new Map<number, { go: () => void; fail: (e: Error) => void }>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    options: FloodControllerOptions,
    private readonly errors: GateErrors,
    private readonly now: () => number = Date.now,
  ) {
    this.controller = new FloodController(options, now());
  }

  /** Runs `send` when the controller allows, waiting out FLOOD_WAITs up to the threshold. */
  async run<T>(
    method: string,
    chat: bigint | undefined,
    o: GateCallOptions,
    send: () => Promise<T>,
  ): Promise<T> {
    const c = this.controller;
    let seq: number | undefined;
    for (;;) {
      const now = this.now();
      const blocked = c.blockedUntil(method, chat, now);
      // A remembered wait past the threshold (or the deadline): the caller hears it now.
      if (blocked > 0 && (blocked - now > o.threshold * 1000 || blocked > o.deadline))
        throw floodWait(Math.ceil((blocked - now) / 1000));
      if (!c.mayBypass(method, chat, now) || seq !== undefined) seq = await this.queue(method, chat, o, seq);
      try {
        return await send();
      } catch (e) {
        if (!(e instanceof FloodWaitError)) throw e;
        const at = this.now();
        c.learn(method, chat, e.seconds, at);
        this.wake();
        if (e.seconds > o.threshold || at + e.seconds * 1000 > o.deadline || this.closed) throw e;
        seq ??= 0;
      }
    }
  }

  /** Waits for the controller to release the call; its seq (to keep its place on a retry). */
  private queue(
    method: string,
    chat: bigint | undefined,
    o: GateCallOptions,
    seq: number | undefined,
  ): Promise<number> {
    if (this.closed) return Promise.reject(new FloodQueueError('FLOOD_QUEUE_CLOSED', 'the session closed'));
    const signal = o.signal;
    if (signal?.aborted) return Promise.reject(this.errors.aborted(signal));
    const job = this.controller.submit(method, chat, o.priority ?? 'normal', this.now(), seq || undefined);
    if (typeof job === 'string')
      return Promise.reject(
        new FloodQueueError(
          job,
          `${this.controller.stats.queued} calls already wait (${method}): not queued`,
        ),
      );
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.waiting.delete(job.id);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (error: Error) => {
        done();
        this.controller.cancel(job, this.now());
        reject(error);
      };
      const onAbort = () => giveUp(this.errors.aborted(signal as AbortSignal));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (o.deadline !== Number.POSITIVE_INFINITY)
        timer = setTimeout(() => giveUp(this.errors.timedOut()), Math.max(0, o.deadline - this.now()));
      this.waiting.set(job.id, {
        go: () => {
          done();
          resolve(job.seq);
        },
        fail: (e: Error) => giveUp(e),
      });
      this.wake();
    });
  }

  /** Releases what may go and arms the timer for the rest. */
  private readonly pump = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    for (const job of this.controller.take(now)) this.release(job);
    this.arm(this.controller.nextDeadline(this.now()));
  };

  private release(job: FloodJob): void {
    this.waiting.get(job.id)?.go();
  }

  private wake(): void {
    this.arm(this.now());
  }

  private arm(at: number): void {
    if (at === Number.POSITIVE_INFINITY || this.closed) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.pump, Math.max(0, at - this.now()));
    this.timer.unref?.();
  }

  /** Fails every queued call (FLOOD_QUEUE_CLOSED); later calls too. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const error = new FloodQueueError('FLOOD_QUEUE_CLOSED', 'the session closed while the call waited');
    for (const w of [...this.waiting.values()]) w.fail(error);
  }
}

function floodWait(seconds: number): FloodWaitError {
  return new FloodWaitError(420, `FLOOD_WAIT_${seconds}`) as FloodWaitError;
}
