// A fleet worker: one of any number of identical processes pointing at the same
// storage. Every tick (one storage call, roster.ts) it beats its heartbeat, learns how
// many workers are alive and how large the roster is, and claims unowned sessions up
// to its fair share (and its capacity); it opens them with their stored keys, holding
// the claim's lease (renewed in one batch per period by the process's LeaseRenewer),
// appends their ordered updates to the stream before acknowledging them, serves the
// calls routed to it, and gives sessions up gradually when it holds more than its
// share (a bounded number per tick: a joining worker gets its share without a
// stampede). A worker that dies stops renewing: its leases run out and the others
// claim its sessions at their next tick. A lost lease stops the session at once (the
// session's own guard), and the worker forgets it.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SessionRegistry } from '../session/registry';
import { SessionError, type SessionEvent, type SessionId, type SessionOpenOptions } from '../session/types';
import { renewLeases } from '../storage/lease';
import { LeaseRenewer } from '../storage/lease-renewer';
import type { SessionStorage } from '../storage/types';
import { RpcError } from '../tl';
import type { RedisBus } from './bus';
import type { TelegramMetrics } from './metrics';
import type { ClaimedSession, Roster } from './roster';
import type { RedisUpdateStream } from './stream';
import { FleetError, type FleetLogger, type RosterEntry } from './types';
import { type CallReply, type CallRequest, decodeRequest, encode } from './wire';

export interface FleetWorkerOptions {
  roster: Roster;
  /** Where the sessions' records and leases live (the roster's storage). */
  storage: SessionStorage;
  /** Default: host:pid:random. Must not contain '/'. */
  id?: string;
  /** Sessions this worker runs at most (default 1000). */
  capacity?: number;
  /** Each session's lease, ms (default 30,000): a dead worker's sessions move after it. */
  leaseTtlMs?: number;
  /** Ticks (heartbeat + claims), ms (default min(5000, leaseTtlMs / 3)). */
  claimIntervalMs?: number;
  /** Sessions claimed per tick at most (default 1000). */
  claimBatch?: number;
  /** Sessions being opened at once (default 32). */
  openConcurrency?: number;
  /** Sessions given up per tick at most to even the load (default 50). */
  maxMovesPerTick?: number;
  /** A session given up is not claimed again by this worker for this many ticks (default 5). */
  shedCooldownTicks?: number;
  /** Appends each session's ordered updates (sessions run the update engine when given). */
  updates?: RedisUpdateStream;
  /** Serves routed calls (fleet.call from any process). */
  bus?: RedisBus;
  /** Default: a registry of the worker's own. */
  registry?: SessionRegistry;
  /** Merged under each roster entry's options (rsaKeys, init, addresses for a test DC...). */
  sessionOptions?: Partial<SessionOpenOptions>;
  /** Every event of every session, with its name. */
  onEvent?: (name: string, event: SessionEvent) => void;
  /**
   * A session opened here under claim `owner`, or stopped here ('closed': given back,
   * reported once its connections closed, just before the lease is released; 'lost': lease lost).
   */
  onSession?: (name: string, owner: string, what: 'claimed' | 'open' | 'closed' | 'lost') => void;
  metrics?: TelegramMetrics;
  logger?: FleetLogger;
  /** A roster call with no answer by then counts as failed, ms (default leaseTtlMs / 2). */
  storageTimeoutMs?: number;
  /**
   * How often each session writes its committed update state while updates flow, ms
   * (default 5000; the session's persist.saveDelayMs). Longer means fewer storage writes
   * and more updates appended again after a failover (delivery is at least once).
   */
  commitEveryMs?: number;
}

type State = 'opening' | 'open' | 'closing';

interface Owned {
  name: string;
  /** The claim: the lease owner id this worker holds the session under. */
  owner: string;
  entry: RosterEntry;
  id: SessionId | null;
  state: State;
  /** Routed calls running on it. */
  inflight: number;
  /** When the update being appended arrived (0: none waiting). */
  pendingSince: number;
}

/** What a worker holds now (its part of the status view). */
export interface WorkerStatus {
  id: string;
  sessions: Array<{ name: string; owner: string; state: State; lagMs: number }>;
  fairShare: number;
  liveWorkers: number;
  rosterSize: number;
  ticks: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FleetError('FLEET_STORAGE_FAILED', `${what}: no answer in ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Errors of Session.call after which the call may or may not have run on the server. */
const MAYBE_RAN = new Set(['LEASE_LOST', 'SESSION_CLOSED', 'AUTH_KEY_DUPLICATED', 'NOT_CONNECTED']);

export class FleetWorker {
  readonly id: string;
  readonly registry: SessionRegistry;
  private readonly o: FleetWorkerOptions;
  private readonly capacity: number;
  private readonly ttl: number;
  private readonly interval: number;
  private readonly owned = new Map<string, Owned>();
  /** Names given up, and the tick until which this worker does not claim them again. */
  private readonly shed = new Map<string, number>();
  /** Claimed, waiting for an open slot (their leases renewed here until they open). */
  private readonly openQueue: Array<ClaimedSession & { renewedAt: number }> = [];
  private opening = 0;
  private readonly failures = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private ticks = 0;
  private fair = 0;
  private live = 1;
  private rosterSize = 0;
  private started = false;
  private stopping = false;
  private readonly log: FleetLogger;

  constructor(options: FleetWorkerOptions) {
    this.o = options;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    if (this.id.includes('/')) throw new FleetError('BAD_OPTIONS', 'a worker id must not contain "/"');
    this.capacity = Math.max(0, Math.floor(options.capacity ?? 1000));
    this.ttl = options.leaseTtlMs ?? 30_000;
    this.interval = Math.max(10, options.claimIntervalMs ?? Math.min(5000, Math.floor(this.ttl / 3)));
    this.registry = options.registry ?? new SessionRegistry();
    this.log = options.logger ?? {};
    // One renewal call per period for all of this worker's leases (they fall into step).
    const renewer = LeaseRenewer.for(options.storage);
    renewer.batchSize = Math.max(renewer.batchSize, this.capacity);
    options.metrics?.watchRenewer(renewer);
  }

  /** Starts ticking (and serving routed calls). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.o.bus) await this.o.bus.listen(this.o.bus.callChannel(this.id), (d) => void this.serve(d));
    this.log.info?.('fleet worker started', { worker: this.id, capacity: this.capacity });
    await this.tick();
    this.schedule();
  }

  /** Stops claiming, gives every session back (state written, lease released), leaves the roster. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // Claims not opened yet are given back at once (not left to run out).
    const waiting = this.openQueue.splice(0);
    await Promise.all(waiting.map((c) => this.o.storage.release(c.name, c.owner).catch(() => false)));
    if (this.o.bus) await this.o.bus.unlisten(this.o.bus.callChannel(this.id));
    await Promise.all([...this.owned.values()].map((o) => this.giveUp(o, 'worker stopping')));
    while (this.opening > 0) await sleep(20);
    await Promise.all([...this.owned.values()].map((o) => this.giveUp(o, 'worker stopping')));
    await this.o.roster.leave(this.id).catch((e) => this.log.warn?.('leave failed', { error: String(e) }));
    this.log.info?.('fleet worker stopped', { worker: this.id });
  }

  /** Names of the sessions this worker runs (open or opening). */
  sessions(): string[] {
    return [...this.owned.values()].filter((o) => o.state !== 'closing').map((o) => o.name);
  }

  /** The registry id of `name` if it is open here. */
  sessionId(name: string): SessionId | undefined {
    const o = this.owned.get(name);
    return o?.state === 'open' && o.id ? o.id : undefined;
  }

  status(): WorkerStatus {
    const now = Date.now();
    return {
      id: this.id,
      sessions: [...this.owned.values()].map((o) => ({
        name: o.name,
        owner: o.owner,
        state: o.state,
        lagMs: o.pendingSince ? now - o.pendingSince : 0,
      })),
      fairShare: this.fair,
      liveWorkers: this.live,
      rosterSize: this.rosterSize,
      ticks: this.ticks,
    };
  }

  // --- Ticks: heartbeat, claims, balance ---

  private schedule(): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.interval);
    this.timer.unref();
  }

  private active(): number {
    let n = this.openQueue.length;
    for (const o of this.owned.values()) if (o.state !== 'closing') n++;
    return n;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    const tickNo = ++this.ticks;
    try {
      for (const [name, until] of this.shed) if (until < tickNo) this.shed.delete(name);
      const active = this.active();
      // The first tick only learns the fair share: workers starting together do not grab.
      const target = Math.min(this.capacity, this.fair);
      const limit = tickNo === 1 ? 0 : Math.max(0, Math.min(this.o.claimBatch ?? 1000, target - active));
      const res = await withTimeout(
        this.o.roster.tick(
          { id: this.id, capacity: this.capacity, owned: active, lag: this.lagSummary() },
          { limit, ttlMs: this.ttl, ownerPrefix: `${this.id}/${tickNo}`, skip: [...this.shed.keys()] },
        ),
        this.o.storageTimeoutMs ?? Math.floor(this.ttl / 2),
        'roster tick',
      );
      this.o.metrics?.fleet.ticks.inc();
      this.rosterSize = res.rosterSize;
      this.live = Math.max(1, res.workers.length);
      this.fair = Math.ceil(res.rosterSize / this.live);
      if (res.claimed.length) {
        this.o.metrics?.fleet.claims.inc(res.claimed.length);
        this.log.debug?.('claimed', { worker: this.id, count: res.claimed.length });
      }
      const now = Date.now();
      for (const c of res.claimed) {
        this.o.onSession?.(c.name, c.owner, 'claimed');
        this.openQueue.push({ ...c, renewedAt: now });
      }
      await this.renewWaiting();
      this.pumpOpens();
      this.balance();
      if (tickNo % 10 === 0) await this.dropRemoved();
    } catch (e) {
      this.o.metrics?.fleet.tickFailures.inc();
      this.log.warn?.('roster tick failed', { worker: this.id, error: (e as Error).message });
    } finally {
      this.ticking = false;
      this.o.metrics?.fleet.owned.set(this.sessions().length);
    }
  }

  /**
   * Claims still waiting to open (a large claim on a slow machine) keep their leases: those
   * renewed more than a third of the TTL ago are renewed in one batch, those lost dropped.
   */
  private async renewWaiting(): Promise<void> {
    const now = Date.now();
    const due = this.openQueue.filter((c) => now - c.renewedAt > this.ttl / 3);
    if (!due.length) return;
    const results = await renewLeases(
      this.o.storage,
      due.map((c) => ({ name: c.name, owner: c.owner })),
      this.ttl,
    );
    results.forEach((r, i) => {
      if (r.kind === 'renewed') due[i].renewedAt = now;
      else if (r.kind === 'lost') {
        const at = this.openQueue.indexOf(due[i]);
        if (at >= 0) this.openQueue.splice(at, 1);
      }
    });
  }

  /** Above the fair share: give up to maxMovesPerTick sessions back, the most recent first. */
  private balance(): void {
    const excess = this.active() - Math.min(this.capacity, this.fair);
    if (excess <= 0 || this.ticks === 1) return;
    const moves = Math.min(excess, this.o.maxMovesPerTick ?? 50);
    const open = [...this.owned.values()].filter((o) => o.state === 'open');
    for (const o of open.slice(-moves)) {
      this.o.metrics?.fleet.sheds.inc();
      void this.giveUp(o, 'above the fair share');
    }
  }

  /** Sessions taken out of the roster are closed. */
  private async dropRemoved(): Promise<void> {
    const names = [...this.owned.keys()];
    if (!names.length) return;
    const present = await this.o.roster.present(names);
    for (const name of names) {
      const o = this.owned.get(name);
      if (o && !present.has(name)) void this.giveUp(o, 'removed from the roster');
    }
  }

  private lagSummary(): { max: number; sessions: Record<string, number> } {
    const now = Date.now();
    const sessions: Record<string, number> = {};
    let max = 0;
    let n = 0;
    for (const o of this.owned.values()) {
      if (!o.pendingSince) continue;
      const lag = now - o.pendingSince;
      max = Math.max(max, lag);
      if (n++ < 1000) sessions[o.name] = lag;
    }
    this.o.metrics?.fleet.streamLag.set(max / 1000);
    return { max, sessions };
  }

  // --- Opening and giving up ---

  private pumpOpens(): void {
    const limit = Math.max(1, this.o.openConcurrency ?? 32);
    while (this.opening < limit && this.openQueue.length > 0 && !this.stopping) {
      const c = this.openQueue.shift()!;
      this.opening++;
      void this.open(c).finally(() => {
        this.opening--;
        this.pumpOpens();
      });
    }
  }

  private async open(c: ClaimedSession): Promise<void> {
    if (this.stopping) return;
    const o: Owned = {
      name: c.name,
      owner: c.owner,
      entry: c.entry,
      id: null,
      state: 'opening',
      inflight: 0,
      pendingSince: 0,
    };
    this.owned.set(c.name, o);
    const { updates: wanted, isBot, ...open } = c.entry.options ?? {};
    const stream = wanted !== false ? this.o.updates : undefined;
    const base = this.o.sessionOptions ?? {};
    try {
      const id = await this.registry.open(c.entry.dcId, (e) => this.onEvent(o, e), {
        ...base,
        ...(open as Partial<SessionOpenOptions>),
        name: c.name,
        storage: this.o.storage,
        persist: {
          saveDelayMs: this.o.commitEveryMs ?? 5000,
          ...base.persist,
          owner: c.owner,
          leaseTtlMs: this.ttl,
        },
        updates: stream ? { ...base.updates, catchUp: true, ack: 'manual', isBot } : base.updates,
      });
      o.id = id;
      if (o.state !== 'opening') {
        await this.registry.close(id).catch(() => {});
        return;
      }
      o.state = 'open';
      this.o.onSession?.(c.name, c.owner, 'open');
      this.failures.delete(c.name);
      if (stream) void this.pump(o, stream);
    } catch (e) {
      if (this.owned.get(c.name) === o) this.owned.delete(c.name);
      this.o.metrics?.fleet.openFailures.inc();
      const code = (e as SessionError).code;
      // SESSION_LOCKED: the claim ran out before its turn and another worker took it.
      if (code === 'SESSION_LOCKED') return;
      this.log.warn?.('open failed', { worker: this.id, session: c.name, code, error: (e as Error).message });
      // Not claimed again for a while, by any worker (a broken session must not bounce).
      const n = (this.failures.get(c.name) ?? 0) + 1;
      this.failures.set(c.name, n);
      const delay = Math.min(300_000, 1000 * 2 ** Math.min(n - 1, 10));
      await this.o.roster.defer(c.name, Date.now() + delay, (e as Error).message).catch(() => {});
    }
  }

  /** Closes `o` (state written, lease released) after its routed calls finish (at most 5 s). */
  private async giveUp(o: Owned, why: string): Promise<void> {
    if (o.state === 'closing') return;
    const was = o.state;
    o.state = 'closing';
    this.shed.set(o.name, this.ticks + (this.o.shedCooldownTicks ?? 5));
    this.log.debug?.('giving up', { worker: this.id, session: o.name, why });
    if (was === 'open') {
      const until = Date.now() + 5000;
      while (o.inflight > 0 && Date.now() < until) await sleep(20);
    }
    if (o.id) {
      // The session's connections close within this call, before its state is written and
      // its lease given back: this worker stops sending now, so its hold is reported as
      // ending now (reported after the release, a log could show the next owner's open first).
      const closing = this.registry.close(o.id).catch(() => {});
      if (was === 'open') this.o.onSession?.(o.name, o.owner, 'closed');
      await closing;
    } else if (was === 'open') {
      this.o.onSession?.(o.name, o.owner, 'closed');
    }
    if (this.owned.get(o.name) === o) this.owned.delete(o.name);
  }

  private onEvent(o: Owned, e: SessionEvent): void {
    this.o.metrics?.observe(e, this.id);
    this.o.onEvent?.(o.name, e);
    if (e.kind === 'leaseLost') {
      this.log.warn?.('lease lost', { worker: this.id, session: o.name, message: e.message });
      const was = o.state;
      o.state = 'closing';
      if (this.owned.get(o.name) === o) this.owned.delete(o.name);
      if (o.id) void this.registry.close(o.id).catch(() => {});
      if (was === 'open') this.o.onSession?.(o.name, o.owner, 'lost');
    }
  }

  // --- Updates out ---

  /** Appends each ordered update, then acknowledges it: the state is committed only after the XADD. */
  private async pump(o: Owned, stream: RedisUpdateStream): Promise<void> {
    const id = o.id as SessionId;
    let items: AsyncIterable<unknown>;
    try {
      items = this.registry.ordered(id);
    } catch {
      return;
    }
    const m = this.o.metrics?.fleet;
    for await (const raw of items) {
      const item = raw as Parameters<RedisUpdateStream['append']>[1];
      o.pendingSince = Date.now();
      for (let attempt = 0; ; attempt++) {
        if (o.state === 'closing') return;
        const end = m?.appendSeconds.startTimer();
        try {
          await stream.append(o.name, item);
          end?.();
          m?.appends.inc();
          break;
        } catch (e) {
          m?.appendFailures.inc();
          this.log.warn?.('stream append failed', { session: o.name, error: (e as Error).message });
          await sleep(Math.min(5000, 100 * 2 ** Math.min(attempt, 6)));
        }
      }
      o.pendingSince = 0;
      try {
        this.registry.acknowledge(id, item.token);
      } catch {
        return;
      }
    }
  }

  // --- Routed calls ---

  private async serve(data: Buffer): Promise<void> {
    let req: CallRequest;
    try {
      req = decodeRequest(data);
    } catch (e) {
      this.log.warn?.('unreadable routed call', { error: (e as Error).message });
      return;
    }
    const reply = await this.run(req);
    this.o.metrics?.fleet.served.inc({ outcome: reply.kind });
    await this.o
      .bus!.publish(req.replyTo, encode(reply))
      .catch((e) => this.log.warn?.('reply failed', { error: (e as Error).message }));
  }

  private async run(req: CallRequest): Promise<CallReply> {
    const o = this.owned.get(req.name);
    if (o?.state !== 'open' || o.owner !== req.owner || !o.id)
      return { id: req.id, kind: 'notRun', reason: 'not held here' };
    const left = req.deadline - Date.now();
    if (left <= 0) return { id: req.id, kind: 'notRun', reason: 'deadline passed' };
    o.inflight++;
    const id = o.id;
    try {
      const call = () =>
        this.registry.call(id, req.method as never, req.params as never, {
          timeoutMs: Math.min(req.timeoutMs, left),
        });
      const result = this.o.metrics ? await this.o.metrics.call(req.method, call) : await call();
      return { id: req.id, kind: 'ok', result };
    } catch (e) {
      if (e instanceof RpcError) return { id: req.id, kind: 'rpc', code: e.code, message: e.errorMessage };
      if (e instanceof SessionError) {
        if (e.code === 'NO_SUCH_SESSION') return { id: req.id, kind: 'notRun', reason: e.message };
        if (MAYBE_RAN.has(e.code)) return { id: req.id, kind: 'unknown', message: e.message };
        return { id: req.id, kind: 'session', code: e.code, message: e.message };
      }
      return { id: req.id, kind: 'unknown', message: String((e as Error)?.message ?? e) };
    } finally {
      o.inflight--;
    }
  }
}
