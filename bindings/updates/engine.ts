// UpdateEngine: the update state machine of one session, sans-IO (core.telegram.org/api/updates).
// Decoded updates, request answers and the time go in; updates to deliver, requests to
// make, gaps and errors come out (`takeOutputs()`), with the next deadline (`nextDeadline()`).
// No socket, timer or promise inside: a driver (driver.ts, or the session) does the I/O.
//
// State: the common sequences (pts, qts, seq, and the date sent with getDifference) and a pts
// per channel (channel-table.ts). Each update is checked against its box
// (api/updates "Recovering gaps"): applied when it is next, dropped when applied already,
// held when early (held.ts) until the gap fills or `gapWaitMs` passes, then a difference is
// fetched. While a box's difference is in flight, its updates are held too, and checked
// again once the difference is applied. The applied state only moves over updates that
// were delivered; the committed state only over those acknowledged (delivery-log.ts).

import type * as TL from '../tl';
import { applyChannelDifference, applyDifference, type EngineCore } from './apply-difference';
import {
  ChannelTable,
  F_FETCHING,
  F_HAS_HASH,
  F_NO_PTS,
  F_QUEUED,
  F_STALE,
  F_UNRESOLVED,
} from './channel-table';
import { BOX_DATE, BOX_PTS, BOX_QTS, BOX_SEQ, CHANNEL_BASE, DeliveryLog } from './delivery-log';
import { HeldQueue } from './held';
import { type PersistedUpdatesState, parseUpdatesState, STATE_VERSION } from './persisted';
import {
  classify,
  newSequenced,
  SEQ_CHANNEL,
  SEQ_CHANNEL_TOO_LONG,
  SEQ_NONE,
  SEQ_PTS,
  SEQ_QTS,
} from './sequence';
import { sentMessageUpdate, shortMessageUpdate } from './short-forms';
import {
  DEFAULT_BUDGETS,
  type DeliveredUpdate,
  type EngineMethod,
  type EngineOutput,
  type UpdateBox,
  type UpdateBudgets,
  type UpdateEngineOptions,
  type UpdateEngineStats,
  type UpdateErrorCode,
  type UpdateSource,
} from './types';

/** What an update came with: its container's entities, date and seq, and its source. */
export interface Context {
  users: TL.Types['User'][];
  chats: TL.Types['Chat'][];
  date: number;
  seq: number;
  source: UpdateSource;
}

/** A held update (or a bare position: `update` undefined, from messages.affectedMessages...). */
interface Item {
  update: TL.Types['Update'] | undefined;
  ctx: Context;
}

type Container = TL.Objects['updates'] | TL.Objects['updatesCombined'];

type Pending =
  | { kind: 'state' }
  | { kind: 'difference' }
  | { kind: 'channel'; slot: number; from: number }
  | { kind: 'full'; slot: number };

const NONE: never[] = [];
const CLOSED_CHANNEL =
  /^(CHANNEL_PRIVATE|CHANNEL_INVALID|CHANNEL_PUBLIC_GROUP_NA|CHANNEL_BANNED|USER_BANNED_IN_CHANNEL)$/;
const FLOOD_WAIT = /^FLOOD_WAIT_(\d+)$/;

/** Default getChannelDifference limits (api/updates: bots up to 100 000, users "10-100"). */
export const CHANNEL_LIMIT_USER = 100;
export const CHANNEL_LIMIT_BOT = 1000;

export class UpdateEngine implements EngineCore {
  readonly stats: UpdateEngineStats = {
    delivered: 0,
    duplicates: 0,
    held: 0,
    overflowed: 0,
    differences: 0,
    channelDifferences: 0,
    gaps: 0,
    errors: 0,
  };
  readonly budgets: UpdateBudgets;
  private readonly options: UpdateEngineOptions;
  private readonly gapWaitMs: number;
  private readonly idleMs: number;
  private outputs: EngineOutput[] = [];
  now = 0;

  // --- the common box -------------------------------------------------------
  /** Whether the common state is known (stored, or updates.getState answered). */
  ready = false;
  pts = 0;
  qts = 0;
  seq = 0;
  /** The date of the last state the server gave (getState / a difference): what getDifference sends. */
  date = 0;
  private committed = { pts: 0, qts: 0, seq: 0, date: 0 };
  private ptsHeld: HeldQueue<Item> | null = null;
  private qtsHeld: HeldQueue<Item> | null = null;
  private seqHeld: HeldQueue<{ c: Container; source: UpdateSource }> | null = null;
  /** A difference (or getState) is needed. */
  private commonStale = false;
  /** Id of the common request in flight (0: none). */
  private commonFetch = 0;
  /** Something was let go or missed while the request ran: fetch again when it ends. */
  private commonRefetch = false;
  private commonPages = 0;
  private commonFailures = 0;
  private commonRetryAt = 0;
  private lastActivity = 0;

  // --- channels -------------------------------------------------------------
  private table: ChannelTable | null = null;
  private channelHeld: Map<number, HeldQueue<Item>> | null = null;
  private channelQueue: number[] = [];
  private channelQueueHead = 0;
  private channelsInFlight = 0;
  /** Per channel slot, while it matters: pages of the current run, retry time and failures, poll time. */
  private channelPages: Map<number, number> | null = null;
  private channelRetry: Map<number, { at: number; failures: number }> | null = null;
  private watched: Map<number, number> | null = null;

  // --- requests, acknowledgements, back-pressure ------------------------------
  private readonly requests = new Map<number, Pending>();
  private nextRequestId = 1;
  private readonly log: DeliveryLog;
  private consumerBehind = false;
  private readonly scratch = newSequenced();

  constructor(options: UpdateEngineOptions = {}) {
    this.options = options;
    this.budgets = { ...DEFAULT_BUDGETS, ...options.budgets };
    this.gapWaitMs = options.gapWaitMs ?? 500;
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.log = new DeliveryLog((box, position) => this.commit(box, position));
    if (options.state !== undefined && options.state !== null) this.restore(parseUpdatesState(options.state));
  }

  // === inputs ================================================================

  /** Starts: updates.getState without a stored state, else getDifference from it. */
  start(now: number): void {
    this.now = now;
    this.lastActivity = now;
    this.commonStale = true;
    this.pump();
  }

  /** An Updates object pushed by the server. */
  push(updates: TL.Types['Updates'], now: number): void {
    this.now = now;
    this.lastActivity = now;
    this.onUpdates(updates, 'push');
    this.pump();
  }

  /**
   * The result of an RPC the application made: Updates answers are applied like pushes
   * (updateShortSentMessage takes its chat and text from `params`), and the pts of
   * messages.affectedMessages / affectedHistory / affectedFoundMessages moves the common box
   * or, when `params` names a channel, that channel's. Other results are ignored.
   */
  rpcResult(params: unknown, result: unknown, now: number): void {
    this.now = now;
    if (result === null || typeof result !== 'object') return;
    const r = result as { _: string; pts?: unknown; ptsCount?: unknown };
    switch (r._) {
      case 'messages.affectedMessages':
      case 'messages.affectedHistory':
      case 'messages.affectedFoundMessages': {
        const pts = r.pts as number;
        const count = r.ptsCount as number;
        if (!Number.isInteger(pts) || !Number.isInteger(count)) return;
        const channel = channelOfParams(params);
        const ctx = this.context(NONE, NONE, 0, 0, 'result');
        if (channel === undefined) this.offerCommon(BOX_PTS, pts - count, pts, undefined, ctx);
        else this.offerChannel(channel, pts - count, pts, undefined, ctx);
        break;
      }
      case 'updateShortSentMessage': {
        const s = r as TL.Objects['updateShortSentMessage'];
        const u = sentMessageUpdate(s, params as never, this.options.selfId);
        this.offerCommon(
          BOX_PTS,
          s.pts - s.ptsCount,
          s.pts,
          u,
          this.context(NONE, NONE, s.date, 0, 'result'),
        );
        break;
      }
      case 'updatesTooLong':
      case 'updateShortMessage':
      case 'updateShortChatMessage':
      case 'updateShort':
      case 'updates':
      case 'updatesCombined':
        this.onUpdates(r as TL.Types['Updates'], 'result');
        break;
      default:
        return;
    }
    this.pump();
  }

  /** The answer to request `id`. */
  answer(id: number, result: unknown, now: number): void {
    this.now = now;
    this.lastActivity = now;
    const p = this.requests.get(id);
    if (!p) return;
    this.requests.delete(id);
    switch (p.kind) {
      case 'state':
        this.onState(result);
        break;
      case 'difference':
        this.commonFetch = 0;
        applyDifference(this, result);
        break;
      case 'channel':
        this.channelDone(p.slot);
        if (this.table?.live(p.slot)) applyChannelDifference(this, p.slot, result);
        break;
      case 'full':
        this.channelDone(p.slot);
        if (this.table?.live(p.slot)) this.onFullChannel(p.slot, result);
        break;
    }
    this.pump();
  }

  /** Request `id` failed (an rpc_error's message, a timeout...): retried after a backoff. */
  fail(id: number, error: { message: string }, now: number): void {
    this.now = now;
    const p = this.requests.get(id);
    if (!p) return;
    this.requests.delete(id);
    const flood = FLOOD_WAIT.exec(error.message);
    const waitMs = flood ? Number(flood[1]) * 1000 : undefined;
    if (p.kind === 'state' || p.kind === 'difference') {
      this.commonFetch = 0;
      this.commonFailed(
        `${p.kind === 'state' ? 'updates.getState' : 'updates.getDifference'} failed: ${error.message}`,
        waitMs,
      );
    } else {
      this.channelDone(p.slot);
      const table = this.table;
      if (table?.live(p.slot)) {
        if (CLOSED_CHANNEL.test(error.message)) {
          this.error(
            'CHANNEL_CLOSED',
            `${error.message}: the channel's box is dropped`,
            this.channelBox(p.slot),
          );
          this.removeChannel(p.slot);
        } else {
          this.channelFailed(p.slot, `updates.getChannelDifference failed: ${error.message}`, waitMs);
        }
      }
    }
    this.pump();
  }

  /** Time passed: gaps that did not fill, the idle period, retries, polled channels. */
  tick(now: number): void {
    this.now = now;
    for (const q of [this.ptsHeld, this.qtsHeld, this.seqHeld]) {
      if (q && q.deadline <= now) {
        q.deadline = Number.POSITIVE_INFINITY;
        this.markCommonStale();
      }
    }
    if (this.channelHeld) {
      for (const [slot, q] of this.channelHeld) {
        if (q.deadline <= now) {
          q.deadline = Number.POSITIVE_INFINITY;
          this.markChannelStale(slot);
        }
      }
    }
    if (this.watched) {
      for (const [slot, at] of this.watched) if (at <= now) this.markChannelStale(slot);
    }
    if (this.ready && now - this.lastActivity >= this.idleMs) {
      // api/updates: nothing for ~15 minutes, so the connection may have missed some.
      this.lastActivity = now;
      this.markCommonStale();
    }
    this.pump();
  }

  /** The connection came back: pushes may have been lost while it was down. */
  connectionRestored(now: number): void {
    this.resync(now);
  }

  /** new_session_created: the server may have dropped pushes meant for the old session. */
  sessionCreated(now: number): void {
    this.resync(now);
  }

  /** Fetches a difference now (and starts a new page budget). */
  resync(now: number): void {
    this.now = now;
    this.commonPages = 0;
    this.commonRetryAt = 0;
    this.markCommonStale();
    this.pump();
  }

  /**
   * The consumer is behind (true) or caught up (false). While behind, no difference is
   * asked for; updates that would need one wait (bounded) or are let go for the next one.
   */
  setConsumerBehind(behind: boolean, now: number): void {
    this.now = now;
    this.consumerBehind = behind;
    if (!behind) this.resume();
  }

  /** The application took everything delivered up to `token`: those positions are committed. */
  acknowledge(token: number): void {
    const full = this.log.size >= this.budgets.maxUnacknowledged;
    this.log.acknowledge(token);
    if (this.log.size === 0) this.table?.recycle();
    if (full && this.log.size < this.budgets.maxUnacknowledged) this.resume();
  }

  /** Tells the engine a channel's access hash (and pts, if it has no box yet). */
  setChannel(channelId: bigint, info: { accessHash?: bigint; pts?: number }, now: number): void {
    this.now = now;
    const id = Number(channelId);
    let slot = this.tableOf().slotOf(id);
    if (slot < 0) {
      if (info.pts === undefined || !this.roomForChannel(channelId)) return;
      slot = this.tableOf().add(id, info.pts);
    }
    if (info.accessHash !== undefined) this.hashLearned(slot, info.accessHash);
    this.pump();
  }

  /**
   * A channel the user has open: after each of its differences, it is fetched again when
   * the server's `timeout` says (api/updates "channel difference ... if the user is viewing it").
   */
  watchChannel(channelId: bigint, watching: boolean): void {
    const slot = this.table?.slotOf(Number(channelId)) ?? -1;
    if (slot < 0) return;
    this.watched ??= new Map();
    if (watching) this.watched.set(slot, Number.POSITIVE_INFINITY);
    else this.watched.delete(slot);
  }

  // === outputs ===============================================================

  /** Everything produced since the last call, in order. */
  takeOutputs(): EngineOutput[] {
    const out = this.outputs;
    if (out.length === 0) return out;
    this.outputs = [];
    return out;
  }

  /** When `tick` is next needed (ms), or undefined. */
  nextDeadline(): number | undefined {
    let at = Number.POSITIVE_INFINITY;
    for (const q of [this.ptsHeld, this.qtsHeld, this.seqHeld]) if (q && q.deadline < at) at = q.deadline;
    if (this.channelHeld) for (const q of this.channelHeld.values()) if (q.deadline < at) at = q.deadline;
    if (this.watched) for (const t of this.watched.values()) if (t < at) at = t;
    if (!this.behind()) {
      if (this.commonStale && this.commonFetch === 0 && this.commonRetryAt < at) at = this.commonRetryAt;
      if (this.channelRetry) for (const r of this.channelRetry.values()) if (r.at < at) at = r.at;
    }
    if (this.ready && this.lastActivity + this.idleMs < at) at = this.lastActivity + this.idleMs;
    return at === Number.POSITIVE_INFINITY ? undefined : at;
  }

  /** The state up to the acknowledged updates: what may be stored (undefined before any state). */
  committedState(): PersistedUpdatesState | undefined {
    if (!this.ready && this.committed.date === 0 && this.committed.pts === 0) return undefined;
    const channels: PersistedUpdatesState['channels'] = {};
    const t = this.table;
    if (t) {
      for (const slot of t.slots()) {
        if (t.flags[slot] & F_NO_PTS) continue;
        const c: PersistedUpdatesState['channels'][string] = { pts: t.committed[slot] };
        if (t.flags[slot] & F_HAS_HASH) c.accessHash = String(t.hashes[slot]);
        channels[String(t.ids[slot])] = c;
      }
    }
    return { v: STATE_VERSION, ...this.committed, channels };
  }

  /** Delivered updates not yet acknowledged. */
  get unacknowledged(): number {
    return this.log.size;
  }

  /** Channels with a box. */
  get channelCount(): number {
    return this.table?.size ?? 0;
  }

  /** A channel's applied pts (undefined: no box). */
  channelPts(channelId: bigint): number | undefined {
    const slot = this.table?.slotOf(Number(channelId)) ?? -1;
    return slot < 0 || this.table!.flags[slot] & F_NO_PTS ? undefined : this.table!.pts[slot];
  }

  /** Whether a request is in flight or due (false: caught up as far as the engine knows). */
  get busy(): boolean {
    return this.requests.size > 0 || this.commonStale || this.channelQueue.length > this.channelQueueHead;
  }

  // === the common box =========================================================

  private restore(s: PersistedUpdatesState): void {
    this.ready = true;
    this.pts = s.pts;
    this.qts = s.qts;
    this.seq = s.seq;
    this.date = s.date;
    this.committed = { pts: s.pts, qts: s.qts, seq: s.seq, date: s.date };
    for (const [id, c] of Object.entries(s.channels)) {
      if (this.tableOf().size >= this.budgets.maxChannels) break;
      const slot = this.tableOf().add(Number(id), c.pts);
      if (c.accessHash !== undefined) this.tableOf().setHash(slot, BigInt(c.accessHash));
    }
  }

  context(
    users: TL.Types['User'][],
    chats: TL.Types['Chat'][],
    date: number,
    seq: number,
    source: UpdateSource,
  ): Context {
    return { users, chats, date, seq, source };
  }

  private onUpdates(u: TL.Types['Updates'], source: UpdateSource): void {
    switch (u._) {
      case 'updatesTooLong':
        // api/updates: too many updates to push: fetch them.
        this.markCommonStale();
        return;
      case 'updateShortMessage':
      case 'updateShortChatMessage':
        this.offerCommon(
          BOX_PTS,
          u.pts - u.ptsCount,
          u.pts,
          shortMessageUpdate(u, this.options.selfId),
          this.context(NONE, NONE, u.date, 0, source),
        );
        return;
      case 'updateShortSentMessage':
        this.offerCommon(
          BOX_PTS,
          u.pts - u.ptsCount,
          u.pts,
          sentMessageUpdate(u, undefined, this.options.selfId),
          this.context(NONE, NONE, u.date, 0, source),
        );
        return;
      case 'updateShort':
        this.offer(u.update, this.context(NONE, NONE, u.date, 0, source));
        return;
      case 'updates':
      case 'updatesCombined':
        this.onContainer(u, source);
        return;
    }
  }

  /** updates / updatesCombined: the seq rule (api/updates: seq 0 means no check), then each update. */
  private onContainer(c: Container, source: UpdateSource): void {
    this.learnHashes(c.chats);
    if (c.seq === 0) {
      const ctx = this.context(c.users, c.chats, c.date, 0, source);
      for (const u of c.updates) this.offer(u, ctx);
      return;
    }
    const start = (c._ === 'updatesCombined' ? c.seqStart : c.seq) - 1;
    if (!this.ready || this.commonFetch !== 0 || this.commonStale) {
      this.holdSeq(start, c, source, false);
      return;
    }
    if (start < this.seq) {
      this.stats.duplicates++;
      return;
    }
    if (start > this.seq) {
      this.holdSeq(start, c, source, true);
      return;
    }
    this.applyContainer(c, source);
    this.drainSeq();
  }

  private applyContainer(c: Container, source: UpdateSource): void {
    this.seq = c.seq;
    const ctx = this.context(c.users, c.chats, c.date, c.seq, source);
    for (const u of c.updates) this.offer(u, ctx);
    this.log.append(BOX_SEQ, c.seq, true);
  }

  private holdSeq(start: number, c: Container, source: UpdateSource, gap: boolean): void {
    this.seqHeld ??= new HeldQueue();
    if (!this.seqHeld.insert(start, c.seq, { c, source }, this.budgets.maxHeldPerBox)) {
      this.overflowCommon(this.seqHeld);
      return;
    }
    this.stats.held++;
    if (gap && this.seqHeld.deadline === Number.POSITIVE_INFINITY)
      this.seqHeld.deadline = this.now + this.gapWaitMs;
  }

  private drainSeq(): void {
    const q = this.seqHeld;
    if (!q || this.commonFetch !== 0 || this.commonStale || !this.ready) return;
    let progressed = false;
    while (q.size > 0 && q.items[0].start <= this.seq) {
      const head = q.items.shift()!;
      if (head.start < this.seq) {
        this.stats.duplicates++;
        continue;
      }
      this.applyContainer(head.value.c, head.value.source);
      progressed = true;
    }
    this.afterDrain(q, progressed);
    if (q.size === 0) this.seqHeld = null;
  }

  /** One update: by its sequence (sequence.ts). */
  offer(u: TL.Types['Update'], ctx: Context): void {
    const s = this.scratch;
    switch (classify(u, s)) {
      case SEQ_NONE:
        this.emit(u, 'common', -1, 0, undefined, undefined, undefined, ctx);
        return;
      case SEQ_PTS:
        this.offerCommon(BOX_PTS, s.pts - s.count, s.pts, u, ctx);
        return;
      case SEQ_QTS:
        this.offerCommon(BOX_QTS, s.qts - 1, s.qts, u, ctx);
        return;
      case SEQ_CHANNEL:
        this.offerChannel(s.channelId!, s.pts - s.count, s.pts, u, ctx);
        return;
      case SEQ_CHANNEL_TOO_LONG:
        this.channelTooLong(s.channelId!, s.pts, ctx.chats);
        return;
    }
  }

  /** A pts (or qts) update of the common box: the pts / pts_count rule of api/updates. */
  offerCommon(
    box: number,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    if (!this.ready || this.commonFetch !== 0 || this.commonStale) {
      this.holdCommon(box, start, end, { update, ctx }, false);
      return;
    }
    const local = box === BOX_PTS ? this.pts : this.qts;
    if (start < local) {
      this.stats.duplicates++;
      return;
    }
    if (start > local || !this.canDeliver()) {
      this.holdCommon(box, start, end, { update, ctx }, start > local);
      return;
    }
    this.applyCommon(box, start, end, update, ctx);
    this.drainCommon(box);
  }

  private applyCommon(
    box: number,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    if (box === BOX_PTS) this.pts = end;
    else this.qts = end;
    if (!update) this.log.append(box, end, true);
    else if (box === BOX_PTS) this.emit(update, 'common', box, end, end, end - start, undefined, ctx);
    else this.emit(update, 'common', box, end, undefined, undefined, end, ctx);
  }

  private heldOf(box: number): HeldQueue<Item> {
    if (box === BOX_PTS) return (this.ptsHeld ??= new HeldQueue());
    return (this.qtsHeld ??= new HeldQueue());
  }

  private holdCommon(box: number, start: number, end: number, item: Item, gap: boolean): void {
    const q = this.heldOf(box);
    if (!q.insert(start, end, item, this.budgets.maxHeldPerBox)) {
      this.overflowCommon(q);
      return;
    }
    this.stats.held++;
    if (gap && q.deadline === Number.POSITIVE_INFINITY) q.deadline = this.now + this.gapWaitMs;
  }

  /** A held queue is full: let its updates go and fetch a difference (which brings them again). */
  private overflowCommon(q: HeldQueue<unknown>): void {
    this.stats.overflowed += q.size + 1;
    q.clear();
    this.markCommonStale();
  }

  drainCommon(box: number): void {
    const q = box === BOX_PTS ? this.ptsHeld : this.qtsHeld;
    if (!q || this.commonFetch !== 0 || this.commonStale || !this.ready) return;
    let progressed = false;
    for (;;) {
      const local = box === BOX_PTS ? this.pts : this.qts;
      const head = q.items[0];
      if (!head || head.start > local) break;
      if (head.start < local) {
        q.items.shift();
        this.stats.duplicates++;
        continue;
      }
      if (!this.canDeliver()) break;
      q.items.shift();
      this.applyCommon(box, head.start, head.end, head.value.update, head.value.ctx);
      progressed = true;
    }
    this.afterDrain(q, progressed);
    if (q.size === 0) {
      if (box === BOX_PTS) this.ptsHeld = null;
      else this.qtsHeld = null;
    }
  }

  private afterDrain(q: HeldQueue<unknown>, progressed: boolean): void {
    if (q.size === 0) q.deadline = Number.POSITIVE_INFINITY;
    // Progress shows the gap is filling: give the rest the full wait again. Updates held
    // while a difference ran start their wait now.
    else if (progressed || q.deadline === Number.POSITIVE_INFINITY) q.deadline = this.now + this.gapWaitMs;
  }

  markCommonStale(): void {
    if (this.commonFetch !== 0) this.commonRefetch = true;
    else this.commonStale = true;
  }

  private onState(result: unknown): void {
    this.commonFetch = 0;
    const s = result as TL.Objects['updates.state'];
    if (
      s === null ||
      typeof s !== 'object' ||
      s._ !== 'updates.state' ||
      ![s.pts, s.qts, s.seq, s.date].every((n) => Number.isInteger(n) && n >= 0)
    ) {
      this.commonFailed('updates.getState answered something else than a state');
      return;
    }
    this.ready = true;
    this.setCommonState(s);
    this.commonDone();
  }

  /** Adopts a state the server gave (getState, a difference's), committed once what came before is. */
  setCommonState(s: { pts: number; qts: number; seq: number; date: number }): void {
    this.pts = s.pts;
    this.qts = s.qts;
    this.seq = s.seq;
    this.date = s.date;
    this.log.append(BOX_PTS, s.pts, true);
    this.log.append(BOX_QTS, s.qts, true);
    this.log.append(BOX_SEQ, s.seq, true);
    this.log.append(BOX_DATE, s.date, true);
  }

  /** A common difference run ended: updates held meanwhile are checked again. */
  commonDone(): void {
    this.commonPages = 0;
    this.commonFailures = 0;
    if (this.commonRefetch) {
      this.commonRefetch = false;
      this.commonStale = true;
      return;
    }
    this.drainSeq();
    this.drainCommon(BOX_PTS);
    this.drainCommon(BOX_QTS);
  }

  /** Another page of the common difference; false (and an error) past the budget. */
  nextCommonPage(): boolean {
    if (++this.commonPages >= this.budgets.maxDifferencePages) {
      this.error(
        'DIFFERENCE_PAGE_LIMIT',
        `${this.commonPages} difference pages in a row: stopped at pts ${this.pts}, qts ${this.qts}`,
        'common',
      );
      this.cutOff();
      return false;
    }
    this.commonStale = true;
    return true;
  }

  commonFailed(message: string, waitMs?: number): void {
    this.error(
      message.startsWith('malformed') ? 'MALFORMED_DIFFERENCE' : 'REQUEST_FAILED',
      message,
      'common',
    );
    this.commonFailures++;
    this.commonStale = true;
    this.commonRetryAt = this.now + (waitMs ?? this.backoff(this.commonFailures));
  }

  /** Stops a common run at the last good point (no progress): nothing more until a trigger. */
  commonStopped(code: UpdateErrorCode, message: string): void {
    this.error(code, message, 'common');
    this.cutOff();
  }

  /**
   * A run was cut off (page budget, no progress): nothing is asked again for the longest
   * retry delay, whatever held updates want, unless `resync()` (a reconnect...) says so.
   */
  private cutOff(): void {
    this.commonPages = 0;
    this.commonRefetch = false;
    this.commonStale = true;
    this.commonRetryAt = this.now + (this.options.retryMaxMs ?? 300_000);
  }

  private backoff(failures: number): number {
    const base = this.options.retryBaseMs ?? 1000;
    const max = this.options.retryMaxMs ?? 300_000;
    return Math.min(max, base * 2 ** Math.min(20, failures - 1));
  }

  // === channels ================================================================

  private tableOf(): ChannelTable {
    return (this.table ??= new ChannelTable());
  }

  channelBox(slot: number): bigint {
    return BigInt(this.table!.ids[slot]);
  }

  private roomForChannel(channelId: bigint): boolean {
    if (this.tableOf().size < this.budgets.maxChannels) return true;
    this.error('CHANNEL_LIMIT', `more than ${this.budgets.maxChannels} channels`, channelId);
    return false;
  }

  /** A pts update of a channel: the same rule on the channel's own pts. */
  offerChannel(
    channelId: bigint,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    const table = this.tableOf();
    const id = Number(channelId);
    let slot = table.slotOf(id);
    if (slot < 0) {
      if (!this.roomForChannel(channelId)) {
        if (update) this.emit(update, channelId, -1, 0, end, end - start, undefined, ctx);
        return;
      }
      // No pts known for this channel: its first update is taken as next.
      slot = table.add(id, start);
      this.learnHashOf(slot, id, ctx.chats);
    }
    const flags = table.flags[slot];
    if (flags & (F_STALE | F_FETCHING | F_NO_PTS | F_QUEUED)) {
      this.holdChannel(slot, start, end, { update, ctx }, false);
      return;
    }
    const local = table.pts[slot];
    if (start < local) {
      this.stats.duplicates++;
      return;
    }
    if (start > local || !this.canDeliver()) {
      this.holdChannel(slot, start, end, { update, ctx }, start > local);
      return;
    }
    this.applyChannel(slot, channelId, start, end, update, ctx);
    this.drainChannel(slot);
  }

  private applyChannel(
    slot: number,
    channelId: bigint,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    this.table!.pts[slot] = end;
    if (update) this.emit(update, channelId, CHANNEL_BASE + slot, end, end, end - start, undefined, ctx);
    else this.log.append(CHANNEL_BASE + slot, end, true);
  }

  private holdChannel(slot: number, start: number, end: number, item: Item, gap: boolean): void {
    this.channelHeld ??= new Map();
    let q = this.channelHeld.get(slot);
    if (!q) {
      q = new HeldQueue();
      this.channelHeld.set(slot, q);
    }
    if (!q.insert(start, end, item, this.budgets.maxHeldPerBox)) {
      this.stats.overflowed += q.size + 1;
      q.clear();
      this.markChannelStale(slot);
      return;
    }
    this.stats.held++;
    if (gap && q.deadline === Number.POSITIVE_INFINITY) q.deadline = this.now + this.gapWaitMs;
  }

  drainChannel(slot: number): void {
    const q = this.channelHeld?.get(slot);
    const table = this.table!;
    if (!q || table.flags[slot] & (F_STALE | F_FETCHING | F_NO_PTS | F_QUEUED)) return;
    let progressed = false;
    const channelId = this.channelBox(slot);
    for (;;) {
      const head = q.items[0];
      const local = table.pts[slot];
      if (!head || head.start > local) break;
      if (head.start < local) {
        q.items.shift();
        this.stats.duplicates++;
        continue;
      }
      if (!this.canDeliver()) break;
      q.items.shift();
      this.applyChannel(slot, channelId, head.start, head.end, head.value.update, head.value.ctx);
      progressed = true;
    }
    this.afterDrain(q, progressed);
    if (q.size === 0) this.channelHeld!.delete(slot);
  }

  /** updateChannelTooLong: fetch the channel's difference (from `pts` when it has no box). */
  private channelTooLong(channelId: bigint, pts: number, chats: TL.Types['Chat'][]): void {
    const table = this.tableOf();
    const id = Number(channelId);
    let slot = table.slotOf(id);
    if (slot < 0) {
      if (!this.roomForChannel(channelId)) return;
      // api/updates: "if the channel isn't currently in the states, start fetching from the specified pts";
      // without one, the channel's current pts is asked (channels.getFullChannel).
      slot = table.add(id, pts);
      if (pts === 0) table.flags[slot] |= F_NO_PTS;
      this.learnHashOf(slot, id, chats);
    } else if (pts > 0 && table.pts[slot] >= pts && !(table.flags[slot] & F_NO_PTS)) {
      // The box is already there (the server names channels touched since our date).
      return;
    }
    this.markChannelStale(slot);
  }

  markChannelStale(slot: number): void {
    const table = this.table!;
    const f = table.flags[slot];
    table.flags[slot] = f | F_STALE;
    if (f & (F_QUEUED | F_FETCHING)) return;
    table.flags[slot] |= F_QUEUED;
    this.channelQueue.push(slot);
  }

  private channelDone(slot: number): void {
    this.channelsInFlight--;
    if (this.table?.live(slot)) this.table.flags[slot] &= ~F_FETCHING;
  }

  /** A channel's difference run ended: held updates are checked again; a watched channel is polled later. */
  channelFinished(slot: number, timeoutSec: number | undefined): void {
    this.channelPages?.delete(slot);
    this.channelRetry?.delete(slot);
    const table = this.table!;
    if (this.watched?.has(slot))
      this.watched.set(
        slot,
        timeoutSec === undefined ? Number.POSITIVE_INFINITY : this.now + timeoutSec * 1000,
      );
    // Marked stale while the request ran (updates let go, updateChannelTooLong): once more.
    if (table.flags[slot] & F_STALE) {
      table.flags[slot] &= ~F_STALE;
      this.markChannelStale(slot);
      return;
    }
    this.drainChannel(slot);
  }

  /** A channel's run stops at the last good point: retried after the longest delay. */
  channelStopped(slot: number, code: UpdateErrorCode, message: string): void {
    this.channelPages?.delete(slot);
    this.error(code, message, this.channelBox(slot));
    this.channelRetry ??= new Map();
    this.channelRetry.set(slot, { at: this.now + (this.options.retryMaxMs ?? 300_000), failures: 0 });
    this.markChannelStale(slot);
  }

  /** Another page of a channel's difference; false (and an error) past the budget. */
  nextChannelPage(slot: number): boolean {
    this.channelPages ??= new Map();
    const pages = (this.channelPages.get(slot) ?? 0) + 1;
    if (pages >= this.budgets.maxDifferencePages) {
      this.channelStopped(
        slot,
        'DIFFERENCE_PAGE_LIMIT',
        `${pages} channel difference pages in a row: stopped`,
      );
      return false;
    }
    this.channelPages.set(slot, pages);
    this.markChannelStale(slot);
    return true;
  }

  channelFailed(slot: number, message: string, waitMs?: number): void {
    this.error(
      message.startsWith('malformed') ? 'MALFORMED_DIFFERENCE' : 'REQUEST_FAILED',
      message,
      this.channelBox(slot),
    );
    this.channelRetry ??= new Map();
    const failures = (this.channelRetry.get(slot)?.failures ?? 0) + 1;
    this.channelRetry.set(slot, { at: this.now + (waitMs ?? this.backoff(failures)), failures });
    this.markChannelStale(slot);
  }

  private onFullChannel(slot: number, result: unknown): void {
    const full = (result as { fullChat?: { _?: string; pts?: unknown } } | null)?.fullChat;
    const pts = full?._ === 'channelFull' ? full.pts : undefined;
    if (typeof pts !== 'number' || !Number.isInteger(pts) || pts < 0) {
      this.channelFailed(slot, 'channels.getFullChannel answered no channel pts');
      return;
    }
    const table = this.table!;
    table.pts[slot] = pts;
    table.committed[slot] = pts;
    table.flags[slot] &= ~F_NO_PTS;
    this.channelFinished(slot, undefined);
  }

  private removeChannel(slot: number): void {
    this.channelHeld?.delete(slot);
    this.channelPages?.delete(slot);
    this.channelRetry?.delete(slot);
    this.watched?.delete(slot);
    this.table!.remove(slot);
    if (this.log.size === 0) this.table!.recycle();
  }

  learnHashes(chats: readonly TL.Types['Chat'][]): void {
    const table = this.table;
    if (!table || chats.length === 0) return;
    for (const c of chats) {
      if (c._ !== 'channel' || c.min || c.accessHash === undefined) continue;
      const slot = table.slotOf(Number(c.id));
      if (slot >= 0) this.hashLearned(slot, c.accessHash);
    }
  }

  private learnHashOf(slot: number, id: number, chats: readonly TL.Types['Chat'][]): void {
    for (const c of chats) {
      if (c._ === 'channel' && !c.min && c.accessHash !== undefined && Number(c.id) === id) {
        this.hashLearned(slot, c.accessHash);
        return;
      }
    }
  }

  private hashLearned(slot: number, hash: bigint): void {
    const table = this.table!;
    const waiting = table.flags[slot] & F_UNRESOLVED;
    table.setHash(slot, hash);
    if (waiting) {
      table.flags[slot] &= ~F_UNRESOLVED;
      this.markChannelStale(slot);
    }
  }

  // === requests =================================================================

  private behind(): boolean {
    return this.consumerBehind || this.log.size >= this.budgets.maxUnacknowledged;
  }

  private canDeliver(): boolean {
    return this.log.size < this.budgets.maxUnacknowledged;
  }

  /** The consumer caught up: deliver what waited for room, then ask what is due. */
  private resume(): void {
    this.drainSeq();
    this.drainCommon(BOX_PTS);
    this.drainCommon(BOX_QTS);
    if (this.channelHeld) for (const slot of [...this.channelHeld.keys()]) this.drainChannel(slot);
    this.pump();
  }

  private request<M extends EngineMethod>(method: M, params: TL.Params<M>, pending: Pending): void {
    const id = this.nextRequestId++;
    this.requests.set(id, pending);
    this.outputs.push({ kind: 'request', id, method, params } as EngineOutput);
  }

  /** Makes the requests that are due, unless the consumer is behind. */
  private pump(): void {
    if (this.behind()) return;
    if (this.commonStale && this.commonFetch === 0 && this.now >= this.commonRetryAt) {
      this.commonStale = false;
      if (!this.ready) {
        this.request('updates.getState', {}, { kind: 'state' });
      } else {
        this.stats.differences++;
        const params: TL.Params<'updates.getDifference'> = { pts: this.pts, date: this.date, qts: this.qts };
        if (this.options.ptsTotalLimit !== undefined) params.ptsTotalLimit = this.options.ptsTotalLimit;
        this.request('updates.getDifference', params, { kind: 'difference' });
      }
      this.commonFetch = this.nextRequestId - 1;
    }
    this.pumpChannels();
  }

  private pumpChannels(): void {
    const table = this.table;
    if (!table) return;
    const queue = this.channelQueue;
    const later: number[] = [];
    while (this.channelsInFlight < this.budgets.maxChannelRequests && this.channelQueueHead < queue.length) {
      const slot = queue[this.channelQueueHead++];
      if (!table.live(slot) || !(table.flags[slot] & F_QUEUED)) continue;
      const retry = this.channelRetry?.get(slot);
      if (retry && retry.at > this.now) {
        later.push(slot);
        continue;
      }
      table.flags[slot] &= ~F_QUEUED;
      if (!(table.flags[slot] & F_HAS_HASH)) {
        if (!(table.flags[slot] & F_UNRESOLVED)) {
          table.flags[slot] |= F_UNRESOLVED;
          this.error(
            'CHANNEL_UNRESOLVED',
            'no access hash known for the channel: its difference waits for one',
            this.channelBox(slot),
          );
        }
        continue;
      }
      const channel = {
        _: 'inputChannel' as const,
        channelId: this.channelBox(slot),
        accessHash: table.hashes[slot],
      };
      // STALE is cleared as the request goes: set again while it runs, it means "once more".
      table.flags[slot] = (table.flags[slot] & ~F_STALE) | F_FETCHING;
      this.channelsInFlight++;
      if (table.flags[slot] & F_NO_PTS) {
        this.request('channels.getFullChannel', { channel }, { kind: 'full', slot });
        continue;
      }
      this.stats.channelDifferences++;
      const limit =
        this.options.channelDifferenceLimit ?? (this.options.isBot ? CHANNEL_LIMIT_BOT : CHANNEL_LIMIT_USER);
      this.request(
        'updates.getChannelDifference',
        {
          channel,
          filter: { _: 'channelMessagesFilterEmpty' },
          pts: table.pts[slot],
          limit: Math.min(limit, 100_000),
        },
        { kind: 'channel', slot, from: table.pts[slot] },
      );
    }
    if (this.channelQueueHead > 1024 && this.channelQueueHead * 2 > queue.length) {
      this.channelQueue = queue.slice(this.channelQueueHead);
      this.channelQueueHead = 0;
    }
    for (const slot of later) this.channelQueue.push(slot);
  }

  // === delivery and commit ======================================================

  emit(
    update: TL.Types['Update'],
    box: UpdateBox,
    logBox: number,
    position: number,
    pts: number | undefined,
    ptsCount: number | undefined,
    qts: number | undefined,
    ctx: Context,
  ): void {
    const token = logBox >= 0 ? this.log.append(logBox, position, false) : this.log.token;
    const d: DeliveredUpdate = {
      kind: 'update',
      update,
      box,
      pts,
      ptsCount,
      qts,
      seq: ctx.seq === 0 ? undefined : ctx.seq,
      date: ctx.date,
      users: ctx.users,
      chats: ctx.chats,
      source: ctx.source,
      token,
    };
    this.outputs.push(d);
    this.stats.delivered++;
  }

  /** A position with nothing to deliver (a difference's final state...), committed in its turn. */
  silent(logBox: number, position: number): number {
    return this.log.append(logBox, position, true);
  }

  /** A position the application must see (a gap): committed once acknowledged. */
  marked(logBox: number, position: number): number {
    return this.log.append(logBox, position, false);
  }

  pushOutput(o: EngineOutput): void {
    this.outputs.push(o);
  }

  error(code: UpdateErrorCode, message: string, box: UpdateBox): void {
    this.stats.errors++;
    this.outputs.push({ kind: 'error', code, message, box });
  }

  private commit(box: number, position: number): void {
    switch (box) {
      case BOX_PTS:
        this.committed.pts = position;
        return;
      case BOX_QTS:
        this.committed.qts = position;
        return;
      case BOX_SEQ:
        this.committed.seq = position;
        return;
      case BOX_DATE:
        this.committed.date = position;
        return;
      default: {
        const slot = box - CHANNEL_BASE;
        if (this.table?.live(slot)) this.table.committed[slot] = position;
      }
    }
  }

  /** The channel table (apply-difference.ts). */
  channels(): ChannelTable {
    return this.tableOf();
  }
}

/** The channel a request's params name (`channel`, or a `peer` that is a channel), if any. */
function channelOfParams(params: unknown): bigint | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  const p = params as {
    channel?: { _?: string; channelId?: bigint };
    peer?: { _?: string; channelId?: bigint };
  };
  for (const c of [p.channel, p.peer]) {
    if (
      c &&
      (c._ === 'inputChannel' ||
        c._ === 'inputPeerChannel' ||
        c._ === 'inputChannelFromMessage' ||
        c._ === 'inputPeerChannelFromMessage')
    )
      return c.channelId;
  }
  return undefined;
}
