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

/** Calls released per event-loop turn. */
const RELEASE_PER_TURN = 2048;

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
  private timer: { cancel(): void } | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private soon = false;

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
      let job: FloodJob | undefined;
      if (!c.mayBypass(method, chat, now) || seq !== undefined) {
        job = await this.queue(method, chat, o, seq);
        seq = job.seq;
      }
      try {
        return await send();
      } catch (e) {
        if (!(e instanceof FloodWaitError)) throw e;
        const at = this.now();
        c.learn(method, chat, e.seconds, at);
        this.wake();
        if (e.seconds > o.threshold || at + e.seconds * 1000 > o.deadline || this.closed) throw e;
        seq ??= 0;
      } finally {
        // Its tokens are spent from its answer on (bucket.ts); calls waiting for them may go.
        if (job) {
          c.settle(job, this.now());
          this.pumpSoon();
        }
      }
    }
  }

  /** Waits for the controller to release the call (its seq keeps its place on a retry). */
  private queue(
    method: string,
    chat: bigint | undefined,
    o: GateCallOptions,
    seq: number | undefined,
  ): Promise<FloodJob> {
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
    return new Promise<FloodJob>((resolve, reject) => {
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
          resolve(job);
        },
        fail: (e: Error) => giveUp(e),
      });
      this.pumpSoon();
    });
  }

  /** Releases what may go and arms the timer for the rest. */
  private readonly pump = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.pumpNow();
  };

  /**
   * Once the calls made in this turn are queued (a microtask): released calls are then sent
   * in the same turn, so a token is taken when its call is written, not long before.
   */
  private pumpSoon(): void {
    if (this.soon) return;
    this.soon = true;
    queueMicrotask(() => {
      this.soon = false;
      if (!this.closed) this.pumpNow();
    });
  }

  private pumpNow(): void {
    const now = this.now();
    const released = this.controller.take(now, RELEASE_PER_TURN);
    for (const job of released) this.release(job);
    // More may go: after this turn's I/O (so that what was released is written first, and
    // each token is taken about when its call goes out, not long before).
    if (released.length === RELEASE_PER_TURN) this.arm(now + 1, true);
    else this.arm(this.controller.nextDeadline(now));
  }

  private release(job: FloodJob): void {
    this.waiting.get(job.id)?.go();
  }

  private wake(): void {
    this.arm(this.now());
  }

  private arm(at: number, immediate = false): void {
    if (at === Number.POSITIVE_INFINITY || this.closed) return;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.cancel();
    this.timerAt = at;
    // Not unref'd: calls are waiting on it (it only runs while some do).
    if (immediate) {
      const handle = setImmediate(this.pump);
      this.timer = { cancel: () => clearImmediate(handle) };
    } else {
      const handle = setTimeout(this.pump, Math.max(0, at - this.now()));
      this.timer = { cancel: () => clearTimeout(handle) };
    }
  }

  /** Fails every queued call (FLOOD_QUEUE_CLOSED); later calls too. */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    const error = new FloodQueueError('FLOOD_QUEUE_CLOSED', 'the session closed while the call waited');
    for (const w of [...this.waiting.values()]) w.fail(error);
  }
}

function floodWait(seconds: number): FloodWaitError {
  return new FloodWaitError(420, `FLOOD_WAIT_${seconds}`) as FloodWaitError;
}
