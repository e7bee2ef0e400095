// Peers as the adapters keep them (issue #14): the marked id that keys them, the checks a
// peer passes before it is written, and a compact text form for the key-value adapters
// (memory, Redis). The SQL adapters keep one column per field.
import { SessionRecordError } from './errors';
import type { PeerKind, StoredPeer } from './types';

/** Channel ids are marked -(10^12 + id) (core.telegram.org/api/bots/ids). */
const CHANNEL_MARK = 1_000_000_000_000n;
const MAX_ID = (1n << 52n) - 1n;

/** The marked id of a peer: users by id, basic groups by -id, channels by -(10^12 + id). */
export function peerKey(kind: PeerKind, id: bigint): bigint {
  if (kind === 'user') return id;
  if (kind === 'chat') return -id;
  return -(CHANNEL_MARK + id);
}

/** The kind and id a marked id names. */
export function unmarkPeer(key: bigint): { kind: PeerKind; id: bigint } {
  if (key > 0n) return { kind: 'user', id: key };
  if (key > -CHANNEL_MARK) return { kind: 'chat', id: -key };
  return { kind: 'channel', id: -key - CHANNEL_MARK };
}

const KINDS: readonly PeerKind[] = ['user', 'chat', 'channel'];

/** Throws SessionRecordError for a peer no adapter may keep (ids out of range, wrong types). */
export function checkPeer(p: StoredPeer): void {
  const bad = (what: string) => {
    throw new SessionRecordError(`peer ${String(p?.id)}: ${what}`);
  };
  if (!p || typeof p !== 'object') bad('not an object');
  if (!KINDS.includes(p.kind)) bad('kind must be user, chat or channel');
  if (typeof p.id !== 'bigint' || p.id <= 0n || p.id > MAX_ID) bad('id must be a positive bigint below 2^52');
  if (
    p.accessHash !== undefined &&
    (typeof p.accessHash !== 'bigint' || BigInt.asIntN(64, p.accessHash) !== p.accessHash)
  )
    bad('accessHash must be a signed 64-bit bigint');
  if (typeof p.min !== 'boolean') bad('min must be a boolean');
  if (p.username !== undefined && (typeof p.username !== 'string' || p.username.length > 64))
    bad('username must be a string of at most 64 characters');
  if (p.phone !== undefined && (typeof p.phone !== 'string' || p.phone.length > 32))
    bad('phone must be a string of at most 32 characters');
  if (p.seenIn !== undefined && (typeof p.seenIn.key !== 'bigint' || !Number.isInteger(p.seenIn.msgId)))
    bad('seenIn must be { key: bigint, msgId: integer }');
  if (!Number.isFinite(p.updatedAt)) bad('updatedAt must be a number');
}

/** One peer as text: a JSON array, 64-bit values as decimal strings. */
export function encodePeer(p: StoredPeer): string {
  return JSON.stringify([
    KINDS.indexOf(p.kind),
    p.id.toString(),
    p.accessHash?.toString() ?? null,
    p.min ? 1 : 0,
    p.username ?? null,
    p.phone ?? null,
    p.bot === undefined ? null : p.bot ? 1 : 0,
    p.seenIn ? p.seenIn.key.toString() : null,
    p.seenIn ? p.seenIn.msgId : null,
    p.updatedAt,
  ]);
}

/** The peer `encodePeer` wrote; SessionRecordError for anything else. */
export function decodePeer(text: string): StoredPeer {
  let a: unknown[];
  try {
    a = JSON.parse(text);
  } catch {
    throw new SessionRecordError('a stored peer is not JSON');
  }
  if (!Array.isArray(a) || a.length !== 10) throw new SessionRecordError('a stored peer has the wrong shape');
  const [kind, id, hash, min, username, phone, bot, seenKey, seenMsg, updatedAt] = a as [
    number,
    string,
    string | null,
    number,
    string | null,
    string | null,
    number | null,
    string | null,
    number | null,
    number,
  ];
  const p: StoredPeer = { kind: KINDS[kind], id: BigInt(id), min: min === 1, updatedAt };
  if (hash !== null) p.accessHash = BigInt(hash);
  if (username !== null) p.username = username;
  if (phone !== null) p.phone = phone;
  if (bot !== null) p.bot = bot === 1;
  if (seenKey !== null && seenMsg !== null) p.seenIn = { key: BigInt(seenKey), msgId: seenMsg };
  checkPeer(p);
  return p;
}
