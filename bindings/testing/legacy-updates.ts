// Updates and differences for clients of another layer (GramJS on 198, Telethon on 229),
// as legacy-layer.ts does for `user`: of what the update log sends, `message` and
// `channel` are the objects whose constructor changed. The containers are written around
// them: each wrapper is serialized with its vectors empty, and the vectors (its last
// fields, or its first for a difference) are put in their place.

import * as TL from '../tl';
import { leafBytes, renamesFor, vectorBytes as vector } from './legacy-layer';

type Renames = ReadonlyMap<number, number>;

/** An Update: updateNew/EditMessage and their channel forms carry a message first. */
function update(u: TL.Types['Update'], renames: Renames): Buffer {
  if (
    u._ === 'updateNewMessage' ||
    u._ === 'updateNewChannelMessage' ||
    u._ === 'updateEditMessage' ||
    u._ === 'updateEditChannelMessage'
  ) {
    const all = TL.serialize(u);
    const message = TL.serialize(u.message);
    return Buffer.concat([
      all.subarray(0, 4),
      leafBytes(u.message, renames),
      all.subarray(4 + message.length),
    ]);
  }
  return TL.serialize(u);
}

const EMPTY_VECTOR_BYTES = 8;

/** Updates (pushes, RPC results) in the form a client of `layer` reads. */
export function updatesForLayer(
  u: TL.Types['Updates'],
  layer: number | undefined,
): TL.Types['Updates'] | Buffer {
  const renames = renamesFor(layer);
  if (!renames) return u;
  switch (u._) {
    case 'updates':
    case 'updatesCombined': {
      const bare = TL.serialize({ ...u, updates: [], users: [], chats: [] });
      return Buffer.concat([
        bare.subarray(0, 4),
        vector(u.updates.map((x) => update(x, renames))),
        vector(u.users.map((x) => leafBytes(x, renames))),
        vector(u.chats.map((x) => leafBytes(x, renames))),
        bare.subarray(4 + 3 * EMPTY_VECTOR_BYTES),
      ]);
    }
    case 'updateShort': {
      const all = TL.serialize(u);
      return Buffer.concat([all.subarray(0, 4), update(u.update, renames), all.subarray(all.length - 4)]);
    }
    default:
      return u;
  }
}

/** A getDifference answer for `layer`: its five vectors come first, the state last. */
export function differenceForLayer(
  d: TL.Types['updates.Difference'],
  layer: number | undefined,
): TL.Types['updates.Difference'] | Buffer {
  const renames = renamesFor(layer);
  if (!renames || (d._ !== 'updates.difference' && d._ !== 'updates.differenceSlice')) return d;
  const bare = TL.serialize({
    ...d,
    newMessages: [],
    newEncryptedMessages: [],
    otherUpdates: [],
    chats: [],
    users: [],
  });
  return Buffer.concat([
    bare.subarray(0, 4),
    vector(d.newMessages.map((x) => leafBytes(x, renames))),
    vector(d.newEncryptedMessages.map((x) => leafBytes(x, renames))),
    vector(d.otherUpdates.map((x) => update(x, renames))),
    vector(d.chats.map((x) => leafBytes(x, renames))),
    vector(d.users.map((x) => leafBytes(x, renames))),
    bare.subarray(4 + 5 * EMPTY_VECTOR_BYTES),
  ]);
}

/** A getChannelDifference answer for `layer`: its vectors are its last fields. */
export function channelDifferenceForLayer(
  d: TL.Types['updates.ChannelDifference'],
  layer: number | undefined,
): TL.Types['updates.ChannelDifference'] | Buffer {
  const renames = renamesFor(layer);
  if (!renames) return d;
  if (d._ === 'updates.channelDifference') {
    const bare = TL.serialize({ ...d, newMessages: [], otherUpdates: [], chats: [], users: [] });
    return Buffer.concat([
      bare.subarray(0, bare.length - 4 * EMPTY_VECTOR_BYTES),
      vector(d.newMessages.map((x) => leafBytes(x, renames))),
      vector(d.otherUpdates.map((x) => update(x, renames))),
      vector(d.chats.map((x) => leafBytes(x, renames))),
      vector(d.users.map((x) => leafBytes(x, renames))),
    ]);
  }
  if (d._ === 'updates.channelDifferenceTooLong') {
    const bare = TL.serialize({ ...d, messages: [], chats: [], users: [] });
    return Buffer.concat([
      bare.subarray(0, bare.length - 3 * EMPTY_VECTOR_BYTES),
      vector(d.messages.map((x) => leafBytes(x, renames))),
      vector(d.chats.map((x) => leafBytes(x, renames))),
      vector(d.users.map((x) => leafBytes(x, renames))),
    ]);
  }
  return d;
}
