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

/** The same as a number (exact: ids are below 2^52), without a bigint operation. */
export function numberKeyOfObject(o: PeerObject): number {
  const id = Number(o.id);
  if (o._ === 'user') return id;
  if (o._ === 'chat' || o._ === 'chatForbidden') return -id;
  return -(1e12 + id);
}

/** Hands every peer in `value` to `sink`; returns how many. */
export function harvest(value: unknown, sink: PeerSink): number {
  if (value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return harvestList(value, sink, null);
  const v = value as Obj;
  let n = 0;
  // The messages are looked for only when a min peer needs them (once per object).
  const found: Found = { v, messages: undefined };
  const users = v.users;
  if (Array.isArray(users) && users.length > 0) n += harvestList(users, sink, found);
  const chats = v.chats;
  if (Array.isArray(chats) && chats.length > 0) n += harvestList(chats, sink, found);
  const user = v.user;
  if (isPeer(user)) {
    sink(user, undefined);
    n++;
  }
  return n;
}

interface Found {
  v: Obj;
  messages: TlMessage[] | undefined;
}

function isPeer(x: unknown): x is PeerObject {
  if (x === null || typeof x !== 'object') return false;
  const c = (x as Obj)._;
  return c === 'user' || c === 'channel' || c === 'chat' || c === 'channelForbidden' || c === 'chatForbidden';
}

function harvestList(list: unknown[], sink: PeerSink, found: Found | null): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (!isPeer(x)) continue;
    if (x.min === true && found !== null) {
      found.messages ??= messagesOf(found.v);
      sink(x, whereSeen(x, found.messages));
    } else sink(x, undefined);
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
