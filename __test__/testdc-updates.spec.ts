// TestDc's update log and push path without sockets: what getDifference and
// getChannelDifference answer (slices, TooLong thresholds, channel errors), the shapes and
// seq of pushes, the push faults, and the layer-198 forms read back by GramJS's own reader.

import test from 'ava';
import { Api } from 'telegram';
import { BinaryReader } from 'telegram/extensions';
import type { TL } from '../bindings';
import {
  channelDifferenceForLayer,
  differenceForLayer,
  updatesForLayer,
} from '../bindings/testing/legacy-updates';
import { UpdateLog } from '../bindings/testing/update-log';
import { channelPush, combinedPush, commonPush, FaultyPusher } from '../bindings/testing/update-pushes';

const U = 5n;

function log(o: { sliceSize?: number; tooLongAfter?: number; keep?: number } = {}) {
  let now = 1_700_000_000_000;
  const l = new UpdateLog({ now: () => now, ...o });
  return { l, advance: (ms: number) => (now += ms) };
}

test('getDifference: slices past sliceSize keep the client date; the last page names the channels touched since', (t) => {
  const { l, advance } = log({ sliceSize: 3 });
  const date = l.state(U).date;
  const c = l.addChannel({ members: [U] });
  const other = l.addChannel({ members: [9n] });
  for (let i = 0; i < 5; i++) l.newMessage(U, { text: `m${i}` });
  l.botStopped(U, 1n, true);
  advance(5000);
  l.newChannelMessage(c, { text: 'x' });
  l.newChannelMessage(other, { text: 'y' });
  const first = l.difference(U, { pts: 1, qts: 0, date })!;
  t.like(first, { _: 'updates.differenceSlice', intermediateState: { pts: 4, qts: 1, date } });
  t.deepEqual(
    (first as TL.Objects['updates.differenceSlice']).newMessages.map((m) => m.id),
    [1, 2, 3],
  );
  t.like((first as TL.Objects['updates.differenceSlice']).otherUpdates, [{ _: 'updateBotStopped', qts: 1 }]);
  const last = l.difference(U, { pts: 4, qts: 1, date })! as TL.Objects['updates.difference'];
  t.is(last._, 'updates.difference');
  t.deepEqual(
    last.newMessages.map((m) => m.id),
    [4, 5],
  );
  t.like(
    last.otherUpdates,
    [{ _: 'updateChannelTooLong', channelId: c.id, pts: 2 }],
    'not the channel the user is not in',
  );
  t.like(last.chats, [{ _: 'channel', id: c.id, accessHash: c.accessHash }]);
  t.like(last.state, { pts: 6, qts: 1, seq: 0 });
  // Asked again at that date, the channel is named again with the pts the client has (it then asks
  // nothing); asked from a later state's date, nothing is left.
  advance(1000);
  const again = l.difference(U, {
    pts: 6,
    qts: 1,
    date: last.state.date,
  }) as TL.Objects['updates.difference'];
  t.like(again.otherUpdates, [{ _: 'updateChannelTooLong', pts: 2 }]);
  t.like(l.difference(U, { pts: 6, qts: 1, date: again.state.date }), { _: 'updates.differenceEmpty' });
  t.is(l.difference(U, { pts: 7, qts: 1, date }), undefined, 'a state ahead of the server');
});

test('getDifference: differenceTooLong past tooLongAfter, past pts_total_limit, and before the oldest kept event', (t) => {
  const { l } = log({ tooLongAfter: 10, keep: 20 });
  for (let i = 0; i < 12; i++) l.newMessage(U, { text: 'm' });
  t.like(l.difference(U, { pts: 1, qts: 0, date: 0 }), { _: 'updates.differenceTooLong', pts: 13 });
  t.like(l.difference(U, { pts: 3, qts: 0, date: 0 }), { _: 'updates.difference' });
  t.like(l.difference(U, { pts: 3, qts: 0, date: 0, ptsTotalLimit: 5 }), { _: 'updates.differenceTooLong' });
  for (let i = 0; i < 20; i++) l.newMessage(U, { text: 'm' });
  t.true(l.account(U).firstPts > 3, 'the oldest tenth was forgotten past `keep`');
  t.like(l.difference(U, { pts: 3 + 20, qts: 0, date: 0 }), { _: 'updates.difference' });
  const forgotten = l.account(U).firstPts - 1;
  t.like(l.difference(U, { pts: forgotten, qts: 0, date: 0 }), { _: 'updates.differenceTooLong' });
});

test('getChannelDifference: pages with `final` on the last, TooLong past the limit, errors', (t) => {
  const { l } = log({ sliceSize: 4 });
  const c = l.addChannel({ members: [U] });
  for (let i = 0; i < 10; i++) l.newChannelMessage(c, { text: `m${i}` });
  const channel = { _: 'inputChannel' as const, channelId: c.id, accessHash: c.accessHash };
  const filter = { _: 'channelMessagesFilterEmpty' as const };
  const ask = (pts: number, limit: number) => l.channelDifference(U, { channel, filter, pts, limit });
  const page = ask(1, 100) as TL.Objects['updates.channelDifference'];
  t.like(page, { _: 'updates.channelDifference', pts: 5, final: undefined, timeout: 30 });
  t.deepEqual(
    page.newMessages.map((m) => m.id),
    [1, 2, 3, 4],
  );
  t.like(ask(9, 100), { pts: 11, final: true });
  t.like(ask(11, 100), {
    _: 'updates.channelDifferenceEmpty',
    pts: 11,
  });
  const tooLong = ask(1, 5) as TL.Objects['updates.channelDifferenceTooLong'];
  t.like(tooLong, { _: 'updates.channelDifferenceTooLong', dialog: { pts: 11, topMessage: 10 } });
  t.is(tooLong.messages.length, 10);
  t.is(l.channelDifference(9n, { channel, filter, pts: 1, limit: 5 }), 'CHANNEL_PRIVATE');
  t.is(
    l.channelDifference(U, { channel: { ...channel, accessHash: 1n }, filter, pts: 1, limit: 5 }),
    'CHANNEL_INVALID',
  );
  t.is(ask(12, 5), 'PERSISTENT_TIMESTAMP_INVALID');
});

test('pushes: short forms, updateShort, updates with seq, updatesCombined with seq_start, channels with seq 0', (t) => {
  const { l } = log();
  const a = l.account(U);
  const e1 = l.newMessage(U, { text: 'a', peer: 7n }).event;
  t.like(commonPush(a, e1, 'short'), {
    _: 'updateShortMessage',
    userId: 7n,
    pts: 2,
    ptsCount: 1,
    message: 'a',
  });
  const e2 = l.newMessage(U, { text: 'b', chatId: 3n }).event;
  t.like(commonPush(a, e2, 'short'), { _: 'updateShortChatMessage', chatId: 3n, pts: 3 });
  t.like(commonPush(a, e2, 'updateShort'), { _: 'updateShort', update: { pts: 3 } });
  t.like(commonPush(a, e2, 'updates'), { _: 'updates', seq: 1 });
  const more = [l.newMessage(U, { text: 'c' }).event, l.newMessage(U, { text: 'd' }).event];
  t.like(combinedPush(a, more), { _: 'updatesCombined', seqStart: 2, seq: 3 });
  const c = l.addChannel({ members: [U] });
  t.like(channelPush(c, l.newChannelMessage(c, { text: 'e' }).event), { seq: 0, chats: [{ id: c.id }] });
});

test('push faults: the shares drawn, duplicates doubled, reordering a permutation, updatesTooLong instead', (t) => {
  const sent: TL.Types['Updates'][] = [];
  const p = new FaultyPusher<number>((_target, u) => sent.push(u));
  const push = (i: number): TL.Types['Updates'] => ({
    _: 'updateShort',
    update: { _: 'updateUserTyping', userId: BigInt(i), action: { _: 'sendMessageTypingAction' } },
    date: i,
  });
  p.setFaults({ drop: 0.2, duplicate: 0.1, tooLong: 0.05, reorderWindow: 8, seed: 3 });
  for (let i = 0; i < 10_000; i++) p.offer(0, push(i));
  p.flush();
  const s = p.stats;
  t.true(Math.abs(s.dropped / 10_000 - 0.2) < 0.02, `dropped ${s.dropped}`);
  t.true(Math.abs(s.duplicated / (10_000 - s.dropped) - 0.1) < 0.02);
  t.is(sent.length, 10_000 - s.dropped + s.duplicated);
  const tooLong = sent.filter((u) => u._ === 'updatesTooLong').length;
  t.true(
    s.tooLong > 0 && tooLong >= s.tooLong && tooLong <= 2 * s.tooLong,
    'replaced (and maybe duplicated)',
  );
  const dates = sent.flatMap((u) => (u._ === 'updateShort' ? [u.date] : []));
  t.true(
    dates.some((d, i) => i > 0 && d < dates[i - 1]),
    'some arrive out of order',
  );
  // The same seed makes the same run.
  const again: TL.Types['Updates'][] = [];
  const q = new FaultyPusher<number>((_t, u) => again.push(u));
  q.setFaults({ drop: 0.2, duplicate: 0.1, tooLong: 0.05, reorderWindow: 8, seed: 3 });
  for (let i = 0; i < 10_000; i++) q.offer(0, push(i));
  q.flush();
  t.deepEqual(
    again.map((u) => (u._ === 'updateShort' ? u.date : -1)),
    sent.map((u) => (u._ === 'updateShort' ? u.date : -1)),
  );
});

test('layer-198 forms of pushes and differences read back by GramJS as the same messages and channels', (t) => {
  const { l } = log({ sliceSize: 10 });
  const date = l.state(U).date;
  const c = l.addChannel({ members: [U] });
  const m = l.newMessage(U, { text: 'hello', peer: 7n }).event;
  const cm = l.newChannelMessage(c, { text: 'in channel', from: 7n }).event;
  const read = (b: TL.TlObject | Buffer) => {
    t.true(Buffer.isBuffer(b), 'written in the old layer');
    return new BinaryReader(b as Buffer).tgReadObject();
  };
  const push = read(updatesForLayer(channelPush(c, cm), 198)) as Api.Updates;
  t.true(push instanceof Api.Updates);
  const u = push.updates[0] as Api.UpdateNewChannelMessage;
  t.true(u instanceof Api.UpdateNewChannelMessage);
  t.like(u.message, { id: 1, message: 'in channel', date: cm.date });
  t.is((u.message as Api.Message).peerId.className, 'PeerChannel');
  t.is((push.chats[0] as Api.Channel).accessHash!.toString(), c.accessHash.toString());
  const short = read(
    updatesForLayer({ _: 'updateShort', update: m.update, date: m.date }, 198),
  ) as Api.UpdateShort;
  t.like((short.update as Api.UpdateNewMessage).message, { id: 1, message: 'hello' });
  const diff = read(
    differenceForLayer(l.difference(U, { pts: 1, qts: 0, date })!, 198),
  ) as Api.updates.Difference;
  t.true(diff instanceof Api.updates.Difference);
  t.like(diff.newMessages[0], { id: 1, message: 'hello' });
  t.is((diff.otherUpdates[0] as Api.UpdateChannelTooLong).pts, 2);
  t.like(diff.state, { pts: 2 });
  const channel = { _: 'inputChannel' as const, channelId: c.id, accessHash: c.accessHash };
  const cd = l.channelDifference(U, {
    channel,
    filter: { _: 'channelMessagesFilterEmpty' },
    pts: 1,
    limit: 100,
  });
  const cdOld = read(
    channelDifferenceForLayer(cd as TL.Types['updates.ChannelDifference'], 198),
  ) as Api.updates.ChannelDifference;
  t.like(cdOld, { pts: 2, final: true, timeout: 30 });
  t.like(cdOld.newMessages[0], { id: 1, message: 'in channel' });
  // And the current layer's bytes are untouched.
  t.like(updatesForLayer(channelPush(c, cm), 223), { _: 'updates' });
});
