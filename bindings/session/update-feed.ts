// The update engine (bindings/updates) wired into a session (`updates: { catchUp: true }`):
// every pushed `Updates` of every connection and every RPC result go in; ordered,
// de-duplicated updates (and gaps) come out to the client and to `Session.ordered()`;
// the engine's own requests are made on the session; the committed state (only what
// the application has taken) goes to the session's storage.
//
// Acknowledgement: as the `ordered()` iterator advances (the item it handed out before
// is taken), or once the client returned when nothing iterates, or by hand
// (`ack: 'manual'`, `Session.acknowledge(id, token)`). Back-pressure: while the
// iterator's buffer is full the engine is told the consumer is behind: it asks for no
// difference and holds what comes; RPC answers keep flowing (the socket is not paused).

import type * as TL from '../tl';
import {
  type DeliveredUpdate,
  parseUpdatesState,
  UpdateDriver,
  type UpdateError,
  type UpdateGap,
  UpdateStateError,
} from '../updates';
import type { SessionEvent, SessionId, SessionUpdatesOptions } from './types';
import { UpdateQueue } from './updates';

/** One item of `Session.ordered()`: an update with its position, or a range to refetch. */
export type OrderedUpdate = DeliveredUpdate | UpdateGap;

/** What the feed needs from its session. */
export interface FeedHost {
  readonly sessionId: SessionId;
  notify(e: SessionEvent): void;
  /** One of the engine's requests, made on the session (never behind the updates queue). */
  call(method: string, params: unknown): Promise<unknown>;
  /** The committed state to store (coalesced by the store; written on close too). */
  commit(state: unknown): void;
  /** The same, written now: resolves once stored (the engine's first state, see `start`). */
  commitNow(state: unknown): Promise<void>;
}

export class UpdateFeed {
  private driver: UpdateDriver | null = null;
  private queue: UpdateQueue<OrderedUpdate> | null = null;
  /** The token of the item the iterator handed out last (acknowledged when it asks again). */
  private handedOut: number | null = null;
  private committed: string | undefined;
  private closed = false;
  private readonly manual: boolean;
  /** Whether the account is a bot, as far as the session learned (options, logins, users.getUsers). */
  private isBot: boolean | undefined;
  private starting: Promise<void> | null = null;

  constructor(
    private readonly host: FeedHost,
    private readonly options: SessionUpdatesOptions,
    /** The state stored by an earlier run, if any. */
    private readonly stored: unknown,
  ) {
    this.manual = options.ack === 'manual';
    this.isBot = options.isBot;
  }

  get started(): boolean {
    return this.driver !== null;
  }

  /** A login or a users.getUsers answer told whether the account is a bot. */
  learnedBot(bot: boolean): void {
    this.isBot = bot;
  }

  /**
   * Starts the engine for `selfId`, once: when it is not known whether the account is a
   * bot (bots get larger channel differences), users.getUsers(self) is asked first.
   * Resolves once the engine's first answer came (never rejects); `current()` false
   * (the session closed, or its user changed meanwhile) starts nothing.
   */
  startFor(selfId: bigint, current: () => boolean): Promise<void> {
    if (this.started) return this.start({ selfId, isBot: this.isBot ?? false });
    this.starting ??= this.whoAmI().then(() => {
      if (!current()) return;
      return this.start({ selfId, isBot: this.isBot ?? false });
    });
    return this.starting;
  }

  private async whoAmI(): Promise<void> {
    if (this.isBot !== undefined) return;
    try {
      const users = (await this.host.call('users.getUsers', { id: [{ _: 'inputUserSelf' }] })) as Array<{
        bot?: boolean;
      }>;
      this.isBot ??= users[0]?.bot === true;
    } catch {
      this.isBot ??= false;
    }
  }

  /**
   * Starts the engine once the session has a user (getState and differences need one).
   * Resolves once its first request was answered: from then on no update is missed.
   */
  start(user: { selfId: bigint; isBot: boolean }): Promise<void> {
    if (this.driver || this.closed) return this.driver?.settled() ?? Promise.resolve();
    let state = this.stored;
    if (state !== undefined) {
      try {
        // Only a state this engine wrote is taken; anything else starts from getState.
        parseUpdatesState(state);
      } catch (e) {
        if (!(e instanceof UpdateStateError)) throw e;
        this.host.notify({
          kind: 'updatesError',
          sessionId: this.host.sessionId,
          error: {
            kind: 'error',
            code: 'MALFORMED_DIFFERENCE',
            message: `stored state ignored: ${e.message}`,
            box: 'common',
          },
        });
        state = undefined;
      }
    }
    this.driver = new UpdateDriver({
      ...this.options.engine,
      state,
      isBot: user.isBot,
      selfId: user.selfId,
      autoAck: false,
      call: (method, params) => this.host.call(method, params),
      onUpdate: (u) => this.deliver(u),
      onGap: (g) => this.deliver(g),
      onError: (error) => this.host.notify({ kind: 'updatesError', sessionId: this.host.sessionId, error }),
    });
    this.driver.start();
    const driver = this.driver;
    // The first state (getState's, or the stored one) is stored before anything is taken:
    // a crash before the first acknowledgement must resume from it, not from a new
    // getState that would skip what came in between.
    return driver.settled().then(async () => {
      const state = driver.engine.committedState();
      if (!this.closed && state !== undefined && this.stored === undefined) {
        this.committed = JSON.stringify(state);
        await this.host.commitNow(state).catch(() => {});
      }
    });
  }

  /** An `Updates` object the server pushed (any connection of the session). */
  push(updates: TL.Types['Updates']): void {
    this.driver?.push(updates);
  }

  /** A result of the application's call (updates in `Updates` answers, pts of affectedMessages...). */
  rpcResult(params: unknown, result: unknown): void {
    this.driver?.rpcResult(params, result);
  }

  connectionRestored(): void {
    this.driver?.connectionRestored();
  }

  sessionCreated(): void {
    this.driver?.sessionCreated();
  }

  /** The application took everything up to `token`: it may be committed. */
  acknowledge(token: number): void {
    if (!this.driver) return;
    this.driver.acknowledge(token);
    this.commit();
  }

  private commit(): void {
    if (!this.driver) return;
    const state = this.driver.engine.committedState();
    const json = JSON.stringify(state);
    if (json === this.committed) return;
    this.committed = json;
    this.host.commit(state);
  }

  /** The ordered updates as an async iterator (back-pressure: see the file comment). */
  iterator(capacity: number): AsyncIterable<OrderedUpdate> {
    // The engine stops delivering once told the consumer is behind; the limit only
    // bounds what was on its way then (nothing is lost: an update dropped here was not
    // acknowledged, so it is not committed either and comes again after a restart).
    this.queue ??= new UpdateQueue<OrderedUpdate>(capacity, Math.max(capacity * 4, 10_000), {
      behind: (behind) => this.driver?.setConsumerBehind(behind),
    });
    const queue = this.queue;
    return {
      [Symbol.asyncIterator]: () => {
        const inner = queue[Symbol.asyncIterator]();
        return {
          next: async () => {
            // Asking for the next one means the last one was taken.
            if (this.handedOut !== null && !this.manual) this.acknowledge(this.handedOut);
            this.handedOut = null;
            const r = await inner.next();
            if (!r.done) this.handedOut = r.value.token;
            return r;
          },
          return: async () => {
            await inner.return?.();
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  private deliver(u: OrderedUpdate): void {
    if (u.kind === 'update')
      this.host.notify({ kind: 'delivered', sessionId: this.host.sessionId, update: u });
    else this.host.notify({ kind: 'gap', sessionId: this.host.sessionId, gap: u });
    if (this.queue) this.queue.push(u);
    // Nothing iterates: the client has had it once notify returned.
    else if (!this.manual) this.acknowledge(u.token);
  }

  /** The state to store now (what was acknowledged). */
  committedState(): unknown {
    return this.driver?.engine.committedState();
  }

  close(): void {
    this.closed = true;
    this.driver?.stop();
    this.queue?.end();
  }
}

export type { DeliveredUpdate, UpdateError, UpdateGap };
