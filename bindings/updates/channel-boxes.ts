// The channel boxes (core.telegram.org/api/updates): one pts per channel (channel-table.ts),
// the updates held per channel, and the queue of channels whose difference is due, made at
// most `maxChannelRequests` at a time. A channel without a known pts takes its first update
// as next; one named by updateChannelTooLong starts from the pts it gives, or from its
// current pts (channels.getFullChannel) when it gives none. A channel whose access hash is
// unknown waits for one (CHANNEL_UNRESOLVED) without stopping the others.

import type * as TL from '../tl';
import type { BoxHost, Context, Item } from './box-host';
import {
  ChannelTable,
  F_FETCHING,
  F_HAS_HASH,
  F_NO_PTS,
  F_QUEUED,
  F_STALE,
  F_UNRESOLVED,
} from './channel-table';
import { CHANNEL_BASE } from './delivery-log';
import { HeldQueue } from './held';
import type { PersistedUpdatesState } from './persisted';
import type { EngineMethod, UpdateErrorCode } from './types';

/** Default getChannelDifference limits (api/updates: bots up to 100 000, users "10-100"). */
export const CHANNEL_LIMIT_USER = 100;
export const CHANNEL_LIMIT_BOT = 1000;

/** Updates of a channel wait while its difference is due or running, or its pts is unknown. */
const WAITING = F_STALE | F_FETCHING | F_NO_PTS | F_QUEUED;

/** How a channel request goes out: the engine makes the output and remembers the slot. */
export type ChannelRequester = (
  method: Extract<EngineMethod, 'updates.getChannelDifference' | 'channels.getFullChannel'>,
  params: TL.Params<'updates.getChannelDifference'> | TL.Params<'channels.getFullChannel'>,
  slot: number,
) => void;

export class ChannelBoxes {
  readonly table = new ChannelTable();
  private held: Map<number, HeldQueue<Item>> | null = null;
  private queue: number[] = [];
  private queueHead = 0;
  private inFlight = 0;
  /** Per slot, while they matter: pages of the current run, retry time and failures, poll time. */
  private pages: Map<number, number> | null = null;
  private retry: Map<number, { at: number; failures: number }> | null = null;
  private watched: Map<number, number> | null = null;

  constructor(private readonly host: BoxHost) {}

  restore(channels: PersistedUpdatesState['channels']): void {
    for (const [id, c] of Object.entries(channels)) {
      if (this.table.size >= this.host.budgets.maxChannels) break;
      const slot = this.table.add(Number(id), c.pts);
      if (c.accessHash !== undefined) this.table.setHash(slot, BigInt(c.accessHash));
      if (c.behind) this.markStale(slot);
    }
  }

  box(slot: number): bigint {
    return BigInt(this.table.ids[slot]);
  }

  /** A new box for `channelId` at `pts`; -1 (and CHANNEL_LIMIT) past the budget. */
  add(channelId: bigint, pts: number): number {
    if (this.table.size >= this.host.budgets.maxChannels) {
      this.host.error('CHANNEL_LIMIT', `more than ${this.host.budgets.maxChannels} channels`, channelId);
      return -1;
    }
    return this.table.add(Number(channelId), pts);
  }

  /** Whether requests or their answers are still due. */
  get busy(): boolean {
    return this.inFlight > 0 || this.queue.length > this.queueHead;
  }

  // --- updates ---------------------------------------------------------------------

  /** A pts update of a channel: the pts rule on the channel's own pts. */
  offer(
    channelId: bigint,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    const table = this.table;
    const id = Number(channelId);
    let slot = table.slotOf(id);
    if (slot < 0) {
      // No pts known for this channel: its first update is taken as next.
      slot = this.add(channelId, start);
      if (slot < 0) {
        // Past the budget: delivered, without order checks rather than lost.
        if (update) this.host.emit(update, channelId, -1, 0, end, end - start, undefined, ctx);
        return;
      }
      this.learnHashOf(slot, ctx.chats);
    }
    const local = table.pts[slot];
    if (table.flags[slot] & WAITING) this.hold(slot, start, end, { update, ctx }, false);
    else if (start < local) this.host.stats.duplicates++;
    else if (start > local || !this.host.canDeliver())
      this.hold(slot, start, end, { update, ctx }, start > local);
    else {
      this.apply(slot, channelId, start, end, update, ctx);
      this.drain(slot);
    }
  }

  private apply(
    slot: number,
    channelId: bigint,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    this.table.pts[slot] = end;
    if (update) this.host.emit(update, channelId, CHANNEL_BASE + slot, end, end, end - start, undefined, ctx);
    else this.host.silent(CHANNEL_BASE + slot, end);
  }

  private hold(slot: number, start: number, end: number, item: Item, gap: boolean): void {
    this.held ??= new Map();
    let q = this.held.get(slot);
    if (!q) {
      q = new HeldQueue();
      this.held.set(slot, q);
    }
    if (!q.insert(start, end, item, this.host.budgets.maxHeldPerBox)) {
      this.host.stats.overflowed += q.size + 1;
      q.clear();
      this.markStale(slot);
      return;
    }
    this.host.stats.held++;
    if (gap && q.deadline === Number.POSITIVE_INFINITY) q.deadline = this.host.now + this.host.gapWaitMs;
  }

  private drain(slot: number): void {
    const q = this.held?.get(slot);
    const table = this.table;
    if (!q || table.flags[slot] & WAITING) return;
    let progressed = false;
    const channelId = this.box(slot);
    for (;;) {
      const head = q.items[0];
      const local = table.pts[slot];
      if (!head || head.start > local) break;
      if (head.start < local) {
        q.items.shift();
        this.host.stats.duplicates++;
        continue;
      }
      if (!this.host.canDeliver()) break;
      q.items.shift();
      this.apply(slot, channelId, head.start, head.end, head.value.update, head.value.ctx);
      progressed = true;
    }
    if (q.size === 0) {
      this.held!.delete(slot);
      return;
    }
    // As in the common box: progress, or the end of a difference, starts the wait again.
    if (progressed || q.deadline === Number.POSITIVE_INFINITY)
      q.deadline = this.host.now + this.host.gapWaitMs;
  }

  drainAll(): void {
    if (this.held) for (const slot of [...this.held.keys()]) this.drain(slot);
  }

  /** updateChannelTooLong: fetch the channel's difference (from `pts` when it has no box). */
  tooLong(channelId: bigint, pts: number, chats: readonly TL.Types['Chat'][]): void {
    const table = this.table;
    let slot = table.slotOf(Number(channelId));
    if (slot < 0) {
      // api/updates: "if the channel isn't currently in the states, start fetching from the
      // specified pts"; without one, the channel's current pts is asked (channels.getFullChannel).
      slot = this.add(channelId, pts);
      if (slot < 0) return;
      if (pts === 0) table.flags[slot] |= F_NO_PTS;
      this.learnHashOf(slot, chats);
    } else if (pts > 0 && table.pts[slot] >= pts && !(table.flags[slot] & F_NO_PTS)) {
      // Nothing missed: the server names every channel touched since our date.
      return;
    }
    this.markStale(slot);
  }

  // --- access hashes ------------------------------------------------------------------

  /** Access hashes of the channels with a box, from the chats of a container or difference. */
  learnHashes(chats: readonly TL.Types['Chat'][]): void {
    if (chats.length === 0 || this.table.size === 0) return;
    for (const c of chats) {
      if (c._ !== 'channel' || c.min || c.accessHash === undefined) continue;
      const slot = this.table.slotOf(Number(c.id));
      if (slot >= 0) this.hashLearned(slot, c.accessHash);
    }
  }

  private learnHashOf(slot: number, chats: readonly TL.Types['Chat'][]): void {
    const id = this.table.ids[slot];
    for (const c of chats) {
      if (c._ === 'channel' && !c.min && c.accessHash !== undefined && Number(c.id) === id) {
        this.hashLearned(slot, c.accessHash);
        return;
      }
    }
  }

  hashLearned(slot: number, hash: bigint): void {
    const table = this.table;
    const waiting = table.flags[slot] & F_UNRESOLVED;
    table.setHash(slot, hash);
    if (waiting) {
      table.flags[slot] &= ~F_UNRESOLVED;
      this.markStale(slot);
    }
  }

  // --- difference runs -------------------------------------------------------------------

  markStale(slot: number): void {
    const table = this.table;
    const f = table.flags[slot];
    table.flags[slot] = f | F_STALE;
    if (f & (F_QUEUED | F_FETCHING)) return;
    table.flags[slot] |= F_QUEUED;
    this.queue.push(slot);
  }

  /** The answer (or failure) of a request for `slot` came; false when the box is gone since. */
  answered(slot: number): boolean {
    this.inFlight--;
    if (!this.table.live(slot)) return false;
    this.table.flags[slot] &= ~F_FETCHING;
    return true;
  }

  /** A channel's run ended: held updates are checked again; a watched channel is polled later. */
  finished(slot: number, timeoutSec: number | undefined): void {
    this.pages?.delete(slot);
    this.retry?.delete(slot);
    const table = this.table;
    if (this.watched?.has(slot))
      this.watched.set(
        slot,
        timeoutSec === undefined ? Number.POSITIVE_INFINITY : this.host.now + timeoutSec * 1000,
      );
    // Marked stale while the request ran (updates let go, updateChannelTooLong): once more.
    if (table.flags[slot] & F_STALE) {
      table.flags[slot] &= ~F_STALE;
      this.markStale(slot);
      return;
    }
    this.drain(slot);
  }

  /** Another page of a channel's difference; past the budget the run is cut off. */
  nextPage(slot: number): void {
    this.pages ??= new Map();
    const pages = (this.pages.get(slot) ?? 0) + 1;
    if (pages >= this.host.budgets.maxDifferencePages) {
      this.stopped(slot, 'DIFFERENCE_PAGE_LIMIT', `${pages} channel difference pages in a row: stopped`);
      return;
    }
    this.pages.set(slot, pages);
    this.markStale(slot);
  }

  /** A run stops at the last good point: retried after the longest delay. */
  stopped(slot: number, code: UpdateErrorCode, message: string): void {
    this.pages?.delete(slot);
    this.host.error(code, message, this.box(slot));
    this.retry ??= new Map();
    this.retry.set(slot, { at: this.host.now + this.host.retryMaxMs, failures: 0 });
    this.markStale(slot);
  }

  failed(slot: number, code: UpdateErrorCode, message: string, waitMs?: number): void {
    this.host.error(code, message, this.box(slot));
    this.retry ??= new Map();
    const failures = (this.retry.get(slot)?.failures ?? 0) + 1;
    this.retry.set(slot, { at: this.host.now + (waitMs ?? this.host.backoff(failures)), failures });
    this.markStale(slot);
  }

  /** channels.getFullChannel's answer: the channel starts from its current pts. */
  onFullChannel(slot: number, result: unknown): void {
    const full = (result as { fullChat?: { _?: string; pts?: unknown } } | null)?.fullChat;
    const pts = full?._ === 'channelFull' ? full.pts : undefined;
    if (typeof pts !== 'number' || !Number.isInteger(pts) || pts < 0) {
      this.failed(slot, 'REQUEST_FAILED', 'channels.getFullChannel answered no channel pts');
      return;
    }
    const table = this.table;
    table.pts[slot] = pts;
    table.committed[slot] = pts;
    table.flags[slot] &= ~F_NO_PTS;
    this.finished(slot, undefined);
  }

  remove(slot: number, logEmpty: boolean): void {
    this.held?.delete(slot);
    this.pages?.delete(slot);
    this.retry?.delete(slot);
    this.watched?.delete(slot);
    this.table.remove(slot);
    if (logEmpty) this.table.recycle();
  }

  watch(channelId: bigint, watching: boolean): void {
    const slot = this.table.slotOf(Number(channelId));
    if (slot < 0) return;
    this.watched ??= new Map();
    if (watching) this.watched.set(slot, Number.POSITIVE_INFINITY);
    else this.watched.delete(slot);
  }

  // --- requests and time ------------------------------------------------------------------

  /** Makes the channel requests that are due, at most `maxChannelRequests` in flight. */
  pump(request: ChannelRequester, isBot: boolean, limit: number | undefined): void {
    const table = this.table;
    const queue = this.queue;
    const later: number[] = [];
    while (this.inFlight < this.host.budgets.maxChannelRequests && this.queueHead < queue.length) {
      const slot = queue[this.queueHead++];
      if (!table.live(slot) || !(table.flags[slot] & F_QUEUED)) continue;
      const retry = this.retry?.get(slot);
      if (retry && retry.at > this.host.now) {
        later.push(slot);
        continue;
      }
      table.flags[slot] &= ~F_QUEUED;
      if (!(table.flags[slot] & F_HAS_HASH)) {
        if (!(table.flags[slot] & F_UNRESOLVED)) {
          table.flags[slot] |= F_UNRESOLVED;
          this.host.error(
            'CHANNEL_UNRESOLVED',
            'no access hash known: its difference waits for one',
            this.box(slot),
          );
        }
        continue;
      }
      const channel = {
        _: 'inputChannel' as const,
        channelId: this.box(slot),
        accessHash: table.hashes[slot],
      };
      // STALE is cleared as the request goes: set again while it runs, it means "once more".
      table.flags[slot] = (table.flags[slot] & ~F_STALE) | F_FETCHING;
      this.inFlight++;
      if (table.flags[slot] & F_NO_PTS) {
        request('channels.getFullChannel', { channel }, slot);
        continue;
      }
      this.host.stats.channelDifferences++;
      const max = limit ?? (isBot ? CHANNEL_LIMIT_BOT : CHANNEL_LIMIT_USER);
      request(
        'updates.getChannelDifference',
        {
          channel,
          filter: { _: 'channelMessagesFilterEmpty' },
          pts: table.pts[slot],
          limit: Math.min(max, 100_000),
        },
        slot,
      );
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > queue.length) {
      this.queue = queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    for (const slot of later) this.queue.push(slot);
  }

  /** Updates held now. */
  heldCount(): number {
    let n = 0;
    if (this.held) for (const q of this.held.values()) n += q.size;
    return n;
  }

  tick(now: number): void {
    if (this.held) {
      for (const [slot, q] of this.held) {
        if (q.deadline <= now) {
          q.deadline = Number.POSITIVE_INFINITY;
          this.markStale(slot);
        }
      }
    }
    if (this.watched) for (const [slot, at] of this.watched) if (at <= now) this.markStale(slot);
  }

  deadline(requests: boolean): number {
    let at = Number.POSITIVE_INFINITY;
    if (this.held) for (const q of this.held.values()) if (q.deadline < at) at = q.deadline;
    if (this.watched) for (const t of this.watched.values()) if (t < at) at = t;
    if (requests && this.retry) for (const r of this.retry.values()) if (r.at < at) at = r.at;
    return at;
  }

  commit(slot: number, position: number): void {
    if (this.table.live(slot)) this.table.committed[slot] = position;
  }

  /** The committed pts and access hash of every channel whose pts is known. */
  committedState(): PersistedUpdatesState['channels'] {
    const t = this.table;
    const out: PersistedUpdatesState['channels'] = {};
    for (const slot of t.slots()) {
      if (t.flags[slot] & F_NO_PTS) continue;
      const c: PersistedUpdatesState['channels'][string] = { pts: t.committed[slot] };
      if (t.flags[slot] & F_HAS_HASH) c.accessHash = String(t.hashes[slot]);
      if (t.committed[slot] < t.pts[slot] || t.flags[slot] & (F_STALE | F_QUEUED | F_FETCHING))
        c.behind = true;
      out[String(t.ids[slot])] = c;
    }
    return out;
  }

  /** A channel's applied pts (undefined: no box, or not known yet). */
  pts(channelId: bigint): number | undefined {
    const slot = this.table.slotOf(Number(channelId));
    return slot < 0 || this.table.flags[slot] & F_NO_PTS ? undefined : this.table.pts[slot];
  }
}
