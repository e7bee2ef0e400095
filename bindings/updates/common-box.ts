// The common box (core.telegram.org/api/updates): the account's pts, qts and seq, the date
// sent with getDifference, the updates held while a gap may fill or a difference runs, and
// the state of its difference runs (due, in flight, pages, retries).

import type * as TL from '../tl';
import { type BoxHost, type Context, type Item, NO_ENTITIES } from './box-host';
import { BOX_DATE, BOX_PTS, BOX_QTS, BOX_SEQ } from './delivery-log';
import { HeldQueue } from './held';
import type { PersistedUpdatesState } from './persisted';
import type { UpdateErrorCode, UpdateSource } from './types';

type Container = TL.Objects['updates'] | TL.Objects['updatesCombined'];

export interface CommonState {
  pts: number;
  qts: number;
  seq: number;
  date: number;
}

export class CommonBox {
  /** Whether the state is known (stored, or updates.getState answered). */
  ready = false;
  pts = 0;
  qts = 0;
  seq = 0;
  /**
   * The date of the last state the server gave (getState, a difference), not of pushes:
   * getDifference sends it, and the server names the channels touched since, so a channel
   * whose last pushes were lost is still caught up.
   */
  date = 0;
  readonly committed: CommonState = { pts: 0, qts: 0, seq: 0, date: 0 };
  /** A difference (or getState) is due. */
  stale = false;
  /** Id of the request in flight (0: none). */
  fetch = 0;
  /** Something was let go or missed while the request ran: fetch again when it ends. */
  private refetch = false;
  private pages = 0;
  private failures = 0;
  retryAt = 0;
  lastActivity = 0;
  private ptsHeld: HeldQueue<Item> | null = null;
  private qtsHeld: HeldQueue<Item> | null = null;
  private seqHeld: HeldQueue<{ c: Container; source: UpdateSource }> | null = null;

  constructor(private readonly host: BoxHost) {}

  restore(s: PersistedUpdatesState): void {
    this.ready = true;
    this.pts = s.pts;
    this.qts = s.qts;
    this.seq = s.seq;
    this.date = s.date;
    Object.assign(this.committed, { pts: s.pts, qts: s.qts, seq: s.seq, date: s.date });
  }

  /** Updates must wait: no state yet, or a difference due or running. */
  private waiting(): boolean {
    return !this.ready || this.fetch !== 0 || this.stale;
  }

  // --- updates and containers ----------------------------------------------------

  /** updates / updatesCombined: the seq rule (api/updates: seq 0 means no check), then each update. */
  onContainer(c: Container, source: UpdateSource): void {
    const host = this.host;
    host.learnHashes(c.chats);
    if (c.seq === 0) {
      const ctx: Context = { users: c.users, chats: c.chats, date: c.date, seq: 0, source };
      for (const u of c.updates) host.offer(u, ctx);
      return;
    }
    const start = (c._ === 'updatesCombined' ? c.seqStart : c.seq) - 1;
    if (this.waiting()) this.holdSeq(start, c, source, false);
    else if (start < this.seq) this.seen(c, source);
    else if (start > this.seq) this.holdSeq(start, c, source, true);
    else {
      this.applyContainer(c, source);
      this.drainSeq();
    }
  }

  private applyContainer(c: Container, source: UpdateSource): void {
    this.seq = c.seq;
    const ctx: Context = { users: c.users, chats: c.chats, date: c.date, seq: c.seq, source };
    for (const u of c.updates) this.host.offer(u, ctx);
    this.host.silent(BOX_SEQ, c.seq);
  }

  /**
   * A container whose seq was applied already (api/updates: ignored). Its updates without
   * pts or qts go; those with one are still offered to their box, whose own rule drops
   * them if applied: a channel's update held in it while a difference ran (which only
   * covered the common box) is not lost that way.
   */
  private seen(c: Container, source: UpdateSource): void {
    this.host.stats.duplicates++;
    const ctx: Context = { users: c.users, chats: c.chats, date: c.date, seq: c.seq, source };
    for (const u of c.updates) this.host.offer(u, ctx, true);
  }

  private holdSeq(start: number, c: Container, source: UpdateSource, gap: boolean): void {
    this.seqHeld ??= new HeldQueue();
    if (!this.seqHeld.insert(start, c.seq, { c, source }, this.host.budgets.maxHeldPerBox))
      this.overflow(this.seqHeld);
    else this.held(this.seqHeld, gap);
  }

  private drainSeq(): void {
    const q = this.seqHeld;
    if (!q || this.waiting()) return;
    let progressed = false;
    while (q.size > 0 && q.items[0].start <= this.seq) {
      const head = q.items.shift()!;
      if (head.start < this.seq) this.seen(head.value.c, head.value.source);
      else {
        this.applyContainer(head.value.c, head.value.source);
        progressed = true;
      }
    }
    this.afterDrain(q, progressed);
    if (q.size === 0) this.seqHeld = null;
  }

  /** A pts (box BOX_PTS) or qts (BOX_QTS) update: the pts / pts_count rule of api/updates. */
  offer(box: number, start: number, end: number, update: TL.Types['Update'] | undefined, ctx: Context): void {
    const local = box === BOX_PTS ? this.pts : this.qts;
    if (this.waiting()) this.hold(box, start, end, { update, ctx }, false);
    else if (start < local) this.host.stats.duplicates++;
    else if (start > local || !this.host.canDeliver())
      this.hold(box, start, end, { update, ctx }, start > local);
    else {
      this.apply(box, start, end, update, ctx);
      this.drain(box);
    }
  }

  private apply(
    box: number,
    start: number,
    end: number,
    update: TL.Types['Update'] | undefined,
    ctx: Context,
  ): void {
    const host = this.host;
    if (box === BOX_PTS) this.pts = end;
    else this.qts = end;
    if (!update) host.silent(box, end);
    else if (box === BOX_PTS) host.emit(update, 'common', box, end, end, end - start, undefined, ctx);
    else host.emit(update, 'common', box, end, undefined, undefined, end, ctx);
  }

  private queue(box: number): HeldQueue<Item> {
    if (box === BOX_PTS) {
      this.ptsHeld ??= new HeldQueue();
      return this.ptsHeld;
    }
    this.qtsHeld ??= new HeldQueue();
    return this.qtsHeld;
  }

  private hold(box: number, start: number, end: number, item: Item, gap: boolean): void {
    const q = this.queue(box);
    if (!q.insert(start, end, item, this.host.budgets.maxHeldPerBox)) this.overflow(q);
    else this.held(q, gap);
  }

  private held(q: HeldQueue<unknown>, gap: boolean): void {
    this.host.stats.held++;
    if (gap && q.deadline === Number.POSITIVE_INFINITY) q.deadline = this.host.now + this.host.gapWaitMs;
  }

  /** A held queue is full: its updates go, and a difference brings them again. */
  private overflow(q: HeldQueue<unknown>): void {
    this.host.stats.overflowed += q.size + 1;
    q.clear();
    this.markStale();
  }

  private drain(box: number): void {
    const q = box === BOX_PTS ? this.ptsHeld : this.qtsHeld;
    if (!q || this.waiting()) return;
    let progressed = false;
    for (;;) {
      const local = box === BOX_PTS ? this.pts : this.qts;
      const head = q.items[0];
      if (!head || head.start > local) break;
      if (head.start < local) {
        q.items.shift();
        this.host.stats.duplicates++;
        continue;
      }
      if (!this.host.canDeliver()) break;
      q.items.shift();
      this.apply(box, head.start, head.end, head.value.update, head.value.ctx);
      progressed = true;
    }
    this.afterDrain(q, progressed);
    if (q.size > 0) return;
    if (box === BOX_PTS) this.ptsHeld = null;
    else this.qtsHeld = null;
  }

  private afterDrain(q: HeldQueue<unknown>, progressed: boolean): void {
    if (q.size === 0) q.deadline = Number.POSITIVE_INFINITY;
    // Progress shows the gap is filling: the rest get the full wait again. Updates held
    // while a difference ran start their wait now.
    else if (progressed || q.deadline === Number.POSITIVE_INFINITY)
      q.deadline = this.host.now + this.host.gapWaitMs;
  }

  /** Delivers what waited (after a difference, or when the consumer made room). */
  drainAll(): void {
    this.drainSeq();
    this.drain(BOX_PTS);
    this.drain(BOX_QTS);
  }

  // --- difference runs -------------------------------------------------------------

  markStale(): void {
    if (this.fetch !== 0) this.refetch = true;
    else this.stale = true;
  }

  /** A new run from now on: pages and the retry delay start over. */
  resync(): void {
    this.pages = 0;
    this.retryAt = 0;
    this.markStale();
  }

  /** The request due now, if any (the caller sends it and sets `fetch`). */
  due(now: number): 'updates.getState' | 'updates.getDifference' | undefined {
    if (!this.stale || this.fetch !== 0 || now < this.retryAt) return undefined;
    this.stale = false;
    return this.ready ? 'updates.getDifference' : 'updates.getState';
  }

  onState(result: unknown): void {
    const s = result as TL.Objects['updates.state'] | null;
    const ok =
      s !== null &&
      typeof s === 'object' &&
      s._ === 'updates.state' &&
      [s.pts, s.qts, s.seq, s.date].every((n) => Number.isInteger(n) && n >= 0);
    if (!ok) {
      this.failed('REQUEST_FAILED', 'updates.getState answered something else than a state');
      return;
    }
    this.ready = true;
    this.setState(s);
    this.done();
  }

  /** Adopts a state the server gave; committed once what was delivered before it is. */
  setState(s: CommonState): void {
    const host = this.host;
    this.pts = s.pts;
    this.qts = s.qts;
    this.seq = s.seq;
    this.date = s.date;
    host.silent(BOX_PTS, s.pts);
    host.silent(BOX_QTS, s.qts);
    host.silent(BOX_SEQ, s.seq);
    host.silent(BOX_DATE, s.date);
  }

  /** differenceTooLong: pts jumps; the application is told what it missed. */
  jump(pts: number): void {
    const from = this.pts;
    this.pts = pts;
    this.host.stats.gaps++;
    const token = this.host.marked(BOX_PTS, pts);
    this.host.output({
      kind: 'gap',
      box: 'common',
      fromPts: from,
      toPts: pts,
      messages: NO_ENTITIES,
      users: NO_ENTITIES,
      chats: NO_ENTITIES,
      token,
    });
  }

  /** A run ended: updates held meanwhile are checked again. */
  done(): void {
    this.pages = 0;
    this.failures = 0;
    if (this.refetch) {
      this.refetch = false;
      this.stale = true;
      return;
    }
    this.drainAll();
  }

  /** Another page (differenceSlice, after a TooLong); past the budget the run is cut off. */
  nextPage(): void {
    if (++this.pages < this.host.budgets.maxDifferencePages) {
      this.stale = true;
      return;
    }
    this.stopped(
      'DIFFERENCE_PAGE_LIMIT',
      `${this.pages} difference pages in a row: stopped at pts ${this.pts}, qts ${this.qts}`,
    );
  }

  failed(code: UpdateErrorCode, message: string, waitMs?: number): void {
    this.host.error(code, message, 'common');
    this.failures++;
    this.stale = true;
    this.retryAt = this.host.now + (waitMs ?? this.host.backoff(this.failures));
  }

  /**
   * The run stops at the last good point (page budget, no progress): nothing is asked
   * again for the longest retry delay, whatever held updates want, unless `resync()` (a
   * reconnect...) says so.
   */
  stopped(code: UpdateErrorCode, message: string): void {
    this.host.error(code, message, 'common');
    this.pages = 0;
    this.refetch = false;
    this.stale = true;
    this.retryAt = this.host.now + this.host.retryMaxMs;
  }

  /** Updates held now. */
  heldCount(): number {
    return (this.ptsHeld?.size ?? 0) + (this.qtsHeld?.size ?? 0) + (this.seqHeld?.size ?? 0);
  }

  // --- time ---------------------------------------------------------------------------

  tick(now: number, idleMs: number): void {
    for (const q of [this.ptsHeld, this.qtsHeld, this.seqHeld]) {
      if (q && q.deadline <= now) {
        q.deadline = Number.POSITIVE_INFINITY;
        this.markStale();
      }
    }
    if (this.ready && now - this.lastActivity >= idleMs) {
      // api/updates: nothing for ~15 minutes: the connection may have missed some.
      this.lastActivity = now;
      this.markStale();
    }
  }

  /** The earliest deadline of this box (`requests`: whether a retry counts). */
  deadline(idleMs: number, requests: boolean): number {
    let at = Number.POSITIVE_INFINITY;
    for (const q of [this.ptsHeld, this.qtsHeld, this.seqHeld]) if (q && q.deadline < at) at = q.deadline;
    if (requests && this.stale && this.fetch === 0 && this.retryAt < at) at = this.retryAt;
    if (this.ready && this.lastActivity + idleMs < at) at = this.lastActivity + idleMs;
    return at;
  }

  commit(box: number, position: number): void {
    if (box === BOX_PTS) this.committed.pts = position;
    else if (box === BOX_QTS) this.committed.qts = position;
    else if (box === BOX_SEQ) this.committed.seq = position;
    else if (box === BOX_DATE) this.committed.date = position;
  }
}
