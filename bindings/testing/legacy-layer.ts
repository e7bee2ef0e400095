// Answers for clients of an older layer. Telegram serves each client in the layer it
// declared (invokeWithLayer); TestDc's schema is the current one, and of what the login
// methods return only `user` changed since layer 198 (GramJS 2.26 speaks 198): user#4b46c37e
// there, user#31774388 now. The fields TestDc sets (flags.0..14, no flags2 field) are laid
// out alike in both, so the old form is the new bytes under the old constructor.

import * as TL from '../tl';

const USER_NOW = 0x31774388;
const USER_198 = 0x4b46c37e;
const VECTOR = 0x1cb5c415;
/** The newest layer whose `user` is user#4b46c37e. */
const LAST_LAYER_OF_USER_198 = 198;

function isOld(layer: number | undefined): boolean {
  return layer !== undefined && layer <= LAST_LAYER_OF_USER_198;
}

/** `user` serialized for `layer`. */
function userBytes(user: TL.Types['User'], layer: number | undefined): Buffer {
  const b = TL.serialize(user);
  if (isOld(layer) && b.readUInt32LE(0) === USER_NOW) {
    // flags2 (after flags) must be 0: no field of the new flags2 layout is sent.
    if (b.readUInt32LE(8) !== 0) throw new Error('user with flags2 fields has no layer-198 form');
    b.writeUInt32LE(USER_198, 0);
  }
  return b;
}

/** auth.authorization (with only `user` set) for the client's layer. */
export function authorizationFor(
  user: TL.Types['User'],
  layer: number | undefined,
): TL.Objects['auth.authorization'] | Buffer {
  const auth = { _: 'auth.authorization' as const, user };
  if (!isOld(layer)) return auth;
  const head = TL.serialize({ ...auth, user: { _: 'userEmpty', id: 0n } }).subarray(0, 8);
  return Buffer.concat([head, userBytes(user, layer)]);
}

/** Vector<User> for the client's layer. */
export function usersFor(users: TL.Types['User'][], layer: number | undefined): TL.Types['User'][] | Buffer {
  if (!isOld(layer)) return users;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(VECTOR, 0);
  head.writeUInt32LE(users.length, 4);
  return Buffer.concat([head, ...users.map((u) => userBytes(u, layer))]);
}
