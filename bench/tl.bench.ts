// TL serialization and parsing: messages.sendMessage and an `updates` holding
// 20 messages with entities and media, beside @mtcute/tl's binary writer and
// reader (same layer, 223) and GramJS (its own layer, 198) in the same run.

import { fromMtcute, mtcute, toGram, toMtcute } from '../__test__/tl-support';
import { TL } from '../dist';
import { type Measured, opsPerSecond, report } from './harness';

/* eslint-disable @typescript-eslint/no-require-imports */
const { BinaryReader } = require('telegram/extensions') as {
  BinaryReader: new (b: Buffer) => { tgReadObject(): unknown };
};

export const sendMessage: TL.Objects['messages.sendMessage'] = {
  _: 'messages.sendMessage',
  noWebpage: true,
  peer: { _: 'inputPeerChannel', channelId: 1234567890n, accessHash: -7034398519512648517n },
  message: 'Hello from telegram-mt! Check https://example.com, it has *bold* and _italic_ text.',
  randomId: 0x1234567890abcdefn,
  entities: [
    { _: 'messageEntityUrl', offset: 30, length: 19 },
    { _: 'messageEntityBold', offset: 58, length: 6 },
    { _: 'messageEntityItalic', offset: 69, length: 8 },
  ],
};

function message(i: number): TL.Objects['message'] {
  return {
    _: 'message',
    out: i % 3 === 0,
    id: 100000 + i,
    fromId: { _: 'peerUser', userId: 777000n + BigInt(i % 5) },
    peerId: { _: 'peerChannel', channelId: 1234567890n },
    date: 1700000000 + i * 17,
    message: `Message number ${i}: see https://t.me/example and @someone, ${'lorem ipsum '.repeat(i % 4)}ok`,
    media: {
      _: 'messageMediaPhoto',
      photo: {
        _: 'photo',
        id: 5000000000000000000n + BigInt(i),
        accessHash: -1234567890123456789n,
        fileReference: Buffer.alloc(29, i),
        date: 1699999999,
        sizes: [
          { _: 'photoStrippedSize', type: 'i', bytes: Buffer.alloc(40, 7) },
          { _: 'photoSize', type: 'm', w: 320, h: 240, size: 14211 },
          { _: 'photoSizeProgressive', type: 'y', w: 1280, h: 960, sizes: [10234, 30512, 60100, 89211] },
        ],
        dcId: 2,
      },
    },
    entities: [
      { _: 'messageEntityUrl', offset: 23, length: 20 },
      { _: 'messageEntityMention', offset: 48, length: 8 },
      { _: 'messageEntityBold', offset: 0, length: 7 },
    ],
    views: 1000 + i,
    forwards: i,
    editDate: 1700000500,
  };
}

function user(i: number): TL.Objects['user'] {
  return {
    _: 'user',
    id: 777000n + BigInt(i),
    accessHash: 0x0102030405060708n * BigInt(i + 1),
    firstName: `User ${i}`,
    lastName: 'Example',
    username: `user_${i}`,
    status: { _: 'userStatusRecently', byMe: false },
  };
}

export const updates: TL.Objects['updates'] = {
  _: 'updates',
  updates: Array.from({ length: 20 }, (_, i) => ({
    _: 'updateNewChannelMessage' as const,
    message: message(i),
    pts: 5000 + i,
    ptsCount: 1,
  })),
  users: Array.from({ length: 5 }, (_, i) => user(i)),
  chats: [
    {
      _: 'channel',
      megagroup: true,
      id: 1234567890n,
      accessHash: -7034398519512648517n,
      title: 'Example group',
      username: 'example_group',
      photo: { _: 'chatPhotoEmpty' },
      date: 1600000000,
    },
  ],
  date: 1700001000,
  seq: 0,
};

/**
 * The best of three rounds for each candidate, the rounds interleaved, so that
 * a burst of load on a shared machine does not decide a ratio.
 */
function bestOf(candidates: [string, () => void][]): Measured[] {
  const best = new Map(candidates.map(([name]) => [name, 0]));
  for (let round = 0; round < 3; round++) {
    for (const [name, fn] of candidates) best.set(name, Math.max(best.get(name)!, opsPerSecond(fn, 300)));
  }
  return candidates.map(([name]) => ({ name, opsPerSec: best.get(name)! }));
}

function measure(
  title: string,
  obj: TL.TlObject,
  opts: { mtcuteRead: boolean },
): { write: Measured[]; read: Measured[] } {
  const ours = TL.serialize(obj);
  const mtObj = toMtcute(obj as unknown as Record<string, unknown>);
  const mtBytes = mtcute().serialize(mtObj);
  if (!Buffer.from(mtBytes).equals(ours)) throw new Error(`${title}: mtcute's bytes differ from ours`);
  const gram = toGram(obj as unknown as Record<string, unknown>) as { getBytes(): Buffer };
  const gramBytes = gram.getBytes();
  // Parse check: each library decodes its own bytes.
  TL.deserialize(ours);
  if (opts.mtcuteRead) fromMtcute(mtcute().deserialize(mtBytes));
  new BinaryReader(gramBytes).tgReadObject();

  let sink: unknown;
  const writers: [string, () => void][] = [
    ['telegram-mt TL.serialize', () => (sink = TL.serialize(obj))],
    ['@mtcute/tl writer', () => (sink = mtcute().serialize(mtObj))],
    ['GramJS getBytes', () => (sink = gram.getBytes())],
  ];
  const readers: [string, () => void][] = [
    ['telegram-mt TL.deserialize', () => (sink = TL.deserialize(ours))],
  ];
  if (opts.mtcuteRead) readers.push(['@mtcute/tl reader', () => (sink = mtcute().deserialize(mtBytes))]);
  readers.push(['GramJS tgReadObject', () => (sink = new BinaryReader(gramBytes).tgReadObject())]);
  const write = bestOf(writers);
  const read = bestOf(readers);
  void sink;
  return { write, read };
}

export async function run(): Promise<void> {
  const a = measure('messages.sendMessage', sendMessage, { mtcuteRead: false });
  const size1 = TL.serialize(sendMessage).length;
  report(`serialize messages.sendMessage (${size1} bytes)`, a.write, '@mtcute/tl writer');
  report(`parse messages.sendMessage (@mtcute/tl has no readers for methods)`, a.read, 'GramJS tgReadObject');
  const b = measure('updates', updates, { mtcuteRead: true });
  const size2 = TL.serialize(updates).length;
  report(`serialize updates with 20 messages (${size2} bytes)`, b.write, '@mtcute/tl writer');
  report('parse updates with 20 messages', b.read, '@mtcute/tl reader');
}

if (require.main === module) run();
