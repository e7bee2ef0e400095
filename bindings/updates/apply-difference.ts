// Applying the answers of updates.getDifference and updates.getChannelDifference
// (core.telegram.org/api/updates "Recovering gaps"), once difference.ts found them sound:
// their updates are delivered in position order, then the box takes the answer's state.
// differenceSlice and a channelDifference without `final` continue with the next page
// (up to `maxDifferencePages`); the TooLong answers reset the box and report a gap.

import type * as TL from '../tl';
import type { ChannelTable } from './channel-table';
import { BOX_PTS, BOX_QTS, CHANNEL_BASE } from './delivery-log';
import { channelDifferenceProblem, differenceProblem, orderBatch, type Positioned } from './difference';
import type { Context } from './engine';
import { classify, newSequenced, SEQ_CHANNEL, SEQ_PTS, SEQ_QTS } from './sequence';
import { messageUpdate } from './short-forms';
import type { EngineOutput, UpdateBox, UpdateEngineStats, UpdateErrorCode, UpdateSource } from './types';

/** What applying a difference needs of the engine. */
export interface EngineCore {
  pts: number;
  qts: number;
  readonly stats: UpdateEngineStats;
  context(
    users: TL.Types['User'][],
    chats: TL.Types['Chat'][],
    date: number,
    seq: number,
    source: UpdateSource,
  ): Context;
  offer(u: TL.Types['Update'], ctx: Context): void;
  emit(
    update: TL.Types['Update'],
    box: UpdateBox,
    logBox: number,
    position: number,
    pts: number | undefined,
    ptsCount: number | undefined,
    qts: number | undefined,
    ctx: Context,
  ): void;
  silent(logBox: number, position: number): number;
  marked(logBox: number, position: number): number;
  pushOutput(o: EngineOutput): void;
  learnHashes(chats: readonly TL.Types['Chat'][]): void;
  setCommonState(s: { pts: number; qts: number; seq: number; date: number }): void;
  commonDone(): void;
  nextCommonPage(): boolean;
  commonFailed(message: string, waitMs?: number): void;
  commonStopped(code: UpdateErrorCode, message: string): void;
  channels(): ChannelTable;
  channelBox(slot: number): bigint;
  channelFinished(slot: number, timeoutSec: number | undefined): void;
  nextChannelPage(slot: number): boolean;
  channelStopped(slot: number, code: UpdateErrorCode, message: string): void;
  channelFailed(slot: number, message: string, waitMs?: number): void;
}

const scratch = newSequenced();
const NONE: never[] = [];

/** A getDifference answer. */
export function applyDifference(e: EngineCore, answer: unknown): void {
  const problem = differenceProblem(answer, e.pts, e.qts);
  if (problem) {
    e.commonFailed(`malformed difference: ${problem}`);
    return;
  }
  const d = answer as TL.Types['updates.Difference'];
  switch (d._) {
    case 'updates.differenceEmpty':
      e.setCommonState({ pts: e.pts, qts: e.qts, seq: d.seq, date: d.date });
      e.commonDone();
      return;
    case 'updates.differenceTooLong': {
      // api/updates: too much to fetch: the state jumps to `pts`; what lies between is
      // the application's to refetch (the gap), and the rest is fetched from there.
      const from = e.pts;
      e.pts = d.pts;
      e.stats.gaps++;
      const token = e.marked(BOX_PTS, d.pts);
      e.pushOutput({
        kind: 'gap',
        box: 'common',
        fromPts: from,
        toPts: d.pts,
        messages: NONE,
        users: NONE,
        chats: NONE,
        token,
      });
      e.nextCommonPage();
      return;
    }
    default:
      applyBatch(e, d);
  }
}

function applyBatch(
  e: EngineCore,
  d: TL.Objects['updates.difference'] | TL.Objects['updates.differenceSlice'],
): void {
  const slice = d._ === 'updates.differenceSlice';
  const state = slice ? d.intermediateState : d.state;
  if (slice && state.pts === e.pts && state.qts === e.qts) {
    e.commonStopped('DIFFERENCE_NO_PROGRESS', `a differenceSlice did not move pts ${e.pts} or qts ${e.qts}`);
    return;
  }
  e.learnHashes(d.chats);
  const ctx = e.context(d.users, d.chats, state.date, 0, 'difference');
  const ptsItems: Positioned[] = [];
  const qtsItems: Positioned[] = [];
  const rest: TL.Types['Update'][] = [];
  for (const u of d.otherUpdates) {
    const kind = classify(u, scratch);
    if (kind === SEQ_PTS) ptsItems.push({ update: u, end: scratch.pts, count: scratch.count });
    else if (kind === SEQ_QTS) qtsItems.push({ update: u, end: scratch.qts, count: 1 });
    else rest.push(u);
  }
  const fromPts = e.pts;
  for (const o of orderBatch(fromPts, state.pts, ptsItems, d.newMessages, (m, end, n) =>
    messageUpdate(m, false, end, n),
  )) {
    const exact = o.end >= 0;
    e.emit(
      o.update,
      'common',
      BOX_PTS,
      exact ? o.end : fromPts,
      exact ? o.end : undefined,
      exact ? o.count : undefined,
      undefined,
      ctx,
    );
  }
  const fromQts = e.qts;
  const encrypted = (m: TL.Types['EncryptedMessage'], end: number): TL.Types['Update'] => ({
    _: 'updateNewEncryptedMessage',
    message: m,
    qts: end,
  });
  for (const o of orderBatch(fromQts, state.qts, qtsItems, d.newEncryptedMessages, encrypted)) {
    const exact = o.end >= 0;
    e.emit(
      o.update,
      'common',
      BOX_QTS,
      exact ? o.end : fromQts,
      undefined,
      undefined,
      exact ? o.end : undefined,
      ctx,
    );
  }
  // Channel updates (updateChannelTooLong above all) and those without a sequence.
  for (const u of rest) e.offer(u, ctx);
  e.setCommonState(state);
  if (slice) e.nextCommonPage();
  else e.commonDone();
}

/** A getChannelDifference answer for the channel in `slot`. */
export function applyChannelDifference(e: EngineCore, slot: number, answer: unknown): void {
  const table = e.channels();
  const local = table.pts[slot];
  const problem = channelDifferenceProblem(answer, local);
  if (problem) {
    e.channelFailed(slot, `malformed channel difference: ${problem}`);
    return;
  }
  const d = answer as TL.Types['updates.ChannelDifference'];
  const logBox = CHANNEL_BASE + slot;
  const channelId = e.channelBox(slot);
  switch (d._) {
    case 'updates.channelDifferenceEmpty':
      table.pts[slot] = d.pts;
      e.silent(logBox, d.pts);
      e.channelFinished(slot, d.timeout);
      return;
    case 'updates.channelDifferenceTooLong': {
      // api/updates: more than `limit` updates: the channel restarts from the dialog's pts;
      // the application refetches its history (the latest messages come with the gap).
      const to = (d.dialog as TL.Objects['dialog']).pts!;
      table.pts[slot] = to;
      e.learnHashes(d.chats);
      e.stats.gaps++;
      const token = e.marked(logBox, to);
      e.pushOutput({
        kind: 'gap',
        box: channelId,
        fromPts: local,
        toPts: to,
        messages: d.messages,
        users: d.users,
        chats: d.chats,
        token,
      });
      e.channelFinished(slot, d.timeout);
      return;
    }
    case 'updates.channelDifference': {
      if (!d.final && d.pts === local && d.newMessages.length === 0 && d.otherUpdates.length === 0) {
        e.channelStopped(slot, 'DIFFERENCE_NO_PROGRESS', `a channel difference did not move pts ${local}`);
        return;
      }
      e.learnHashes(d.chats);
      const ctx = e.context(d.users, d.chats, 0, 0, 'difference');
      const own: Positioned[] = [];
      const rest: TL.Types['Update'][] = [];
      for (const u of d.otherUpdates) {
        if (classify(u, scratch) === SEQ_CHANNEL && scratch.channelId === channelId)
          own.push({ update: u, end: scratch.pts, count: scratch.count });
        else rest.push(u);
      }
      for (const o of orderBatch(local, d.pts, own, d.newMessages, (m, end, n) =>
        messageUpdate(m, true, end, n),
      )) {
        const exact = o.end >= 0;
        e.emit(
          o.update,
          channelId,
          logBox,
          exact ? o.end : local,
          exact ? o.end : undefined,
          exact ? o.count : undefined,
          undefined,
          ctx,
        );
      }
      for (const u of rest) e.offer(u, ctx);
      table.pts[slot] = d.pts;
      e.silent(logBox, d.pts);
      // `final` absent: more to fetch from the new pts (api/updates).
      if (d.final) e.channelFinished(slot, d.timeout);
      else e.nextChannelPage(slot);
      return;
    }
  }
}
