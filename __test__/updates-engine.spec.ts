// The update engine's rules one by one (core.telegram.org/api/updates), and hostile
// servers: huge pts jumps, endless slices, malformed differences, unknown channels, a
// consumer that does not read. No socket: the engine is sans-IO.

import test from 'ava';
import type { TL } from '../bindings';
import {
  type DeliveredUpdate,
  type EngineOutput,
  type EngineRequest,
  UpdateEngine,
  type UpdateEngineOptions,
  type UpdateError,
  type UpdateGap,
  UpdateStateError,
} from '../bindings/updates';

const T0 = 1_700_000_000_000;
const CH = 2_000_000_000_001n;
const HASH = -42n;

function message(id: number, peer: TL.Types['Peer'] = { _: 'peerUser', userId: 7n }): TL.Objects['message'] {
  return { _: 'message', id, peerId: peer, date: 1000, message: `m${id}` };
}
const newMessage = (pts: number, count = 1): TL.Objects['updateNewMessage'] => ({
  _: 'updateNewMessage',
  message: message(pts),
  pts,
  ptsCount: count,
});
const channelMessage = (pts: number, channelId = CH): TL.Objects['updateNewChannelMessage'] => ({
  _: 'updateNewChannelMessage',
  message: message(pts, { _: 'peerChannel', channelId }),
  pts,
  ptsCount: 1,
});
const channelChat = (id = CH, accessHash: bigint | undefined = HASH): TL.Objects['channel'] => ({
  _: 'channel',
  id,
  accessHash,
  title: 't',
  photo: { _: 'chatPhotoEmpty' },
  date: 1,
});
const box = (
  updates: TL.Types['Update'][],
  seq = 0,
  chats: TL.Types['Chat'][] = [],
): TL.Objects['updates'] => ({
  _: 'updates',
  updates,
  users: [],
  chats,
  date: 1000,
  seq,
});
const state = (pts: number, qts = 0, seq = 0, date = 1000): TL.Objects['updates.state'] => ({
  _: 'updates.state',
  pts,
  qts,
  date,
  seq,
  unreadCount: 0,
});
const emptyDifference = (seq = 0): TL.Objects['updates.differenceEmpty'] => ({
  _: 'updates.differenceEmpty',
  date: 1001,
  seq,
});

/** An engine and everything it said, acknowledging what it delivers unless told not to. */
class Harness {
  readonly engine: UpdateEngine;
  now = T0;
  readonly out: EngineOutput[] = [];
  autoAck = true;

  constructor(options: UpdateEngineOptions = {}) {
    this.engine = new UpdateEngine(options);
  }

  /** Starts from a stored state (pts 10, qts 5, seq 3) and answers the first difference empty. */
  static ready(
    options: UpdateEngineOptions = {},
    channels: Record<string, { pts: number; accessHash?: string }> = {},
  ): Harness {
    const h = new Harness({ state: { v: 1, pts: 10, qts: 5, seq: 3, date: 1000, channels }, ...options });
    h.engine.start(h.now);
    h.collect();
    const r = h.requests().at(-1)!;
    h.answer(r, emptyDifference(3));
    h.out.length = 0;
    return h;
  }

  collect(): readonly EngineOutput[] {
    const o = this.engine.takeOutputs();
    for (const x of o)
      if (this.autoAck && (x.kind === 'update' || x.kind === 'gap')) this.engine.acknowledge(x.token);
    this.out.push(...o);
    return o;
  }
  push(u: TL.Types['Updates']): readonly EngineOutput[] {
    this.engine.push(u, this.now);
    return this.collect();
  }
  answer(r: EngineRequest, result: unknown): readonly EngineOutput[] {
    this.engine.answer(r.id, result, this.now);
    return this.collect();
  }
  fail(r: EngineRequest, message: string): readonly EngineOutput[] {
    this.engine.fail(r.id, { message }, this.now);
    return this.collect();
  }
  advance(ms: number): readonly EngineOutput[] {
    this.now += ms;
    this.engine.tick(this.now);
    return this.collect();
  }
  delivered(): DeliveredUpdate[] {
    return this.out.filter((o): o is DeliveredUpdate => o.kind === 'update');
  }
  requests(): EngineRequest[] {
    return this.out.filter((o): o is EngineRequest => o.kind === 'request');
  }
  errors(): UpdateError[] {
    return this.out.filter((o): o is UpdateError => o.kind === 'error');
  }
  gaps(): UpdateGap[] {
    return this.out.filter((o): o is UpdateGap => o.kind === 'gap');
  }
  /** Message ids delivered, in order. */
  ids(): number[] {
    return this.delivered().map((d) => {
      const u = d.update;
      return u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage' ? u.message.id : -1;
    });
  }
}

// --- start -----------------------------------------------------------------------------

test('first start: updates.getState; pushes before its answer are held, old ones dropped', (t) => {
  const h = new Harness();
  h.engine.start(h.now);
  t.deepEqual(
    h.collect().map((o) => (o.kind === 'request' ? o.method : o.kind)),
    ['updates.getState'],
  );
  t.is(h.engine.committedState(), undefined);
  h.push(box([newMessage(5)]));
  h.push(box([newMessage(7)]));
  t.is(h.delivered().length, 0);
  h.answer(h.requests()[0], state(6));
  t.deepEqual(h.ids(), [7], 'pts 5 predates the state; 7 follows it');
  t.like(h.engine.committedState(), { pts: 7, qts: 0 });
});

test('a stored state starts with getDifference from it', (t) => {
  const h = new Harness({ state: { v: 1, pts: 10, qts: 5, seq: 3, date: 999, channels: {} } });
  h.engine.start(h.now);
  const [r] = h.collect() as EngineRequest[];
  t.is(r.method, 'updates.getDifference');
  t.deepEqual(r.params, { pts: 10, qts: 5, date: 999 });
});

// --- the pts, qts and seq rules ----------------------------------------------------------

test('pts: next applied, applied dropped, early held until the gap fills', (t) => {
  const h = Harness.ready();
  h.push(box([newMessage(11)]));
  h.push(box([newMessage(11)]));
  h.push(box([newMessage(13)]));
  t.deepEqual(h.ids(), [11]);
  t.is(h.engine.stats.duplicates, 1);
  h.push(box([newMessage(12)]));
  t.deepEqual(h.ids(), [11, 12, 13]);
  t.deepEqual(
    h.delivered().map((d) => [d.box, d.pts, d.ptsCount]),
    [
      ['common', 11, 1],
      ['common', 12, 1],
      ['common', 13, 1],
    ],
  );
  h.advance(1000);
  t.is(h.requests().length, 0, 'the gap filled: no difference');
});

test('pts: a gap that does not fill within 0.5 s fetches one difference, then the held update is checked again', (t) => {
  const h = Harness.ready();
  h.push(box([newMessage(13)]));
  h.advance(499);
  t.is(h.requests().length, 0);
  t.is(h.engine.nextDeadline(), T0 + 500);
  h.advance(1);
  const [r] = h.requests();
  t.like(r, { method: 'updates.getDifference', params: { pts: 10, qts: 5 } });
  h.push(box([newMessage(14)]));
  t.is(h.delivered().length, 0, 'held while the difference runs');
  h.answer(r, {
    _: 'updates.difference',
    newMessages: [message(11), message(12)],
    newEncryptedMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
    state: state(12, 5, 3),
  });
  t.deepEqual(h.ids(), [11, 12, 13, 14]);
  t.deepEqual(
    h.delivered().map((d) => [d.source, d.pts]),
    [
      ['difference', 11],
      ['difference', 12],
      ['push', 13],
      ['push', 14],
    ],
  );
  t.is(h.requests().length, 1);
});

test('updates held while a difference runs get their own wait after it', (t) => {
  const h = Harness.ready();
  h.engine.resync(h.now);
  const [r] = h.collect() as EngineRequest[];
  h.push(box([newMessage(20)]));
  h.answer(r, emptyDifference(3));
  t.is(h.delivered().length, 0);
  t.is(h.engine.nextDeadline(), h.now + 500, 'the early update waits 0.5 s, then a difference');
  h.advance(500);
  t.is(h.requests().length, 2);
});

test('qts: updateBotStopped in order; qts 0 is not checked', (t) => {
  const h = Harness.ready();
  const stopped = (qts: number): TL.Objects['updateBotStopped'] => ({
    _: 'updateBotStopped',
    userId: 1n,
    date: 1,
    stopped: true,
    qts,
  });
  h.push(box([stopped(6)]));
  h.push(box([stopped(6)]));
  h.push(box([stopped(8)]));
  h.push(box([stopped(0)]));
  h.push(box([stopped(7)]));
  t.deepEqual(
    h.delivered().map((d) => (d.update as TL.Objects['updateBotStopped']).qts),
    [6, 0, 7, 8],
  );
  t.like(h.engine.committedState(), { qts: 8 });
});

test('seq: seq 0 is not checked; a container seen before is ignored whole; seq_start of updatesCombined', (t) => {
  const h = Harness.ready();
  const typing: TL.Objects['updateUserTyping'] = {
    _: 'updateUserTyping',
    userId: 1n,
    action: { _: 'sendMessageTypingAction' },
  };
  h.push(box([typing], 4));
  h.push(box([typing], 4));
  h.push(box([typing], 0));
  t.is(h.delivered().length, 2);
  t.is(h.delivered()[0].seq, 4);
  h.push({
    _: 'updatesCombined',
    updates: [newMessage(11), newMessage(12)],
    users: [],
    chats: [],
    date: 1,
    seqStart: 5,
    seq: 6,
  });
  t.deepEqual(h.ids().slice(2), [11, 12]);
  h.push(box([typing], 8));
  h.advance(500);
  t.like(h.requests(), [{ method: 'updates.getDifference' }], 'a seq gap fetches a difference');
  t.like(h.engine.committedState(), { seq: 6 });
});

test('a container whose seq was applied by a difference still gives its channel updates to their box', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.engine.resync(h.now);
  const [r] = h.collect() as EngineRequest[];
  const typing: TL.Objects['updateUserTyping'] = {
    _: 'updateUserTyping',
    userId: 1n,
    action: { _: 'sendMessageTypingAction' },
  };
  h.push(box([typing, channelMessage(6)], 4));
  t.is(h.delivered().length, 0, 'held while the difference runs');
  h.answer(r, emptyDifference(4));
  t.deepEqual(
    h.delivered().map((d) => d.update._),
    ['updateNewChannelMessage'],
    'the typing update of a container seen before goes',
  );
  t.is(h.engine.channelPts(CH), 6);
});

test('short forms: updateShortMessage and updateShortChatMessage become updateNewMessage; updateShort its update', (t) => {
  const h = Harness.ready({ selfId: 99n });
  h.push({
    _: 'updateShortMessage',
    out: true,
    id: 5,
    userId: 7n,
    message: 'hi',
    pts: 11,
    ptsCount: 1,
    date: 50,
  });
  h.push({
    _: 'updateShortChatMessage',
    id: 6,
    fromId: 8n,
    chatId: 3n,
    message: 'yo',
    pts: 12,
    ptsCount: 1,
    date: 51,
  });
  h.push({ _: 'updateShort', update: newMessage(13), date: 52 });
  const [a, b, c] = h.delivered();
  t.like(a, {
    update: {
      _: 'updateNewMessage',
      pts: 11,
      message: { id: 5, out: true, message: 'hi', peerId: { userId: 7n }, fromId: { userId: 99n } },
    },
    date: 50,
  });
  t.like(b, {
    update: { message: { id: 6, peerId: { _: 'peerChat', chatId: 3n }, fromId: { userId: 8n } } },
    date: 51,
  });
  t.like(c, { update: { pts: 13 }, date: 52 });
});

test('RPC results: updateShortSentMessage takes its chat from the request; affectedMessages moves pts silently', (t) => {
  const h = Harness.ready();
  h.engine.rpcResult(
    { peer: { _: 'inputPeerUser', userId: 7n, accessHash: 1n }, message: 'sent', randomId: 1n },
    { _: 'updateShortSentMessage', out: true, id: 30, pts: 11, ptsCount: 1, date: 60 },
    h.now,
  );
  h.collect();
  t.like(h.delivered()[0], {
    source: 'result',
    update: { message: { id: 30, message: 'sent', peerId: { userId: 7n } } },
  });
  h.engine.rpcResult({ id: [1, 2] }, { _: 'messages.affectedMessages', pts: 13, ptsCount: 2 }, h.now);
  h.push(box([newMessage(14)]));
  t.deepEqual(h.ids(), [30, 14], 'no gap: the deletion took pts 12..13');
  h.advance(1000);
  t.is(h.requests().length, 0);
  t.like(h.engine.committedState(), { pts: 14 });
  // A channel's affectedMessages (channels.deleteMessages) moves that channel's pts.
  h.engine.setChannel(CH, { pts: 3, accessHash: HASH }, h.now);
  h.engine.rpcResult(
    { channel: { _: 'inputChannel', channelId: CH, accessHash: HASH }, id: [1] },
    { _: 'messages.affectedMessages', pts: 4, ptsCount: 1 },
    h.now,
  );
  t.is(h.engine.channelPts(CH), 4);
});

// --- differences -----------------------------------------------------------------------

test('differenceSlice is continued until the difference is whole; positions fill the free pts', (t) => {
  const h = Harness.ready();
  h.engine.resync(h.now);
  const [r1] = h.collect() as EngineRequest[];
  const edit: TL.Objects['updateEditMessage'] = {
    _: 'updateEditMessage',
    message: message(3),
    pts: 12,
    ptsCount: 1,
  };
  h.answer(r1, {
    _: 'updates.differenceSlice',
    newMessages: [message(11), message(13)],
    newEncryptedMessages: [],
    otherUpdates: [edit],
    chats: [],
    users: [],
    intermediateState: state(13, 5, 3),
  });
  const r2 = h.requests()[1];
  t.like(r2.params, { pts: 13 });
  h.answer(r2, {
    _: 'updates.difference',
    newMessages: [message(14)],
    newEncryptedMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
    state: state(14, 5, 3),
  });
  t.deepEqual(
    h.delivered().map((d) => [d.update._, d.pts]),
    [
      ['updateNewMessage', 11],
      ['updateEditMessage', 12],
      ['updateNewMessage', 13],
      ['updateNewMessage', 14],
    ],
  );
  t.is(h.requests().length, 2);
  t.like(h.engine.committedState(), { pts: 14 });
});

test('differenceTooLong resets pts, reports the gap, and fetches on from there', (t) => {
  const h = Harness.ready();
  h.push(box([newMessage(500)]));
  h.advance(500);
  h.answer(h.requests()[0], { _: 'updates.differenceTooLong', pts: 480 });
  t.like(h.gaps(), [{ box: 'common', fromPts: 10, toPts: 480 }]);
  const r2 = h.requests()[1];
  t.like(r2.params, { pts: 480 });
  h.answer(r2, {
    _: 'updates.difference',
    newMessages: Array.from({ length: 19 }, (_, i) => message(481 + i)),
    newEncryptedMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
    state: state(499, 5, 3),
  });
  t.is(h.ids().at(-1), 500, 'the held update follows the difference');
  t.is(h.ids().length, 20);
});

// --- channels ---------------------------------------------------------------------------

test('a channel without a known pts takes its first update; a gap fetches getChannelDifference (user limit 100)', (t) => {
  const h = Harness.ready();
  h.push(box([channelMessage(7)], 0, [channelChat()]));
  h.push(box([channelMessage(9)], 0, [channelChat()]));
  t.deepEqual(h.ids(), [7]);
  t.is(h.delivered()[0].box, CH);
  h.advance(500);
  const [r] = h.requests();
  t.like(r, {
    method: 'updates.getChannelDifference',
    params: {
      channel: { channelId: CH, accessHash: HASH },
      pts: 7,
      limit: 100,
      filter: { _: 'channelMessagesFilterEmpty' },
    },
  });
  h.answer(r, {
    _: 'updates.channelDifference',
    final: true,
    pts: 8,
    newMessages: [message(8, { _: 'peerChannel', channelId: CH })],
    otherUpdates: [],
    chats: [],
    users: [],
  });
  t.deepEqual(h.ids(), [7, 8, 9]);
  t.like(h.engine.committedState()!.channels, { [String(CH)]: { pts: 9, accessHash: String(HASH) } });
});

test('bots ask channel differences with the bot limit; `final` absent means another page', (t) => {
  const h = Harness.ready({ isBot: true }, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }]));
  const [r1] = h.requests();
  t.like(r1.params, { pts: 5, limit: 1000 });
  h.answer(r1, {
    _: 'updates.channelDifference',
    pts: 6,
    newMessages: [message(6, { _: 'peerChannel', channelId: CH })],
    otherUpdates: [],
    chats: [],
    users: [],
  });
  const r2 = h.requests()[1];
  t.like(r2.params, { pts: 6 });
  h.answer(r2, { _: 'updates.channelDifferenceEmpty', final: true, pts: 6 });
  t.is(h.requests().length, 2);
  t.deepEqual(h.ids(), [6]);
});

test('updateChannelTooLong naming a pts the box already has asks nothing', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH, pts: 5 }]));
  t.is(h.requests().length, 0);
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH, pts: 6 }]));
  t.is(h.requests().length, 1);
});

test('channelDifferenceTooLong resets the channel and reports the gap with its latest messages', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }]));
  const latest = [message(900, { _: 'peerChannel', channelId: CH })];
  h.answer(h.requests()[0], {
    _: 'updates.channelDifferenceTooLong',
    final: true,
    dialog: {
      _: 'dialog',
      peer: { _: 'peerChannel', channelId: CH },
      topMessage: 900,
      readInboxMaxId: 0,
      readOutboxMaxId: 0,
      unreadCount: 0,
      unreadMentionsCount: 0,
      unreadReactionsCount: 0,
      notifySettings: { _: 'peerNotifySettings' },
      pts: 950,
    },
    messages: latest,
    chats: [],
    users: [],
  });
  t.like(h.gaps(), [{ box: CH, fromPts: 5, toPts: 950, messages: latest }]);
  t.is(h.engine.channelPts(CH), 950);
  h.push(box([channelMessage(951)]));
  t.deepEqual(h.ids(), [951]);
});

test('a watched channel is polled again after the `timeout` of its difference', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.engine.watchChannel(CH, true);
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }]));
  h.answer(h.requests()[0], { _: 'updates.channelDifferenceEmpty', final: true, pts: 5, timeout: 30 });
  h.advance(29_000);
  t.is(h.requests().length, 1);
  h.advance(1000);
  t.is(h.requests().length, 2);
});

test('a channel named without any pts gets its current pts from channels.getFullChannel', (t) => {
  const h = Harness.ready();
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }], 0, [channelChat()]));
  const [r] = h.requests();
  t.like(r, { method: 'channels.getFullChannel', params: { channel: { channelId: CH, accessHash: HASH } } });
  h.push(box([channelMessage(41)], 0, [channelChat()]));
  h.answer(r, { _: 'messages.chatFull', fullChat: { _: 'channelFull', pts: 40 }, chats: [], users: [] });
  t.deepEqual(h.ids(), [41]);
  t.like(h.engine.committedState()!.channels, { [String(CH)]: { pts: 41 } });
});

// --- hostile input -------------------------------------------------------------------------

test('a pts jump of 10^9 holds one update and asks one difference', (t) => {
  const h = Harness.ready();
  h.push(box([newMessage(1_000_000_010)]));
  h.advance(500);
  h.advance(500);
  h.advance(10_000);
  t.is(h.requests().length, 1);
  t.is(h.engine.stats.held, 1);
  t.is(h.delivered().length, 0);
});

test('a flood of early updates stays within the held budget and fetches a difference at once', (t) => {
  const h = Harness.ready({ budgets: { maxHeldPerBox: 50 } });
  for (let i = 0; i < 10_000; i++) h.push(box([newMessage(20 + i * 2)]));
  t.is(h.requests().length, 1, 'the overflow asks a difference without waiting');
  t.true(h.engine.heldCount <= 50);
  t.true(h.engine.stats.overflowed >= 10_000 - 50);
});

test('differenceSlice forever is cut off after maxDifferencePages with the state at the last slice', (t) => {
  const h = Harness.ready({ budgets: { maxDifferencePages: 5 }, retryMaxMs: 60_000 });
  h.engine.resync(h.now);
  h.collect();
  let pts = 10;
  for (let i = 0; i < 10; i++) {
    const r = h.requests().at(-1)!;
    if ((r.params as { pts: number }).pts !== pts) break;
    pts++;
    h.answer(r, {
      _: 'updates.differenceSlice',
      newMessages: [message(pts)],
      newEncryptedMessages: [],
      otherUpdates: [],
      chats: [],
      users: [],
      intermediateState: state(pts, 5, 3),
    });
  }
  t.is(h.requests().length, 5);
  t.like(h.errors(), [{ code: 'DIFFERENCE_PAGE_LIMIT', box: 'common' }]);
  t.like(h.engine.appliedState(), { pts: 15 });
  t.like(h.engine.committedState(), { pts: 15 });
  t.deepEqual(h.ids(), [11, 12, 13, 14, 15]);
  h.push(box([newMessage(30)]));
  h.advance(10_000);
  t.is(h.requests().length, 5, 'nothing asked until the pause ends');
  h.advance(60_000);
  t.is(h.requests().length, 6);
});

test('a slice that does not advance stops the run (DIFFERENCE_NO_PROGRESS)', (t) => {
  const h = Harness.ready();
  h.engine.resync(h.now);
  const [r] = h.collect() as EngineRequest[];
  h.answer(r, {
    _: 'updates.differenceSlice',
    newMessages: [],
    newEncryptedMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
    intermediateState: state(10, 5, 3),
  });
  t.like(h.errors(), [{ code: 'DIFFERENCE_NO_PROGRESS' }]);
  t.is(h.requests().length, 1);
});

for (const [name, answer] of [
  [
    'a state going back',
    {
      _: 'updates.difference',
      newMessages: [],
      newEncryptedMessages: [],
      otherUpdates: [],
      chats: [],
      users: [],
      state: state(9, 5),
    },
  ],
  [
    'no state',
    {
      _: 'updates.difference',
      newMessages: [message(11)],
      newEncryptedMessages: [],
      otherUpdates: [],
      chats: [],
      users: [],
    },
  ],
  [
    'messages not a list',
    {
      _: 'updates.differenceSlice',
      newMessages: 7,
      newEncryptedMessages: [],
      otherUpdates: [],
      chats: [],
      users: [],
      intermediateState: state(11, 5),
    },
  ],
  [
    'a junk update',
    {
      _: 'updates.difference',
      newMessages: [],
      newEncryptedMessages: [],
      otherUpdates: [null],
      chats: [],
      users: [],
      state: state(11, 5),
    },
  ],
  ['a negative pts', { _: 'updates.differenceTooLong', pts: -3 }],
  ['another type', { _: 'updates.state', pts: 11, qts: 5, seq: 1, date: 1, unreadCount: 0 }],
  ['not an object', 'difference'],
] as const) {
  test(`a malformed difference (${name}) is a typed error and leaves the state unchanged`, (t) => {
    const h = Harness.ready();
    h.push(box([newMessage(11)]));
    const before = [h.engine.appliedState(), h.engine.committedState()];
    h.engine.resync(h.now);
    const [r] = h.collect() as EngineRequest[];
    h.answer(r, answer);
    t.like(h.errors(), [{ code: 'MALFORMED_DIFFERENCE', box: 'common' }]);
    t.deepEqual([h.engine.appliedState(), h.engine.committedState()], before);
    t.is(h.delivered().length, 1);
    h.advance(1000);
    t.is(h.requests().length, 2, 'asked again after the backoff');
  });
}

test('a malformed channel difference is a typed error for that channel alone', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }]));
  h.answer(h.requests()[0], {
    _: 'updates.channelDifference',
    final: true,
    pts: 3,
    newMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
  });
  t.like(h.errors(), [{ code: 'MALFORMED_DIFFERENCE', box: CH }]);
  t.is(h.engine.channelPts(CH), 5);
  h.push(box([newMessage(11)]));
  t.deepEqual(h.ids(), [11]);
});

test('a channel without an access hash waits (CHANNEL_UNRESOLVED); the other boxes go on', (t) => {
  const h = Harness.ready();
  const other = CH + 1n;
  h.push(box([channelMessage(3)]));
  h.push(box([channelMessage(5)]));
  h.push(box([channelMessage(1, other)], 0, [channelChat(other)]));
  h.advance(500);
  t.like(h.errors(), [{ code: 'CHANNEL_UNRESOLVED', box: CH }]);
  h.push(box([newMessage(11), channelMessage(2, other)]));
  t.deepEqual(h.ids(), [3, 1, 11, 2]);
  t.is(h.requests().length, 0);
  h.push(box([], 0, [channelChat()]));
  t.like(h.requests(), [
    { method: 'updates.getChannelDifference', params: { pts: 3, channel: { channelId: CH } } },
  ]);
});

test('CHANNEL_PRIVATE drops the channel box (CHANNEL_CLOSED)', (t) => {
  const h = Harness.ready({}, { [String(CH)]: { pts: 5, accessHash: String(HASH) } });
  h.push(box([{ _: 'updateChannelTooLong', channelId: CH }]));
  h.fail(h.requests()[0], 'CHANNEL_PRIVATE');
  t.like(h.errors(), [{ code: 'CHANNEL_CLOSED', box: CH }]);
  t.is(h.engine.channelCount, 0);
  t.deepEqual(h.engine.committedState()!.channels, {});
});

test('FLOOD_WAIT on getDifference waits its seconds before asking again', (t) => {
  const h = Harness.ready();
  h.engine.resync(h.now);
  h.collect();
  h.fail(h.requests()[0], 'FLOOD_WAIT_7');
  t.like(h.errors(), [{ code: 'REQUEST_FAILED' }]);
  t.is(h.engine.nextDeadline(), h.now + 7000);
  h.advance(6999);
  t.is(h.requests().length, 1);
  h.advance(1);
  t.is(h.requests().length, 2);
});

// --- back-pressure, acknowledgements, persistence ------------------------------------------

test('while the consumer is behind no difference is asked; it is once it caught up', (t) => {
  const h = Harness.ready();
  h.engine.setConsumerBehind(true, h.now);
  h.push(box([newMessage(13)]));
  h.push({ _: 'updatesTooLong' });
  h.advance(60_000);
  t.is(h.requests().length, 0);
  h.engine.setConsumerBehind(false, h.now);
  h.collect();
  t.is(h.requests().length, 1);
});

test('unacknowledged updates are bounded: past the budget pushes wait, and come once acknowledged', (t) => {
  const h = Harness.ready({ budgets: { maxUnacknowledged: 5, maxHeldPerBox: 8 } });
  h.autoAck = false;
  for (let i = 11; i <= 30; i++) h.push(box([newMessage(i)]));
  t.is(h.delivered().length, 5);
  t.is(h.engine.unacknowledged, 5);
  t.true(h.engine.stats.overflowed > 0, 'what the held budget cannot keep is let go');
  t.is(h.requests().length, 0, 'and no difference while the consumer is behind');
  h.engine.acknowledge(h.delivered().at(-1)!.token);
  h.collect();
  t.is(h.requests().length, 1, 'caught up: the difference brings what was let go');
  t.like(h.engine.committedState(), { pts: 15 });
});

test('committed state: only acknowledged positions; a restart from it fetches the rest', (t) => {
  const h = Harness.ready();
  h.autoAck = false;
  h.push(box([newMessage(11), newMessage(12), newMessage(13)]));
  const [a, b] = h.delivered();
  h.engine.acknowledge(a.token);
  t.like(h.engine.committedState(), { pts: 11 });
  h.engine.acknowledge(b.token);
  const stored = JSON.parse(JSON.stringify(h.engine.committedState()));
  t.like(stored, { pts: 12, qts: 5, seq: 3 });
  const again = new UpdateEngine({ state: stored });
  again.start(h.now);
  t.like(again.takeOutputs(), [{ kind: 'request', method: 'updates.getDifference', params: { pts: 12 } }]);
});

test('idle for 15 minutes, a reconnect or a new session fetches a difference', (t) => {
  const h = Harness.ready();
  h.advance(15 * 60_000 - 1);
  t.is(h.requests().length, 0);
  h.advance(1);
  t.is(h.requests().length, 1);
  h.answer(h.requests()[0], emptyDifference(3));
  h.engine.connectionRestored(h.now);
  h.collect();
  t.is(h.requests().length, 2);
  h.engine.sessionCreated(h.now);
  h.collect();
  t.is(h.requests().length, 2, 'one difference at a time');
  h.answer(h.requests()[1], emptyDifference(3));
  t.is(h.requests().length, 3, 'the new session asks again once the running one ended');
});

test('a stored state that is not one is a typed error', (t) => {
  for (const bad of [
    'x',
    { v: 2, pts: 1, qts: 0, seq: 0, date: 0, channels: {} },
    { v: 1, pts: -1, qts: 0, seq: 0, date: 0, channels: {} },
    { v: 1, pts: 1, qts: 0, seq: 0, date: 0, channels: { abc: { pts: 1 } } },
    {
      v: 1,
      pts: 1,
      qts: 0,
      seq: 0,
      date: 0,
      channels: { '5': { pts: 1, accessHash: '99999999999999999999' } },
    },
    { v: 1, pts: 1, qts: 0, seq: 0, date: 0, channels: { '5': { pts: 1, behind: 'yes' } } },
    { v: 1, pts: 1, qts: 0, seq: 0, date: 0 },
  ]) {
    const e = t.throws(() => new UpdateEngine({ state: bad }), { instanceOf: UpdateStateError });
    t.is((e as UpdateStateError).code, 'BAD_UPDATES_STATE');
  }
});
