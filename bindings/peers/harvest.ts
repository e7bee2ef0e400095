// Finding the peers in a result or an update (issue #14): every User and Chat object of
// the `users` / `chats` lists that Updates, differences, messages.*, contacts.* and most
// other answers carry, the bare lists of users.getUsers and the like, and auth's `user`.
// For a min peer (api/min) it also finds a message that names it, since that message is
// the one way to address it (inputPeerUserFromMessage / inputPeerChannelFromMessage).
//
// Hot path: called for every update. Nothing is allocated for an object without peers;
// a peer is handed to the sink as the TL object itself, and the message search only runs
// when the batch holds a min peer.
import { peerKey } from '../storage/peer-codec';

/** A User or Chat object as it comes off the wire (only the fields read here). */
export interface PeerObject {
  _: string;
  id: bigint;
  accessHash?: bigint;
  min?: boolean;
  username?: string;
  phone?: string;
  bot?: boolean;
  broadcast?: boolean;
}

/** Where a min peer was seen: the chat's marked id and the message's id. */
export interface SeenIn {
  key: bigint;
  msgId: number;
}

export type PeerSink = (peer: PeerObject, seenIn: SeenIn | undefined) => void;

type Obj = Record<string, unknown>;
type TlPeer = { _: string; userId?: bigint; chatId?: bigint; channelId?: bigint };
interface TlMessage {
  _: string;
  id: number;
  peerId?: TlPeer;
  fromId?: TlPeer;
  fwdFrom?: { fromId?: TlPeer };
}

/** Constructors that are peers (userEmpty / chatEmpty name no one). */
const PEER_CONSTRUCTORS = new Set(['user', 'chat', 'chatForbidden', 'channel', 'channelForbidden']);

/** The marked id a Peer names, or undefined. */
export function keyOfPeer(p: TlPeer | undefined): bigint | undefined {
  if (!p) return undefined;
  if (p._ === 'peerUser' && p.userId !== undefined) return peerKey('user', p.userId);
  if (p._ === 'peerChat' && p.chatId !== undefined) return peerKey('chat', p.chatId);
  if (p._ === 'peerChannel' && p.channelId !== undefined) return peerKey('channel', p.channelId);
  return undefined;
}

/** The marked id of a User or Chat object. */
export function keyOfObject(o: PeerObject): bigint {
  if (o._ === 'user') return o.id;
  if (o._ === 'chat' || o._ === 'chatForbidden') return -o.id;
  return peerKey('channel', o.id);
}

/** Hands every peer in `value` to `sink`; returns how many. */
export function harvest(value: unknown, sink: PeerSink): number {
  if (value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return harvestList(value, sink, undefined);
  const v = value as Obj;
  let n = 0;
  let min = false;
  const users = v.users;
  const chats = v.chats;
  if (Array.isArray(users)) for (const u of users) if (isPeer(u) && u.min) min = true;
  if (Array.isArray(chats)) for (const c of chats) if (isPeer(c) && c.min) min = true;
  const messages = min ? messagesOf(v) : undefined;
  if (Array.isArray(users)) n += harvestList(users, sink, messages);
  if (Array.isArray(chats)) n += harvestList(chats, sink, messages);
  const user = v.user;
  if (isPeer(user)) {
    sink(user, undefined);
    n++;
  }
  return n;
}

function isPeer(x: unknown): x is PeerObject {
  return x !== null && typeof x === 'object' && PEER_CONSTRUCTORS.has((x as Obj)._ as string);
}

function harvestList(list: unknown[], sink: PeerSink, messages: TlMessage[] | undefined): number {
  let n = 0;
  for (const x of list) {
    if (!isPeer(x)) continue;
    sink(x, x.min && messages ? whereSeen(x, messages) : undefined);
    n++;
  }
  return n;
}

/** The messages an answer or an update container carries. */
function messagesOf(v: Obj): TlMessage[] {
  const out: TlMessage[] = [];
  const add = (m: unknown) => {
    if (m !== null && typeof m === 'object' && typeof (m as TlMessage).id === 'number')
      out.push(m as TlMessage);
  };
  for (const field of ['updates', 'otherUpdates']) {
    const list = v[field];
    if (Array.isArray(list)) for (const u of list) add((u as Obj)?.message);
  }
  for (const field of ['newMessages', 'messages']) {
    const list = v[field];
    if (Array.isArray(list)) for (const m of list) add(m);
  }
  add((v.update as Obj | undefined)?.message);
  return out;
}

/** A message naming min peer `p` as its sender (or forwarded-from), in a chat other than `p`. */
function whereSeen(p: PeerObject, messages: TlMessage[]): SeenIn | undefined {
  const key = keyOfObject(p);
  for (const m of messages) {
    const chat = keyOfPeer(m.peerId);
    if (chat === undefined || chat === key) continue;
    if (keyOfPeer(m.fromId) === key || keyOfPeer(m.fwdFrom?.fromId) === key)
      return { key: chat, msgId: m.id };
  }
  return undefined;
}
