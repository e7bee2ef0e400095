// The update methods of a TestDc over its update log (update-log.ts), answering as
// Telegram does (core.telegram.org/api/updates): updates.getDifference,
// updates.getChannelDifference, channels.getFullChannel (a channel's pts), and the RPCs
// whose results move pts: messages.sendMessage (updateShortSentMessage for a private chat,
// `updates` for a group or channel) and messages.deleteMessages (messages.affectedMessages).
// updates.getState is login-methods.ts's, reading the same log.

import type * as TL from '../tl';
import type { AccountDirectory } from './accounts';
import { channelDifferenceForLayer, differenceForLayer, updatesForLayer } from './legacy-updates';
import { checkInputPeer } from './peer-rules';
import type { Handler, HandlerContext } from './types';
import type { UpdateLog } from './update-log';

export interface UpdateMethodsHost {
  readonly updateLog: UpdateLog;
  /** Users and their access hashes (peer-rules.ts checks the peers a request names). */
  readonly accounts: AccountDirectory;
  /** Sends `updates` to every session of `userId` (other members of a channel written to). */
  pushToUser(userId: bigint, updates: TL.Types['Updates']): void;
}

function userOf(ctx: HandlerContext): bigint {
  const id = ctx.userId;
  if (id === undefined) return ctx.rpcError(401, 'AUTH_KEY_UNREGISTERED');
  return id;
}

export function updateHandlers(host: UpdateMethodsHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  const log = host.updateLog;

  add('updates.getDifference', (req, ctx) => {
    const d = log.difference(userOf(ctx), req);
    return d ? differenceForLayer(d, ctx.layer) : ctx.rpcError(400, 'PERSISTENT_TIMESTAMP_INVALID');
  });

  add('updates.getChannelDifference', (req, ctx) => {
    const d = log.channelDifference(userOf(ctx), req);
    if (typeof d === 'string') return ctx.rpcError(d === 'CHANNEL_PRIVATE' ? 406 : 400, d);
    return channelDifferenceForLayer(d, ctx.layer);
  });

  add('channels.getFullChannel', (req, ctx) => {
    const userId = userOf(ctx);
    const input = req.channel;
    const c = input._ === 'inputChannel' ? log.channel(input.channelId) : undefined;
    if (!c || input._ !== 'inputChannel' || c.accessHash !== input.accessHash)
      return ctx.rpcError(400, 'CHANNEL_INVALID');
    if (!c.members.has(userId)) return ctx.rpcError(406, 'CHANNEL_PRIVATE');
    return {
      _: 'messages.chatFull' as const,
      fullChat: {
        _: 'channelFull' as const,
        id: c.id,
        about: '',
        readInboxMaxId: c.lastMessageId,
        readOutboxMaxId: c.lastMessageId,
        unreadCount: 0,
        chatPhoto: { _: 'photoEmpty' as const, id: 0n },
        notifySettings: { _: 'peerNotifySettings' as const },
        botInfo: [],
        pts: c.pts,
      },
      chats: [c.chat()],
      users: [],
    };
  });

  add('messages.sendMessage', (req, ctx) => {
    const userId = userOf(ctx);
    if (!req.message) return ctx.rpcError(400, 'MESSAGE_EMPTY');
    const peer = req.peer;
    const updateId = { _: 'updateMessageID' as const, id: 0, randomId: req.randomId };
    // PEER_ID_INVALID / CHANNEL_INVALID for a wrong hash, a min peer without its message...
    const target = checkInputPeer(host, peer, userId);
    if (target.kind === 'error') return ctx.rpcError(target.code, target.message);
    if (target.kind === 'channel') {
      const c = target.channel;
      if (!c.members.has(userId)) return ctx.rpcError(406, 'CHANNEL_PRIVATE');
      const { event, message } = log.newChannelMessage(c, { text: req.message, from: userId });
      updateId.id = message.id;
      const chats = [c.chat()];
      // The other members see the sender as a min user (api/min): they may not address it but by this message.
      const sender = host.accounts.user(userId);
      const users = sender ? [host.accounts.userObject(sender, undefined, true)] : [];
      for (const member of c.members) {
        if (member !== userId)
          host.pushToUser(member, {
            _: 'updates',
            updates: [event.update],
            users,
            chats,
            date: event.date,
            seq: 0,
          });
      }
      const own = { ...event.update, message: { ...message, out: true } } as TL.Types['Update'];
      const result = {
        _: 'updates' as const,
        updates: [updateId, own],
        users: [],
        chats,
        date: event.date,
        seq: 0,
      };
      return updatesForLayer(result, ctx.layer);
    }
    const to = target.kind === 'user' ? target.id : undefined;
    if (target.kind === 'chat') {
      const { event, message } = log.newMessage(userId, {
        text: req.message,
        chatId: target.id,
        out: true,
      });
      updateId.id = message.id;
      const a = log.account(userId);
      return {
        _: 'updates' as const,
        updates: [updateId, event.update],
        users: [],
        chats: [],
        date: event.date,
        seq: ++a.seq,
      };
    }
    if (to === undefined) return ctx.rpcError(400, 'PEER_ID_INVALID');
    const { event, message } = log.newMessage(userId, { text: req.message, peer: to, out: true });
    return {
      _: 'updateShortSentMessage' as const,
      out: true,
      id: message.id,
      pts: event.end,
      ptsCount: event.count,
      date: event.date,
    };
  });

  add('messages.deleteMessages', (req, ctx) => {
    const e = log.deleteMessages(userOf(ctx), req.id);
    return { _: 'messages.affectedMessages' as const, pts: e.end, ptsCount: e.count };
  });
  return m;
}
