// Which sequence an Update belongs to (core.telegram.org/api/updates, "Event sequences"):
// the common pts (with pts_count), the common qts, one channel's pts, or none. The
// constructors are those of layer 223 that carry pts or qts.

import type * as TL from '../tl';

export const SEQ_NONE = 0;
export const SEQ_PTS = 1;
export const SEQ_QTS = 2;
export const SEQ_CHANNEL = 3;
/** updateChannelTooLong: fetch the channel's difference. */
export const SEQ_CHANNEL_TOO_LONG = 4;

/** Filled by `classify` (one object reused: no allocation per update). */
export interface Sequenced {
  pts: number;
  count: number;
  qts: number;
  channelId: bigint | undefined;
}

export function newSequenced(): Sequenced {
  return { pts: 0, count: 0, qts: 0, channelId: undefined };
}

function channelOf(message: TL.Types['Message']): bigint | undefined {
  const peer = message.peerId;
  return peer?._ === 'peerChannel' ? peer.channelId : undefined;
}

/** The sequence of `u` (SEQ_*), its numbers written into `out`. */
export function classify(u: TL.Types['Update'], out: Sequenced): number {
  switch (u._) {
    case 'updateNewMessage':
    case 'updateDeleteMessages':
    case 'updateReadHistoryInbox':
    case 'updateReadHistoryOutbox':
    case 'updateWebPage':
    case 'updateReadMessagesContents':
    case 'updateEditMessage':
    case 'updateFolderPeers':
    case 'updatePinnedMessages':
      out.pts = u.pts;
      out.count = u.ptsCount;
      return SEQ_PTS;
    case 'updateNewChannelMessage':
    case 'updateEditChannelMessage': {
      const id = channelOf(u.message);
      if (id === undefined) return SEQ_NONE;
      out.channelId = id;
      out.pts = u.pts;
      out.count = u.ptsCount;
      return SEQ_CHANNEL;
    }
    case 'updateDeleteChannelMessages':
    case 'updateChannelWebPage':
    case 'updatePinnedChannelMessages':
      out.channelId = u.channelId;
      out.pts = u.pts;
      out.count = u.ptsCount;
      return SEQ_CHANNEL;
    case 'updateReadChannelInbox':
      // A pts without pts_count: a position that changes nothing (count 0).
      out.channelId = u.channelId;
      out.pts = u.pts;
      out.count = 0;
      return SEQ_CHANNEL;
    case 'updateChannelTooLong':
      out.channelId = u.channelId;
      out.pts = u.pts ?? 0;
      return SEQ_CHANNEL_TOO_LONG;
    case 'updateNewEncryptedMessage':
    case 'updateMessagePollVote':
    case 'updateChatParticipant':
    case 'updateChannelParticipant':
    case 'updateBotStopped':
    case 'updateBotChatInviteRequester':
    case 'updateBotChatBoost':
    case 'updateBotMessageReaction':
    case 'updateBotMessageReactions':
    case 'updateBotBusinessConnect':
    case 'updateBotNewBusinessMessage':
    case 'updateBotEditBusinessMessage':
    case 'updateBotDeleteBusinessMessage':
    case 'updateBotPurchasedPaidMedia':
      // qts 0 is sent where ordering does not apply (observed for participant updates).
      if (u.qts === 0) return SEQ_NONE;
      out.qts = u.qts;
      return SEQ_QTS;
    default:
      return SEQ_NONE;
  }
}

/** Whether a pts update at `pts` with `count` applies on `local` (0), was applied (-1) or is early (1). */
export function ptsOrder(local: number, pts: number, count: number): -1 | 0 | 1 {
  const next = local + count;
  return next === pts ? 0 : next > pts ? -1 : 1;
}
