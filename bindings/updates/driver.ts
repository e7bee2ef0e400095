// UpdateDriver: the I/O shell around an UpdateEngine for anything that can make a call
// (a session, a test's client): it makes the engine's requests through `call`, feeds the
// answers back, arms one timer at the engine's next deadline, and hands deliveries to
// `onUpdate` (acknowledged once it returns, unless `autoAck` is false). The engine holds
// the protocol; this file only moves things between it and the world.

import type * as TL from '../tl';
import { UpdateEngine } from './engine';
import type {
  DeliveredUpdate,
  EngineMethod,
  EngineOutput,
  UpdateEngineOptions,
  UpdateError,
  UpdateGap,
} from './types';

export interface UpdateDriverOptions extends UpdateEngineOptions {
  /** Makes one request (Session.call, a peer's invoke...); its rejection's `errorMessage` or `message` is passed on. */
  call: (method: EngineMethod, params: unknown) => Promise<unknown>;
  onUpdate?: (u: DeliveredUpdate) => void;
  onGap?: (g: UpdateGap) => void;
  onError?: (e: UpdateError) => void;
  /** Acknowledge each update once `onUpdate` returned (default true). */
  autoAck?: boolean;
  /** Clock (ms); default Date.now. */
  now?: () => number;
}

export class UpdateDriver {
  readonly engine: UpdateEngine;
  /** Requests made, by method. */
  readonly calls: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly options: UpdateDriverOptions) {
    this.engine = new UpdateEngine(options);
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.engine.start(this.now());
    this.flush();
  }

  push(updates: TL.Types['Updates']): void {
    if (this.stopped) return;
    this.engine.push(updates, this.now());
    this.flush();
  }

  /** The result of an RPC the application made (see UpdateEngine.rpcResult). */
  rpcResult(params: unknown, result: unknown): void {
    this.engine.rpcResult(params, result, this.now());
    this.flush();
  }

  connectionRestored(): void {
    this.engine.connectionRestored(this.now());
    this.flush();
  }

  sessionCreated(): void {
    this.engine.sessionCreated(this.now());
    this.flush();
  }

  resync(): void {
    this.engine.resync(this.now());
    this.flush();
  }

  acknowledge(token: number): void {
    this.engine.acknowledge(token);
    this.flush();
  }

  setConsumerBehind(behind: boolean): void {
    this.engine.setConsumerBehind(behind, this.now());
    this.flush();
  }

  /** Resolves once no request is in flight or due and nothing waits to be fetched. */
  settled(): Promise<void> {
    if (this.quiet()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private quiet(): boolean {
    return this.inFlight === 0 && !this.engine.busy && this.engine.heldCount === 0;
  }

  /** Hands every output on, then re-arms the timer. */
  private flush(): void {
    if (this.stopped) return;
    for (;;) {
      const out = this.engine.takeOutputs();
      if (out.length === 0) break;
      for (const o of out) this.handle(o);
    }
    this.arm();
    if (this.quiet()) for (const w of this.waiters.splice(0)) w();
  }

  private handle(o: EngineOutput): void {
    switch (o.kind) {
      case 'update':
        this.options.onUpdate?.(o);
        if (this.options.autoAck !== false) this.engine.acknowledge(o.token);
        return;
      case 'gap':
        this.options.onGap?.(o);
        if (this.options.autoAck !== false) this.engine.acknowledge(o.token);
        return;
      case 'error':
        this.options.onError?.(o);
        return;
      case 'request': {
        this.calls[o.method] = (this.calls[o.method] ?? 0) + 1;
        this.inFlight++;
        const id = o.id;
        this.options.call(o.method, o.params).then(
          (result) => {
            this.inFlight--;
            if (this.stopped) return;
            this.engine.answer(id, result, this.now());
            this.flush();
          },
          (e: unknown) => {
            this.inFlight--;
            if (this.stopped) return;
            const err = e as { errorMessage?: unknown; message?: unknown };
            const message =
              typeof err?.errorMessage === 'string' ? err.errorMessage : String(err?.message ?? e);
            this.engine.fail(id, { message }, this.now());
            this.flush();
          },
        );
      }
    }
  }

  private arm(): void {
    const at = this.engine.nextDeadline();
    if (at === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        if (this.stopped) return;
        this.engine.tick(this.now());
        this.flush();
      },
      Math.max(0, at - this.now()),
    );
    this.timer.unref();
  }
}
