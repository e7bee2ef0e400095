// Applying the answers of updates.getDifference and updates.getChannelDifference
// (core.telegram.org/api/updates "Recovering gaps"), once difference.ts found them sound:
// their updates are delivered in position order, then the box takes the answer's state.
// differenceSlice and a channelDifference without `final` continue with the next page
// (up to `maxDifferencePages`); the TooLong answers reset the box and report a gap.

import type * as TL from '../tl';
import type { BoxHost, Context } from './box-host';
import type { ChannelBoxes } from './channel-boxes';
import type { CommonBox } from './common-box';
import { BOX_PTS, BOX_QTS, CHANNEL_BASE } from './delivery-log';
import { channelDifferenceProblem, differenceProblem, orderBatch, type Positioned } from './difference';
import { classify, newSequenced, SEQ_CHANNEL, SEQ_PTS, SEQ_QTS } from './sequence';
import { messageUpdate } from './short-forms';

const scratch = newSequenced();

/** A getDifference answer. */
export function applyDifference(host: BoxHost, common: CommonBox, answer: unknown): void {
  const problem = differenceProblem(answer, common.pts, common.qts);
  if (problem) {
    common.failed('MALFORMED_DIFFERENCE', `malformed difference: ${problem}`);
    return;
  }
  const d = answer as TL.Types['updates.Difference'];
  switch (d._) {
    case 'updates.differenceEmpty':
      common.setState({ pts: common.pts, qts: common.qts, seq: d.seq, date: d.date });
      common.done();
      return;
    case 'updates.differenceTooLong':
      // api/updates: too much to fetch: the state jumps to `pts`; what lies between is
      // the application's to refetch (the gap), and the rest is fetched from there.
      common.jump(d.pts);
      common.nextPage();
      return;
    default:
      applyBatch(host, common, d);
  }
}

function applyBatch(
  host: BoxHost,
  common: CommonBox,
  d: TL.Objects['updates.difference'] | TL.Objects['updates.differenceSlice'],
): void {
  const slice = d._ === 'updates.differenceSlice';
  const state = slice ? d.intermediateState : d.state;
  if (slice && state.pts === common.pts && state.qts === common.qts) {
    common.stopped(
      'DIFFERENCE_NO_PROGRESS',
      `a differenceSlice did not move pts ${common.pts} or qts ${common.qts}`,
    );
    return;
  }
  host.learnHashes(d.chats);
  const ctx: Context = { users: d.users, chats: d.chats, date: state.date, seq: 0, source: 'difference' };
  const ptsItems: Positioned[] = [];
  const qtsItems: Positioned[] = [];
  const rest: TL.Types['Update'][] = [];
  for (const u of d.otherUpdates) {
    const kind = classify(u, scratch);
    if (kind === SEQ_PTS) ptsItems.push({ update: u, end: scratch.pts, count: scratch.count });
    else if (kind === SEQ_QTS) qtsItems.push({ update: u, end: scratch.qts, count: 1 });
    else rest.push(u);
  }
  const fromPts = common.pts;
  for (const o of orderBatch(fromPts, state.pts, ptsItems, d.newMessages, (m, end, n) =>
    messageUpdate(m, false, end, n),
  )) {
    const exact = o.end >= 0;
    host.emit(
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
  const fromQts = common.qts;
  const encrypted = (m: TL.Types['EncryptedMessage'], end: number): TL.Types['Update'] => ({
    _: 'updateNewEncryptedMessage',
    message: m,
    qts: end,
  });
  for (const o of orderBatch(fromQts, state.qts, qtsItems, d.newEncryptedMessages, encrypted)) {
    const exact = o.end >= 0;
    host.emit(
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
  for (const u of rest) host.offer(u, ctx);
  common.setState(state);
  if (slice) common.nextPage();
  else common.done();
}

/** A getChannelDifference answer for the channel in `slot`. */
export function applyChannelDifference(
  host: BoxHost,
  channels: ChannelBoxes,
  slot: number,
  answer: unknown,
): void {
  const table = channels.table;
  const local = table.pts[slot];
  const problem = channelDifferenceProblem(answer, local);
  if (problem) {
    channels.failed(slot, 'MALFORMED_DIFFERENCE', `malformed channel difference: ${problem}`);
    return;
  }
  const d = answer as TL.Types['updates.ChannelDifference'];
  const logBox = CHANNEL_BASE + slot;
  const channelId = channels.box(slot);
  switch (d._) {
    case 'updates.channelDifferenceEmpty':
      table.pts[slot] = d.pts;
      host.silent(logBox, d.pts);
      channels.finished(slot, d.timeout);
      return;
    case 'updates.channelDifferenceTooLong': {
      // api/updates: more than `limit` updates: the channel restarts from the dialog's pts;
      // the application refetches its history (the latest messages come with the gap).
      const to = (d.dialog as TL.Objects['dialog']).pts!;
      table.pts[slot] = to;
      channels.learnHashes(d.chats);
      host.stats.gaps++;
      const token = host.marked(logBox, to);
      host.output({
        kind: 'gap',
        box: channelId,
        fromPts: local,
        toPts: to,
        messages: d.messages,
        users: d.users,
        chats: d.chats,
        token,
      });
      channels.finished(slot, d.timeout);
      return;
    }
    case 'updates.channelDifference': {
      if (!d.final && d.pts === local && d.newMessages.length === 0 && d.otherUpdates.length === 0) {
        channels.stopped(slot, 'DIFFERENCE_NO_PROGRESS', `a channel difference did not move pts ${local}`);
        return;
      }
      channels.learnHashes(d.chats);
      const ctx: Context = { users: d.users, chats: d.chats, date: 0, seq: 0, source: 'difference' };
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
        host.emit(
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
      for (const u of rest) host.offer(u, ctx);
      table.pts[slot] = d.pts;
      host.silent(logBox, d.pts);
      // `final` absent: more to fetch from the new pts (api/updates).
      if (d.final) channels.finished(slot, d.timeout);
      else channels.nextPage(slot);
      return;
    }
  }
}
