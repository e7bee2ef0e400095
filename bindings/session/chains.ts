// Ordered calls (`CallOptions.chain`): the calls of one chain run on the server in
// the order they were made and settle in that order. Each goes out wrapped in
// invokeAfterMsg naming the previous call of its chain while that one is
// unanswered (pipelined: no round trip waited), on the same connection; the link
// keeps the named id right across re-sends (crates/mtcore session/chain.rs).
//
// - The server refuses a call whose predecessor failed (400 MSG_WAIT_FAILED) or
//   never came (MSG_WAIT_TIMEOUT). If the predecessor did fail for good, the call
//   rejects with CHAIN_BROKEN naming the first failure; if the predecessor was only
//   retried (FLOOD_WAIT waited out, a migration) and then succeeded, the call is sent
//   again after it.
// - A predecessor on another connection (a key renewal or migration in between) is
//   waited for instead, then the call goes unwrapped.
// - A call made after its predecessor settled starts afresh (a failure is not
//   carried into calls made once it was known).

import type { ChainHandle, Driver } from './driver';
import { SessionError } from './types';

class ChainLink {
  readonly handle: ChainHandle = {};
  done = false;
  /** The first failure of this call or of what it waited for. */
  failure: unknown = null;
  readonly settled: Promise<void>;
  private resolve!: () => void;

  constructor() {
    this.settled = new Promise((r) => {
      this.resolve = r;
    });
  }

  finish(failure: unknown): void {
    this.done = true;
    this.failure = failure;
    this.resolve();
  }
}

/** Server refusals that mean "your predecessor failed or never came", not a failure of the call itself. */
function refusedForPredecessor(e: unknown): boolean {
  const m = (e as { errorMessage?: unknown })?.errorMessage;
  return m === 'MSG_WAIT_FAILED' || m === 'MSG_WAIT_TIMEOUT';
}

/** One send of a chained call: `after` is the call to run after (null: none); `self` is filled in. */
export type ChainedSend<T> = (chain: { self: ChainHandle; after: ChainHandle | null }) => Promise<T>;

/** The chains of one session, by name. */
export class Chains {
  private readonly tails = new Map<string, ChainLink>();

  /** Runs `send` as the next call of chain `name`; `main` is the connection chained calls go on now. */
  async run<T>(name: string, main: () => Driver, send: ChainedSend<T>): Promise<T> {
    // Only a call still unsettled is waited for: one settled already starts nothing.
    const last = this.tails.get(name);
    const prev = last && !last.done ? last : null;
    const link = new ChainLink();
    this.tails.set(name, link);
    let failure: unknown = null;
    try {
      for (;;) {
        let after: ChainHandle | null = null;
        if (prev && !prev.done) {
          // Pipelined on the same connection; otherwise wait for it (ordering cannot be
          // asked of the server across connections).
          if (prev.handle.driver === main()) after = prev.handle;
          else await prev.settled;
        }
        // It failed before this call could go: this one is not sent.
        if (prev?.done && prev.failure !== null) throw this.broken(name, prev.failure);
        try {
          const result = await send({ self: link.handle, after });
          if (prev && !prev.done) await prev.settled; // settle in order
          return result;
        } catch (e) {
          if (!prev || !refusedForPredecessor(e)) throw e;
          await prev.settled;
          if (prev.failure !== null) throw this.broken(name, prev.failure);
          // The predecessor was retried and succeeded after this one was refused: again.
          link.handle.pending = undefined;
          link.handle.driver = undefined;
        }
      }
    } catch (e) {
      failure = e instanceof SessionError && e.code === 'CHAIN_BROKEN' ? (e.cause ?? e) : e;
      if (prev && !prev.done) await prev.settled; // settle in order, failures too
      throw e;
    } finally {
      link.finish(failure);
      if (this.tails.get(name) === link) this.tails.delete(name);
    }
  }

  private broken(name: string, cause: unknown): SessionError {
    const why = (cause as Error)?.message ?? String(cause);
    return new SessionError('CHAIN_BROKEN', `an earlier call of chain "${name}" failed: ${why}`, cause);
  }
}
