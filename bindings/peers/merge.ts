// The merge rule of the peer store (core.telegram.org/api/min): what a newly seen peer
// changes in what a session already knows of it. Pure: old and new in, the merged peer out
// (or null when nothing changed, so that nothing is written).
//
// - A full constructor is the truth: its hash, username, phone and bot flag replace the
//   old ones (a full peer without a hash, e.g. a user object some answers send bare, keeps
//   the old full hash; a phone it hides is kept).
// - A min constructor (`min: true`) never replaces a full hash: "the access_hash of a min
//   constructor cannot be used" (api/min). Over a full peer it changes nothing. Over a min
//   or unknown peer it is kept as min, with where it was seen (`seenIn`): the one way to
//   address it (inputPeerUserFromMessage / inputPeerChannelFromMessage).
import type { StoredPeer } from '../storage/types';

/** A full peer: its hash addresses it. */
export function isFull(p: StoredPeer | undefined): boolean {
  return p !== undefined && !p.min && (p.accessHash !== undefined || p.kind === 'chat');
}

/** `old` with `seen` applied, or null when `seen` changes nothing. */
export function mergePeer(old: StoredPeer | undefined, seen: StoredPeer): StoredPeer | null {
  if (old === undefined) return seen;
  if (seen.min) {
    if (isFull(old)) return null;
    const next: StoredPeer = {
      ...old,
      min: true,
      accessHash: seen.accessHash ?? old.accessHash,
      username: seen.username ?? old.username,
      bot: seen.bot ?? old.bot,
      seenIn: seen.seenIn ?? old.seenIn,
      updatedAt: seen.updatedAt,
    };
    return same(old, next) ? null : next;
  }
  const hash = seen.accessHash ?? old.accessHash;
  const next: StoredPeer = {
    kind: seen.kind,
    id: seen.id,
    accessHash: hash,
    // A bare full object over a min one without a hash of its own: still only min.
    min: seen.accessHash === undefined && old.min && seen.kind !== 'chat',
    username: seen.username,
    phone: seen.phone ?? old.phone,
    bot: seen.bot ?? old.bot,
    seenIn: seen.accessHash === undefined ? old.seenIn : undefined,
    updatedAt: seen.updatedAt,
  };
  return same(old, next) ? null : next;
}

/** Equal in every field but the time. */
export function same(a: StoredPeer, b: StoredPeer): boolean {
  return (
    a.kind === b.kind &&
    a.id === b.id &&
    a.accessHash === b.accessHash &&
    a.min === b.min &&
    a.username === b.username &&
    a.phone === b.phone &&
    a.bot === b.bot &&
    a.seenIn?.key === b.seenIn?.key &&
    a.seenIn?.msgId === b.seenIn?.msgId
  );
}
