// UpdateEngine: the update state machine of one session, sans-IO (core.telegram.org/api/updates).
// Decoded updates, request answers and the time go in; updates to deliver, requests to
// make, gaps and errors come out (`takeOutputs()`), with the next deadline (`nextDeadline()`).
// No socket, timer or promise inside: a driver (driver.ts, or the session) does the I/O.
//
// Each update is checked against its box (common-box.ts, channel-boxes.ts): applied when it
// is next, dropped when applied already, held when early until the gap fills or
// `gapWaitMs` passes, then a difference is fetched (apply-difference.ts). The applied state
// only moves over updates that were delivered; the committed state only over those the
// application acknowledged (delivery-log.ts).

import type * as TL from '../tl';
import { applyChannelDifference, applyDifference } from './apply-difference';
import { type BoxHost, type Context, NO_ENTITIES } from './box-host';
import { ChannelBoxes } from './channel-boxes';
import { CommonBox } from './common-box';
import { BOX_PTS, BOX_QTS, CHANNEL_BASE, DeliveryLog } from './delivery-log';
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
  type EngineMethod,
  type EngineOutput,
  type UpdateBox,
  type UpdateBudgets,
  type UpdateEngineOptions,
  type UpdateEngineStats,
  type UpdateErrorCode,
  type UpdateSource,
} from './types';

type Pending = { kind: 'common' } | { kind: 'channel'; slot: number; full: boolean };

/** Errors after which a channel's box is dropped (it is gone for this account). */
const CLOSED_CHANNEL =
  /^(CHANNEL_PRIVATE|CHANNEL_INVALID|CHANNEL_PUBLIC_GROUP_NA|CHANNEL_BANNED|USER_BANNED_IN_CHANNEL)$/;
const FLOOD_WAIT = /^FLOOD_WAIT_(\d+)$/;
const NO_OUTPUTS: readonly EngineOutput[] = Object.freeze([]);
/** classify()'s output, read at once (no engine call sits between a classify and its use). */
const scratch = newSequenced();

export class UpdateEngine implements BoxHost {
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
  readonly gapWaitMs: number;
  readonly retryMaxMs: number;
  now = 0;
  private readonly idleMs: number;
  // The options kept (not the object: it may hold the stored state).
  private readonly isBot: boolean;
  private readonly selfId: bigint | undefined;
  private readonly ptsTotalLimit: number | undefined;
  private readonly channelLimit: number | undefined;
  private readonly retryBaseMs: number;
  private outputs: EngineOutput[] = [];
  private readonly common: CommonBox;
  /** Made with the first channel (an engine without channels stays small). */
  private channelBoxes: ChannelBoxes | null = null;
  /** Requests in flight (made with the first one: an idle engine keeps none). */
  private requests: Map<number, Pending> | null = null;
  private nextRequestId = 1;
  private readonly log: DeliveryLog;
  private consumerBehind = false;

  constructor(options: UpdateEngineOptions = {}) {
    this.isBot = options.isBot ?? false;
    this.selfId = options.selfId;
    this.ptsTotalLimit = options.ptsTotalLimit;
    this.channelLimit = options.channelDifferenceLimit;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    // The defaults are shared by every engine that keeps them.
    this.budgets = options.budgets ? { ...DEFAULT_BUDGETS, ...options.budgets } : DEFAULT_BUDGETS;
    this.gapWaitMs = options.gapWaitMs ?? 500;
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.retryMaxMs = options.retryMaxMs ?? 300_000;
    this.log = new DeliveryLog(this);
    this.common = new CommonBox(this);
    if (options.state !== undefined && options.state !== null) {
      const s = parseUpdatesState(options.state);
      this.common.restore(s);
      if (Object.keys(s.channels).length > 0) this.channels().restore(s.channels);
    }
  }

  // === inputs ================================================================

  /** Starts: updates.getState without a stored state, else getDifference from it. */
  start(now: number): void {
    this.now = now;
    this.common.lastActivity = now;
    this.common.markStale();
    this.pump();
  }

  /** An Updates object pushed by the server. */
  push(updates: TL.Types['Updates'], now: number): void {
    this.now = now;
    this.common.lastActivity = now;
    this.onUpdates(updates, 'push', undefined);
    this.pump();
  }

  /**
   * The result of an RPC the application made, with the request's params: Updates answers
   * are applied like pushes (updateShortSentMessage takes its chat and text from `params`);
   * the pts of messages.affectedMessages / affectedHistory / affectedFoundMessages moves the
   * common box, or the channel's when `params` names one (`channel`, or a channel `peer`).
   * Other results are ignored.
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
        const ctx: Context = { users: NO_ENTITIES, chats: NO_ENTITIES, date: 0, seq: 0, source: 'result' };
        if (channel === undefined) this.common.offer(BOX_PTS, pts - count, pts, undefined, ctx);
        else this.channels().offer(channel, pts - count, pts, undefined, ctx);
        break;
      }
      case 'updatesTooLong':
      case 'updateShortMessage':
      case 'updateShortChatMessage':
      case 'updateShortSentMessage':
      case 'updateShort':
      case 'updates':
      case 'updatesCombined':
        this.onUpdates(r as TL.Types['Updates'], 'result', params);
        break;
      default:
        return;
    }
    this.pump();
  }

  /** The answer to request `id`. */
  answer(id: number, result: unknown, now: number): void {
    this.now = now;
    this.common.lastActivity = now;
    const p = this.requests?.get(id);
    if (!p) return;
    this.requests!.delete(id);
    if (p.kind === 'common') {
      this.common.fetch = 0;
      if (this.common.ready) applyDifference(this, this.common, result);
      else this.common.onState(result);
    } else if (this.channels().answered(p.slot)) {
      if (p.full) this.channels().onFullChannel(p.slot, result);
      else applyChannelDifference(this, this.channels(), p.slot, result);
    }
    this.pump();
  }

  /** Request `id` failed (an rpc_error's message, a timeout...): retried after a backoff. */
  fail(id: number, error: { message: string }, now: number): void {
    this.now = now;
    const p = this.requests?.get(id);
    if (!p) return;
    this.requests!.delete(id);
    const flood = FLOOD_WAIT.exec(error.message);
    const waitMs = flood ? Number(flood[1]) * 1000 : undefined;
    if (p.kind === 'common') {
      this.common.fetch = 0;
      const method = this.common.ready ? 'updates.getDifference' : 'updates.getState';
      this.common.failed('REQUEST_FAILED', `${method} failed: ${error.message}`, waitMs);
    } else {
      const channels = this.channels();
      if (!channels.answered(p.slot)) {
        // The box is gone since: nothing to retry.
      } else if (CLOSED_CHANNEL.test(error.message)) {
        this.error('CHANNEL_CLOSED', `${error.message}: the channel's box is dropped`, channels.box(p.slot));
        channels.remove(p.slot, this.log.size === 0);
      } else {
        channels.failed(
          p.slot,
          'REQUEST_FAILED',
          `updates.getChannelDifference failed: ${error.message}`,
          waitMs,
        );
      }
    }
    this.pump();
  }

  /** Time passed: gaps that did not fill, the idle period, retries, polled channels. */
  tick(now: number): void {
    this.now = now;
    this.common.tick(now, this.idleMs);
    this.channelBoxes?.tick(now);
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

  /** Fetches a difference now (a new run: the page budget and retry delay start over). */
  resync(now: number): void {
    this.now = now;
    this.common.resync();
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
    const full = !this.canDeliver();
    this.log.acknowledge(token);
    if (this.log.size === 0) this.channelBoxes?.table.recycle();
    if (full && this.canDeliver()) this.resume();
  }

  /** A channel's access hash, and its pts when it has no box yet (the application's dialogs). */
  setChannel(channelId: bigint, info: { accessHash?: bigint; pts?: number }, now: number): void {
    this.now = now;
    const channels = this.channels();
    let slot = channels.table.slotOf(Number(channelId));
    if (slot < 0) {
      if (info.pts === undefined) return;
      slot = channels.add(channelId, info.pts);
      if (slot < 0) return;
    }
    if (info.accessHash !== undefined) channels.hashLearned(slot, info.accessHash);
    this.pump();
  }

  /**
   * A channel the user has open: after each of its differences it is fetched again when the
   * answer's `timeout` says (api/updates: "if the user is currently viewing the chat").
   */
  watchChannel(channelId: bigint, watching: boolean): void {
    this.channelBoxes?.watch(channelId, watching);
  }

  // === outputs ===============================================================

  /** Everything produced since the last call, in order. */
  takeOutputs(): readonly EngineOutput[] {
    const out = this.outputs;
    if (out.length === 0) return NO_OUTPUTS;
    this.outputs = [];
    return out;
  }

  /** When `tick` is next needed (ms), or undefined. */
  nextDeadline(): number | undefined {
    const requests = !this.behind();
    const at = Math.min(
      this.common.deadline(this.idleMs, requests),
      this.channelBoxes?.deadline(requests) ?? Infinity,
    );
    return at === Number.POSITIVE_INFINITY ? undefined : at;
  }

  /** The state up to the acknowledged updates: what may be stored (undefined before any state). */
  committedState(): PersistedUpdatesState | undefined {
    if (!this.common.ready) return undefined;
    return {
      v: STATE_VERSION,
      ...this.common.committed,
      channels: this.channelBoxes?.committedState() ?? {},
    };
  }

  /** The applied common state (what getDifference would be asked from). */
  appliedState(): { pts: number; qts: number; seq: number; date: number } | undefined {
    const c = this.common;
    return c.ready ? { pts: c.pts, qts: c.qts, seq: c.seq, date: c.date } : undefined;
  }

  /** Delivered updates not yet acknowledged. */
  get unacknowledged(): number {
    return this.log.size;
  }

  /** Updates held now (early ones, and those waiting for a difference or for room). */
  get heldCount(): number {
    return this.common.heldCount() + (this.channelBoxes?.heldCount() ?? 0);
  }

  /** Channels with a box. */
  get channelCount(): number {
    return this.channelBoxes?.table.size ?? 0;
  }

  /** A channel's applied pts (undefined: no box). */
  channelPts(channelId: bigint): number | undefined {
    return this.channelBoxes?.pts(channelId);
  }

  /** Whether a request is in flight or due (false: caught up as far as the engine knows). */
  get busy(): boolean {
    return (this.requests?.size ?? 0) > 0 || this.common.stale || (this.channelBoxes?.busy ?? false);
  }

  // === routing ===============================================================

  private onUpdates(u: TL.Types['Updates'], source: UpdateSource, params: unknown): void {
    const ctx: Context = { users: NO_ENTITIES, chats: NO_ENTITIES, date: 0, seq: 0, source };
    switch (u._) {
      case 'updatesTooLong':
        // api/updates: too many updates to push: fetch them.
        this.common.markStale();
        return;
      case 'updateShortMessage':
      case 'updateShortChatMessage':
        ctx.date = u.date;
        this.common.offer(BOX_PTS, u.pts - u.ptsCount, u.pts, shortMessageUpdate(u, this.selfId), ctx);
        return;
      case 'updateShortSentMessage': {
        // Its chat and text are the request's; without them only its pts counts.
        ctx.date = u.date;
        const update = sentMessageUpdate(u, params as never, this.selfId);
        this.common.offer(BOX_PTS, u.pts - u.ptsCount, u.pts, update, ctx);
        return;
      }
      case 'updateShort':
        ctx.date = u.date;
        this.offer(u.update, ctx);
        return;
      case 'updates':
      case 'updatesCombined':
        this.common.onContainer(u, source);
        return;
    }
  }

  /** One update, to its box by its sequence (sequence.ts). */
  offer(u: TL.Types['Update'], ctx: Context, sequencedOnly = false): void {
    const s = scratch;
    switch (classify(u, s)) {
      case SEQ_NONE:
        if (!sequencedOnly) this.emit(u, 'common', -1, 0, undefined, undefined, undefined, ctx);
        return;
      case SEQ_PTS:
        this.common.offer(BOX_PTS, s.pts - s.count, s.pts, u, ctx);
        return;
      case SEQ_QTS:
        this.common.offer(BOX_QTS, s.qts - 1, s.qts, u, ctx);
        return;
      case SEQ_CHANNEL:
        this.channels().offer(s.channelId!, s.pts - s.count, s.pts, u, ctx);
        return;
      case SEQ_CHANNEL_TOO_LONG:
        this.channels().tooLong(s.channelId!, s.pts, ctx.chats);
        return;
    }
  }

  learnHashes(chats: readonly TL.Types['Chat'][]): void {
    this.channelBoxes?.learnHashes(chats);
  }

  private channels(): ChannelBoxes {
    this.channelBoxes ??= new ChannelBoxes(this);
    return this.channelBoxes;
  }

  // === requests ================================================================

  private behind(): boolean {
    return this.consumerBehind || !this.canDeliver();
  }

  canDeliver(): boolean {
    return this.log.size < this.budgets.maxUnacknowledged;
  }

  /** The consumer caught up: deliver what waited for room, then ask what is due. */
  private resume(): void {
    this.common.drainAll();
    this.channelBoxes?.drainAll();
    this.pump();
  }

  private request<M extends EngineMethod>(method: M, params: TL.Params<M>, pending: Pending): number {
    const id = this.nextRequestId++;
    this.requests ??= new Map();
    this.requests.set(id, pending);
    this.outputs.push({ kind: 'request', id, method, params } as EngineOutput);
    return id;
  }

  /** Makes the requests that are due, unless the consumer is behind. */
  private pump(): void {
    if (this.behind()) return;
    const c = this.common;
    const due = c.due(this.now);
    if (due === 'updates.getState') c.fetch = this.request(due, {}, { kind: 'common' });
    else if (due === 'updates.getDifference') {
      this.stats.differences++;
      const params: TL.Params<'updates.getDifference'> = { pts: c.pts, date: c.date, qts: c.qts };
      if (this.ptsTotalLimit !== undefined) params.ptsTotalLimit = this.ptsTotalLimit;
      c.fetch = this.request(due, params, { kind: 'common' });
    }
    this.channelBoxes?.pump(
      (method, params, slot) =>
        this.request(method, params as never, {
          kind: 'channel',
          slot,
          full: method === 'channels.getFullChannel',
        }),
      this.isBot,
      this.channelLimit,
    );
  }

  backoff(failures: number): number {
    return Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(20, failures - 1));
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
    this.outputs.push({
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
    });
    this.stats.delivered++;
  }

  silent(logBox: number, position: number): void {
    this.log.append(logBox, position, true);
  }

  marked(logBox: number, position: number): number {
    return this.log.append(logBox, position, false);
  }

  output(o: EngineOutput): void {
    this.outputs.push(o);
  }

  error(code: UpdateErrorCode, message: string, box: UpdateBox): void {
    this.stats.errors++;
    this.outputs.push({ kind: 'error', code, message, box });
  }

  /** A position acknowledged (delivery-log.ts). */
  commit(box: number, position: number): void {
    if (box < CHANNEL_BASE) this.common.commit(box, position);
    else this.channelBoxes?.commit(box - CHANNEL_BASE, position);
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
    if (c?._ === 'inputChannel' || c?._ === 'inputPeerChannel' || c?._ === 'inputChannelFromMessage')
      return c.channelId;
    if (c?._ === 'inputPeerChannelFromMessage') return c.channelId;
  }
  return undefined;
}
