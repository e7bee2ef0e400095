// Calls from anywhere: `FleetClient.call(name, method, params)` runs a method on the
// session `name` wherever it runs. The owner is found from the session's lease (the
// claim owner id names the worker), the request published on that worker's channel
// (bus.ts) and the reply awaited. Retries follow one rule: a call goes again only when
// it cannot run twice.
//
// - Not delivered (PUBLISH reached nobody), or refused unrun (the worker does not hold
//   that claim, or the deadline passed): sent again once an owner is found.
// - May have run (the owner lost the session mid-call, or went silent while the lease
//   moved on): sent again on the new owner only when the params carry a random_id (the
//   server runs a request with the same random_id once); otherwise FleetError
//   OUTCOME_UNKNOWN, never a silent duplicate.
// - Everything else is the answer: the result, the RpcError (rebuilt), or the owner's
//   SessionError (TIMEOUT...), as Session.call would give it.

import { randomUUID } from 'node:crypto';
import { SessionError, type SessionErrorCode } from '../session/types';
import type { SessionStorage } from '../storage/types';
import type * as TL from '../tl';
import { RpcError } from '../tl';
import type { RedisBus } from './bus';
import type { TelegramMetrics } from './metrics';
import { FleetError, type FleetLogger, workerOfOwner } from './types';
import { type CallReply, decodeReply, encode } from './wire';

export interface FleetClientOptions {
  /** The sessions' storage (owners are read from the leases). */
  storage: SessionStorage;
  bus: RedisBus;
  /** Default timeout of a call, ms (default 30,000). */
  timeoutMs?: number;
  /** While waiting, how often to look whether the session's lease moved, ms (default 500). */
  watchEveryMs?: number;
  metrics?: TelegramMetrics;
  logger?: FleetLogger;
}

export interface FleetCallOptions {
  /** The whole call, retries and the wait for an owner included (default the client's). */
  timeoutMs?: number;
}

interface Waiting {
  resolve(reply: CallReply): void;
}

/** How an attempt ended, as the retry rule sees it. */
type Attempt =
  | { kind: 'reply'; reply: CallReply }
  | { kind: 'undelivered' }
  | { kind: 'ownerMoved' }
  | { kind: 'timeout' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a retry cannot run the request twice: its random_id makes the server run it once. */
export function hasRandomId(params: unknown): boolean {
  const r = (params as { randomId?: unknown } | null)?.randomId;
  return typeof r === 'bigint' || (Array.isArray(r) && r.length > 0);
}

export class FleetClient {
  readonly id = randomUUID();
  private readonly waiting = new Map<string, Waiting>();
  private readonly owners = new Map<string, string>();
  private listening: Promise<void> | null = null;
  private closed = false;
  /** Calls sent again, by why (tests, diagnostics). */
  readonly retries = { undelivered: 0, notRun: 0, randomId: 0 };

  constructor(private readonly o: FleetClientOptions) {}

  private listen(): Promise<void> {
    this.listening ??= this.o.bus.listen(this.o.bus.replyChannel(this.id), (data) => {
      let reply: CallReply;
      try {
        reply = decodeReply(data);
      } catch (e) {
        this.o.logger?.warn?.('unreadable reply', { error: (e as Error).message });
        return;
      }
      this.waiting.get(reply.id)?.resolve(reply);
    });
    return this.listening;
  }

  /** The claim owner holding `name` now (cached until a call finds it moved). */
  private async owner(name: string, fresh: boolean): Promise<string | undefined> {
    if (!fresh) {
      const cached = this.owners.get(name);
      if (cached) return cached;
    }
    const lease = await this.o.storage.lease(name);
    if (lease) this.owners.set(name, lease.owner);
    else this.owners.delete(name);
    return lease?.owner;
  }

  /**
   * Calls `method` on the session `name`, wherever it runs. Rejects with RpcError,
   * SessionError (as Session.call: TIMEOUT...) or FleetError (OUTCOME_UNKNOWN, NO_OWNER).
   */
  async call<M extends TL.MethodName>(
    name: string,
    method: M,
    params: TL.Params<M>,
    options: FleetCallOptions = {},
  ): Promise<TL.Result<M>> {
    if (this.closed) throw new FleetError('FLEET_CLOSED', 'the fleet client is closed');
    const timeoutMs = options.timeoutMs ?? this.o.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const m = this.o.metrics?.fleet;
    const end = m?.routedSeconds.startTimer();
    try {
      const result = await this.run(name, method, params, deadline, timeoutMs);
      m?.routed.inc({ outcome: 'ok' });
      return result as TL.Result<M>;
    } catch (e) {
      m?.routed.inc({ outcome: (e as { code?: string }).code ?? 'error' });
      throw e;
    } finally {
      end?.();
    }
  }

  private async run(
    name: string,
    method: string,
    params: unknown,
    deadline: number,
    timeoutMs: number,
  ): Promise<unknown> {
    await this.listen();
    let fresh = false;
    for (let round = 0; ; round++) {
      if (Date.now() >= deadline) {
        throw new FleetError('NO_OWNER', `no worker ran "${name}" within ${timeoutMs} ms`);
      }
      let owner: string | undefined;
      try {
        owner = await this.owner(name, fresh);
      } catch (e) {
        throw new FleetError('FLEET_STORAGE_FAILED', `cannot read the owner of "${name}"`, e);
      }
      fresh = true;
      if (!owner) {
        // Unowned: a worker claims it at its next tick.
        await sleep(Math.min(100 + round * 20, 500, Math.max(0, deadline - Date.now())));
        continue;
      }
      const a = await this.attempt(name, owner, method, params, deadline);
      if (a.kind === 'undelivered') {
        this.retries.undelivered++;
        this.owners.delete(name);
        await sleep(Math.min(50 + round * 20, 250));
        continue;
      }
      if (a.kind === 'timeout') {
        throw new SessionError('TIMEOUT', `no answer from the owner of "${name}" within ${timeoutMs} ms`);
      }
      const unknown =
        a.kind === 'ownerMoved'
          ? 'its owner was lost mid-call'
          : a.reply.kind === 'unknown'
            ? a.reply.message
            : null;
      if (unknown !== null) {
        this.owners.delete(name);
        if (hasRandomId(params)) {
          this.retries.randomId++;
          continue;
        }
        const why = unknown;
        throw new FleetError(
          'OUTCOME_UNKNOWN',
          `${method} on "${name}" may or may not have run (${why}); it has no random_id to retry with`,
        );
      }
      const reply = (a as { reply: CallReply }).reply;
      switch (reply.kind) {
        case 'ok':
          return reply.result;
        case 'rpc':
          throw RpcError.from(reply.code, reply.message);
        case 'session':
          throw new SessionError(reply.code as SessionErrorCode, reply.message);
        case 'notRun':
          this.retries.notRun++;
          this.owners.delete(name);
          await sleep(Math.min(20 + round * 20, 250));
          continue;
      }
    }
  }

  /** One request to the worker holding claim `owner`, until its reply, the deadline, or the owner moving. */
  private async attempt(
    name: string,
    owner: string,
    method: string,
    params: unknown,
    deadline: number,
  ): Promise<Attempt> {
    const id = randomUUID();
    const bus = this.o.bus;
    const replied = new Promise<CallReply>((resolve) => this.waiting.set(id, { resolve }));
    try {
      const delivered = await bus.publish(
        bus.callChannel(workerOfOwner(owner)),
        encode({
          id,
          name,
          owner,
          method,
          params,
          deadline,
          timeoutMs: Math.max(1, deadline - Date.now()),
          replyTo: bus.replyChannel(this.id),
        }),
      );
      if (delivered === 0) return { kind: 'undelivered' };
      // The owner's own Session.call times out at the deadline and says so: a grace period for its reply.
      const until = deadline + 2000;
      const every = this.o.watchEveryMs ?? 500;
      for (;;) {
        const left = until - Date.now();
        if (left <= 0) return { kind: 'timeout' };
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<null>((r) => {
          timer = setTimeout(() => r(null), Math.min(every, left));
        });
        const reply = await Promise.race([replied, tick]);
        clearTimeout(timer);
        if (reply) return { kind: 'reply', reply };
        // Still waiting: has the session moved on (the worker died or froze)?
        const lease = await this.o.storage.lease(name).catch(() => 'unknown' as const);
        if (lease !== 'unknown' && lease?.owner !== owner) return { kind: 'ownerMoved' };
      }
    } finally {
      this.waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.listening) await this.o.bus.unlisten(this.o.bus.replyChannel(this.id));
  }
}
