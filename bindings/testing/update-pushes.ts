// How a TestDc pushes logged events (update-log.ts), sans-IO: the Updates shapes Telegram
// uses (core.telegram.org/api/updates: updateShortMessage, updateShortChatMessage,
// updateShort, updates, updatesCombined, with seq where the common box's containers carry
// one), and the faults that make a client recover: pushes dropped, duplicated, reordered,
// replaced by updatesTooLong.

import type * as TL from '../tl';
import type { AccountUpdates, LoggedEvent, TestChannel } from './update-log';

export type PushShape = 'short' | 'updateShort' | 'updates' | 'combined';

/** The Updates carrying one event of an account's common box, in `shape`. */
export function commonPush(a: AccountUpdates, e: LoggedEvent, shape: PushShape): TL.Types['Updates'] {
  const u = e.update;
  if (shape === 'short' && u._ === 'updateNewMessage' && u.message._ === 'message') {
    const m = u.message;
    const base = { id: m.id, message: m.message, pts: u.pts, ptsCount: u.ptsCount, date: m.date, out: m.out };
    if (m.peerId._ === 'peerChat') {
      const from = m.fromId?._ === 'peerUser' ? m.fromId.userId : a.userId;
      return { _: 'updateShortChatMessage', ...base, fromId: from, chatId: m.peerId.chatId };
    }
    if (m.peerId._ === 'peerUser') return { _: 'updateShortMessage', ...base, userId: m.peerId.userId };
  }
  if (shape === 'updateShort') return { _: 'updateShort', update: u, date: e.date };
  return { _: 'updates', updates: [u], users: [], chats: [], date: e.date, seq: ++a.seq };
}

/** Several events of one account in one updatesCombined (seq_start..seq: one seq each). */
export function combinedPush(a: AccountUpdates, events: LoggedEvent[]): TL.Objects['updatesCombined'] {
  const seqStart = a.seq + 1;
  a.seq += events.length;
  return {
    _: 'updatesCombined',
    updates: events.map((e) => e.update),
    users: [],
    chats: [],
    date: events.at(-1)!.date,
    seqStart,
    seq: a.seq,
  };
}

/** A channel event as its members get it (seq 0: channels are ordered by their own pts). */
export function channelPush(c: TestChannel, e: LoggedEvent): TL.Objects['updates'] {
  return { _: 'updates', updates: [e.update], users: [], chats: [c.chat()], date: e.date, seq: 0 };
}

/** Faults applied to pushes (shares in 0..1; all off by default). */
export interface PushFaults {
  /** Share of pushes never sent. */
  drop: number;
  /** Share of pushes sent twice. */
  duplicate: number;
  /** Pushes held and sent in a shuffled batch of this size (0/1: in order). */
  reorderWindow: number;
  /** Share of pushes replaced by updatesTooLong. */
  tooLong: number;
  /** Seed of the fault choices (a run can be replayed). */
  seed: number;
}

export const NO_PUSH_FAULTS: PushFaults = { drop: 0, duplicate: 0, reorderWindow: 0, tooLong: 0, seed: 1 };

/** Counters of what the faults did. */
export interface PushStats {
  pushed: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  tooLong: number;
}

/** mulberry32: a small seeded generator (fault choices must be replayable, not secret). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The push path with faults: `offer` each push; what is due goes to `send` (now, or when
 * the reorder window fills, or on `flush`).
 */
export class FaultyPusher<T> {
  faults: PushFaults = { ...NO_PUSH_FAULTS };
  readonly stats: PushStats = { pushed: 0, dropped: 0, duplicated: 0, reordered: 0, tooLong: 0 };
  private random = seededRandom(NO_PUSH_FAULTS.seed);
  private held: Array<{ target: T; updates: TL.Types['Updates'] }> = [];

  constructor(private readonly send: (target: T, updates: TL.Types['Updates']) => void) {}

  setFaults(f: Partial<PushFaults>): void {
    this.flush();
    this.faults = { ...NO_PUSH_FAULTS, ...f };
    this.random = seededRandom(this.faults.seed);
  }

  offer(target: T, updates: TL.Types['Updates']): void {
    const f = this.faults;
    this.stats.pushed++;
    if (f.drop > 0 && this.random() < f.drop) {
      this.stats.dropped++;
      return;
    }
    let u = updates;
    if (f.tooLong > 0 && this.random() < f.tooLong) {
      this.stats.tooLong++;
      u = { _: 'updatesTooLong' };
    }
    const copies = f.duplicate > 0 && this.random() < f.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (f.reorderWindow > 1) {
        this.held.push({ target, updates: u });
        if (this.held.length >= f.reorderWindow) this.flush();
      } else {
        this.send(target, u);
      }
    }
  }

  /** Sends every held push, shuffled. */
  flush(): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    for (let i = held.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      if (j !== i) this.stats.reordered++;
      [held[i], held[j]] = [held[j], held[i]];
    }
    for (const h of held) this.send(h.target, h.updates);
  }
}
