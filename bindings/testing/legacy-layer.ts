// Answers for clients of another layer. Telegram serves each client in the layer it
// declared (invokeWithLayer); TestDc's schema is layer 223. Of what TestDc sends, only
// `user`, `message` and `channel` changed constructor between the layers its peer clients
// speak (GramJS 2.26: 198; Telethon 1.45: 229), and with the fields TestDc sets (no flags2
// field, flags bits at the same places in all three) their bytes are laid out alike: the
// other layer's form is the same bytes under that layer's constructor.

import * as TL from '../tl';

const VECTOR = 0x1cb5c415;
const USER = 0x31774388;
const MESSAGE = 0x3ae56482;
const CHANNEL = 0x1c32b11c;

/** Constructor ids of layer 223 -> those of the client's layer (undefined: same as ours). */
export function renamesFor(layer: number | undefined): ReadonlyMap<number, number> | undefined {
  if (layer === undefined) return undefined;
  if (layer <= 198)
    return new Map([
      [USER, 0x4b46c37e],
      [MESSAGE, 0x96fdbbe9],
      [CHANNEL, 0xe00998b7],
    ]);
  if (layer >= 229)
    return new Map([
      [USER, 0xb1b8cc83],
      [MESSAGE, 0x7600b9d3],
      [CHANNEL, 0xd49f34c6],
    ]);
  return undefined;
}

/** `obj` serialized for a client whose constructors are `renames` (user, message, channel). */
export function leafBytes(obj: TL.TlObject, renames: ReadonlyMap<number, number> | undefined): Buffer {
  const b = TL.serialize(obj);
  const other = renames?.get(b.readUInt32LE(0));
  if (other === undefined) return b;
  // flags2 (after flags) must be 0: no field of the new flags2 layout is sent.
  if (b.readUInt32LE(8) !== 0) throw new Error(`${obj._} with flags2 fields has no form in another layer`);
  b.writeUInt32LE(other, 0);
  return b;
}

/** A Vector of already serialized items. */
export function vectorBytes(items: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(VECTOR, 0);
  head.writeUInt32LE(items.length, 4);
  return Buffer.concat([head, ...items]);
}

/** auth.authorization (with only `user` set) for the client's layer. */
export function authorizationFor(
  user: TL.Types['User'],
  layer: number | undefined,
): TL.Objects['auth.authorization'] | Buffer {
  const auth = { _: 'auth.authorization' as const, user };
  const renames = renamesFor(layer);
  if (!renames) return auth;
  const head = TL.serialize({ ...auth, user: { _: 'userEmpty', id: 0n } }).subarray(0, 8);
  return Buffer.concat([head, leafBytes(user, renames)]);
}

/** Vector<User> for the client's layer. */
export function usersFor(users: TL.Types['User'][], layer: number | undefined): TL.Types['User'][] | Buffer {
  const renames = renamesFor(layer);
  if (!renames) return users;
  return vectorBytes(users.map((u) => leafBytes(u, renames)));
}
