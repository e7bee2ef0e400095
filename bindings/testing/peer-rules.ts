// How a TestDc checks the peers a request names (issue #14), as Telegram does: a user by
// its id and access hash (else PEER_ID_INVALID), a channel by its id and hash (else
// CHANNEL_INVALID), a basic group by its id; a peer known only from a min constructor
// through the message it was seen in (api/min: inputPeerUserFromMessage,
// inputPeerChannelFromMessage: the message must be in that chat, which the caller can
// address, and name that peer as sender or forward source).
import type * as TL from '../tl';
import type { AccountDirectory, TestAccount } from './accounts';
import type { TestChannel, UpdateLog } from './update-log';

export interface PeerRulesHost {
  readonly accounts: AccountDirectory;
  readonly updateLog: UpdateLog;
}

export type CheckedPeer =
  | { kind: 'user'; id: bigint; account: TestAccount | undefined }
  | { kind: 'chat'; id: bigint }
  | { kind: 'channel'; channel: TestChannel }
  | { kind: 'error'; code: number; message: string };

const invalid = (message = 'PEER_ID_INVALID'): CheckedPeer => ({ kind: 'error', code: 400, message });

type AnyInput = TL.Types['InputPeer'] | TL.Types['InputUser'] | TL.Types['InputChannel'];

/** Checks one InputPeer / InputUser / InputChannel named by user `self`. */
export function checkInputPeer(host: PeerRulesHost, p: AnyInput, self: bigint): CheckedPeer {
  switch (p._) {
    case 'inputPeerSelf':
    case 'inputUserSelf':
      return { kind: 'user', id: self, account: host.accounts.user(self) };
    case 'inputPeerUser':
    case 'inputUser': {
      const a = host.accounts.user(p.userId);
      if (!a || a.accessHash !== p.accessHash)
        return invalid(p._ === 'inputUser' ? 'USER_ID_INVALID' : undefined);
      return { kind: 'user', id: a.id, account: a };
    }
    case 'inputPeerChat':
      return { kind: 'chat', id: p.chatId };
    case 'inputPeerChannel':
    case 'inputChannel': {
      const c = host.updateLog.channel(p.channelId);
      if (!c || c.accessHash !== p.accessHash) return invalid('CHANNEL_INVALID');
      return { kind: 'channel', channel: c };
    }
    case 'inputPeerUserFromMessage':
    case 'inputUserFromMessage': {
      const m = messageIn(host, p.peer, p.msgId, self);
      if ('kind' in m) return m;
      if (!names(m, 'peerUser', p.userId)) return invalid();
      return { kind: 'user', id: p.userId, account: host.accounts.user(p.userId) };
    }
    case 'inputPeerChannelFromMessage':
    case 'inputChannelFromMessage': {
      const m = messageIn(host, p.peer, p.msgId, self);
      if ('kind' in m) return m;
      const c = host.updateLog.channel(p.channelId);
      if (!c || !names(m, 'peerChannel', p.channelId)) return invalid('CHANNEL_INVALID');
      return { kind: 'channel', channel: c };
    }
    default:
      return invalid();
  }
}

/** The message `msgId` of the chat `where`, which `self` must be able to address and read. */
function messageIn(
  host: PeerRulesHost,
  where: TL.Types['InputPeer'],
  msgId: number,
  self: bigint,
): TL.Objects['message'] | CheckedPeer {
  const chat = checkInputPeer(host, where, self);
  if (chat.kind === 'error') return chat;
  if (chat.kind !== 'channel') return invalid('MSG_ID_INVALID');
  if (!chat.channel.members.has(self)) return { kind: 'error', code: 406, message: 'CHANNEL_PRIVATE' };
  return chat.channel.messages.get(msgId) ?? invalid('MSG_ID_INVALID');
}

function names(m: TL.Objects['message'], kind: 'peerUser' | 'peerChannel', id: bigint): boolean {
  const is = (p: TL.Types['Peer'] | undefined) =>
    p?._ === kind &&
    (kind === 'peerUser' ? (p as { userId: bigint }).userId : (p as { channelId: bigint }).channelId) === id;
  return is(m.fromId) || is(m.fwdFrom?.fromId);
}
