// Resolving a peer to what a request needs (issue #14): an InputPeer, InputUser or
// InputChannel with its access hash. From the store first; then, where the session
// allows it, from the server: users.getUsers / channels.getChannels (hash 0: what the
// server lets bots do for peers they have met) and contacts.resolveUsername. A min peer
// is addressed through the message it was seen in (api/min: inputPeerUserFromMessage,
// inputPeerChannelFromMessage).
import { peerKey, unmarkPeer } from '../storage/peer-codec';
import type { StoredPeer } from '../storage/types';
import type * as TL from '../tl';
import { PeerError } from './errors';
import { isFull } from './merge';
import type { PeerStore } from './store';

type InputPeer = TL.Types['InputPeer'];
type InputUser = TL.Types['InputUser'];
type InputChannel = TL.Types['InputChannel'];

/**
 * What names a peer: a marked id (bigint or number: users by id, basic groups by -id,
 * channels by -(10^12 + id), as the Bot API writes them), a username ('@name', 'name',
 * 't.me/name'), a digit string, 'me' / 'self', a Peer (peerUser...), a User or Chat
 * object, a StoredPeer, or an InputPeer / InputUser / InputChannel (used as is).
 */
export type PeerRef = bigint | number | string | StoredPeer | { _: string; [field: string]: unknown };

/** How the resolver reaches the server (the session's `call`); absent: the store only. */
export interface ResolverPort {
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
}

const SELF = 'self';

export class PeerResolver {
  /** Resolutions that asked the server, by method. */
  readonly calls: Record<string, number> = {};

  constructor(
    private readonly store: PeerStore,
    private readonly port?: ResolverPort,
  ) {}

  async inputPeer(ref: PeerRef): Promise<InputPeer> {
    const input = asInput(ref);
    if (input !== undefined) return toInputPeer(input);
    const p = await this.peer(ref);
    if (p === SELF) return { _: 'inputPeerSelf' };
    return this.addressed(p);
  }

  async inputUser(ref: PeerRef): Promise<InputUser> {
    const peer = await this.inputPeer(ref);
    switch (peer._) {
      case 'inputPeerSelf':
        return { _: 'inputUserSelf' };
      case 'inputPeerUser':
        return { _: 'inputUser', userId: peer.userId, accessHash: peer.accessHash };
      case 'inputPeerUserFromMessage':
        return { _: 'inputUserFromMessage', peer: peer.peer, msgId: peer.msgId, userId: peer.userId };
      default:
        throw new PeerError('PEER_KIND_MISMATCH', `${describe(ref)} is not a user`);
    }
  }

  async inputChannel(ref: PeerRef): Promise<InputChannel> {
    const peer = await this.inputPeer(ref);
    switch (peer._) {
      case 'inputPeerChannel':
        return { _: 'inputChannel', channelId: peer.channelId, accessHash: peer.accessHash };
      case 'inputPeerChannelFromMessage':
        return {
          _: 'inputChannelFromMessage',
          peer: peer.peer,
          msgId: peer.msgId,
          channelId: peer.channelId,
        };
      default:
        throw new PeerError('PEER_KIND_MISMATCH', `${describe(ref)} is not a channel`);
    }
  }

  /** What the store knows (after asking the server where allowed), or PeerError PEER_UNKNOWN. */
  async peer(ref: PeerRef): Promise<StoredPeer | typeof SELF> {
    const named = nameOf(ref);
    if (named === SELF) return SELF;
    if (typeof named === 'string') return this.byUsername(named);
    if (typeof named === 'object') {
      // A StoredPeer given by the caller: merged in, then addressed like any other.
      this.store.put(named);
      return (await this.store.get(peerKey(named.kind, named.id))) ?? named;
    }
    return this.byKey(named);
  }

  private async byKey(key: bigint): Promise<StoredPeer> {
    const known = await this.store.get(key);
    if (known && (isFull(known) || known.seenIn)) return known;
    const { kind, id } = unmarkPeer(key);
    if (kind === 'chat') return known ?? { kind, id, min: false, updatedAt: Date.now() };
    if (this.port) {
      if (kind === 'user')
        await this.ask('users.getUsers', { id: [{ _: 'inputUser', userId: id, accessHash: 0n }] });
      else
        await this.ask('channels.getChannels', {
          id: [{ _: 'inputChannel', channelId: id, accessHash: 0n }],
        });
      const found = await this.store.get(key);
      if (found && isFull(found)) return found;
    }
    throw new PeerError(
      'PEER_UNKNOWN',
      `no access hash for ${kind} ${id}${this.port ? ' (the server gave none either)' : ''}`,
    );
  }

  private async byUsername(username: string): Promise<StoredPeer> {
    const known = await this.store.byUsername(username);
    if (known && (isFull(known) || known.seenIn)) return known;
    if (this.port) {
      const r = (await this.ask('contacts.resolveUsername', {
        username,
      })) as TL.Types['contacts.ResolvedPeer'];
      const key = keyOfTlPeer(r?.peer);
      const found = key === undefined ? undefined : await this.store.get(key);
      if (found && isFull(found)) return found;
    }
    throw new PeerError('PEER_UNKNOWN', `no peer known as @${username}`);
  }

  /** Calls the server; the session's own harvest puts the answer's peers in the store (put here too). */
  private async ask(method: string, params: Record<string, unknown>): Promise<unknown> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    let result: unknown;
    try {
      result = await (this.port as ResolverPort).call(method, params);
    } catch (e) {
      // USERNAME_NOT_OCCUPIED, CHANNEL_INVALID...: not found, said with the server's reason.
      const reason = (e as { errorMessage?: string }).errorMessage ?? (e as Error).message;
      throw new PeerError('PEER_UNKNOWN', `${method} found nothing (${reason})`, e);
    }
    this.store.observe(result);
    return result;
  }

  /** The InputPeer of a stored peer: its hash, or the message it was seen in. */
  private async addressed(p: StoredPeer): Promise<InputPeer> {
    if (p.kind === 'chat') return { _: 'inputPeerChat', chatId: p.id };
    if (isFull(p)) {
      const accessHash = p.accessHash as bigint;
      return p.kind === 'user'
        ? { _: 'inputPeerUser', userId: p.id, accessHash }
        : { _: 'inputPeerChannel', channelId: p.id, accessHash };
    }
    const seen = p.seenIn;
    const chat = seen === undefined ? undefined : await this.store.get(seen.key);
    if (seen === undefined || chat === undefined || (chat.kind !== 'chat' && !isFull(chat)))
      throw new PeerError('PEER_UNKNOWN', `${p.kind} ${p.id} is known only from a min constructor`);
    const where = await this.addressed(chat);
    return p.kind === 'user'
      ? { _: 'inputPeerUserFromMessage', peer: where, msgId: seen.msgId, userId: p.id }
      : { _: 'inputPeerChannelFromMessage', peer: where, msgId: seen.msgId, channelId: p.id };
  }
}

const INPUTS = /^input(Peer|User|Channel)/;

/** An Input* object given as is. */
function asInput(ref: PeerRef): { _: string; [k: string]: unknown } | undefined {
  if (ref !== null && typeof ref === 'object' && '_' in ref && INPUTS.test(String(ref._)))
    return ref as { _: string };
  return undefined;
}

/** Any Input* object as an InputPeer. */
function toInputPeer(i: { _: string; [k: string]: unknown }): InputPeer {
  switch (i._) {
    case 'inputUserSelf':
      return { _: 'inputPeerSelf' };
    case 'inputUser':
      return { _: 'inputPeerUser', userId: i.userId as bigint, accessHash: i.accessHash as bigint };
    case 'inputUserFromMessage':
      return {
        _: 'inputPeerUserFromMessage',
        peer: i.peer as InputPeer,
        msgId: i.msgId as number,
        userId: i.userId as bigint,
      };
    case 'inputChannel':
      return { _: 'inputPeerChannel', channelId: i.channelId as bigint, accessHash: i.accessHash as bigint };
    case 'inputChannelFromMessage':
      return {
        _: 'inputPeerChannelFromMessage',
        peer: i.peer as InputPeer,
        msgId: i.msgId as number,
        channelId: i.channelId as bigint,
      };
    case 'inputUserEmpty':
    case 'inputChannelEmpty':
      return { _: 'inputPeerEmpty' };
    default:
      return i as InputPeer;
  }
}

function keyOfTlPeer(p: TL.Types['Peer'] | undefined): bigint | undefined {
  if (!p || typeof p !== 'object') return undefined;
  if (p._ === 'peerUser') return peerKey('user', p.userId);
  if (p._ === 'peerChat') return peerKey('chat', p.chatId);
  if (p._ === 'peerChannel') return peerKey('channel', p.channelId);
  return undefined;
}

const USERNAME = /^(?:@|(?:https?:\/\/)?t\.me\/)?([A-Za-z][A-Za-z0-9_]{3,31})$/;

/** A marked id, a username, SELF, or a StoredPeer; PeerError PEER_REF_INVALID for anything else. */
function nameOf(ref: PeerRef): bigint | string | StoredPeer | typeof SELF {
  if (typeof ref === 'bigint') return ref;
  if (typeof ref === 'number') {
    if (Number.isSafeInteger(ref) && ref !== 0) return BigInt(ref);
  } else if (typeof ref === 'string') {
    if (ref === 'me' || ref === 'self') return SELF;
    if (/^-?\d{1,19}$/.test(ref) && ref !== '0' && ref !== '-0') return BigInt(ref);
    const m = USERNAME.exec(ref);
    if (m) return m[1].toLowerCase();
  } else if (ref !== null && typeof ref === 'object') {
    const o = ref as Record<string, unknown>;
    if (typeof o.kind === 'string' && typeof o.id === 'bigint' && typeof o.min === 'boolean')
      return ref as StoredPeer;
    const key = keyOfTlPeer(ref as TL.Types['Peer']);
    if (key !== undefined && /^peer(User|Chat|Channel)$/.test(String(o._))) return key;
    if (typeof o.id === 'bigint') {
      if (o._ === 'user') return peerKey('user', o.id);
      if (o._ === 'chat' || o._ === 'chatForbidden') return peerKey('chat', o.id);
      if (o._ === 'channel' || o._ === 'channelForbidden') return peerKey('channel', o.id);
    }
  }
  throw new PeerError('PEER_REF_INVALID', `cannot resolve a peer from ${describe(ref)}`);
}

function describe(ref: PeerRef): string {
  if (typeof ref === 'bigint' || typeof ref === 'number') return String(ref);
  if (typeof ref === 'string') return JSON.stringify(ref.slice(0, 40));
  if (ref && typeof ref === 'object' && '_' in ref) return String(ref._);
  return typeof ref;
}
