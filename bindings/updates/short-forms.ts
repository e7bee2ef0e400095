// The short forms of Updates turned into the Update they abbreviate
// (core.telegram.org/api/updates: updateShortMessage, updateShortChatMessage,
// updateShortSentMessage "the destination chat has to be extracted from the method call"),
// and the messages of a difference wrapped as the updates they stand for.

import type * as TL from '../tl';

type Message = TL.Objects['message'];

function peerUser(userId: bigint): TL.Objects['peerUser'] {
  return { _: 'peerUser', userId };
}

/** updateShortMessage / updateShortChatMessage as updateNewMessage. */
export function shortMessageUpdate(
  s: TL.Objects['updateShortMessage'] | TL.Objects['updateShortChatMessage'],
  selfId: bigint | undefined,
): TL.Objects['updateNewMessage'] {
  let peerId: TL.Types['Peer'];
  let fromId: TL.Types['Peer'] | undefined;
  if (s._ === 'updateShortMessage') {
    peerId = peerUser(s.userId);
    fromId = s.out ? (selfId === undefined ? undefined : peerUser(selfId)) : peerUser(s.userId);
  } else {
    peerId = { _: 'peerChat', chatId: s.chatId };
    fromId = peerUser(s.fromId);
  }
  const message: Message = {
    _: 'message',
    out: s.out,
    mentioned: s.mentioned,
    mediaUnread: s.mediaUnread,
    silent: s.silent,
    id: s.id,
    fromId,
    peerId,
    fwdFrom: s.fwdFrom,
    viaBotId: s.viaBotId,
    replyTo: s.replyTo,
    date: s.date,
    message: s.message,
    entities: s.entities,
    ttlPeriod: s.ttlPeriod,
  };
  return { _: 'updateNewMessage', message, pts: s.pts, ptsCount: s.ptsCount };
}

/** The chat an input peer names, as a Peer (undefined when it cannot be told). */
export function peerOfInput(
  p: TL.Types['InputPeer'],
  selfId: bigint | undefined,
): TL.Types['Peer'] | undefined {
  switch (p._) {
    case 'inputPeerUser':
    case 'inputPeerUserFromMessage':
      return peerUser(p.userId);
    case 'inputPeerSelf':
      return selfId === undefined ? undefined : peerUser(selfId);
    case 'inputPeerChat':
      return { _: 'peerChat', chatId: p.chatId };
    case 'inputPeerChannel':
    case 'inputPeerChannelFromMessage':
      return { _: 'peerChannel', channelId: p.channelId };
    default:
      return undefined;
  }
}

/**
 * updateShortSentMessage (the answer to messages.sendMessage / sendMedia) as updateNewMessage,
 * its chat and text taken from the request; undefined when the request does not say them.
 */
export function sentMessageUpdate(
  s: TL.Objects['updateShortSentMessage'],
  request: { peer?: TL.Types['InputPeer']; message?: string } | undefined,
  selfId: bigint | undefined,
): TL.Objects['updateNewMessage'] | undefined {
  const peerId = request?.peer && peerOfInput(request.peer, selfId);
  if (!peerId) return undefined;
  const message: Message = {
    _: 'message',
    out: s.out ?? true,
    id: s.id,
    fromId: selfId === undefined ? undefined : peerUser(selfId),
    peerId,
    date: s.date,
    message: request?.message ?? '',
    media: s.media,
    entities: s.entities,
    ttlPeriod: s.ttlPeriod,
  };
  return { _: 'updateNewMessage', message, pts: s.pts, ptsCount: s.ptsCount };
}

/**
 * A message of a difference as the update it stands for: updateNewChannelMessage for a
 * channel's, else updateNewMessage. pts 0 / pts_count 0 when its position is unknown.
 */
export function messageUpdate(
  message: TL.Types['Message'],
  channel: boolean,
  pts: number,
  count: number,
): TL.Types['Update'] {
  return channel
    ? { _: 'updateNewChannelMessage', message, pts, ptsCount: count }
    : { _: 'updateNewMessage', message, pts, ptsCount: count };
}
