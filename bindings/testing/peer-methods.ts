// The peer methods of a TestDc (issue #14), answering as Telegram does:
// contacts.resolveUsername (users, bots and public channels by username) and
// channels.getChannels (by id and access hash, or through a message for a min channel).
// users.getUsers is login-methods.ts's (it checks the login first), with the same rules.
import type * as TL from '../tl';
import { usersFor } from './legacy-layer';
import { checkInputPeer, type PeerRulesHost } from './peer-rules';
import type { Handler, HandlerContext } from './types';

const USERNAME = /^[A-Za-z][A-Za-z0-9_]{3,31}$/;

export function peerHandlers(host: PeerRulesHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  const self = (ctx: HandlerContext): bigint => ctx.userId ?? ctx.rpcError(401, 'AUTH_KEY_UNREGISTERED');

  add('contacts.resolveUsername', (req, ctx) => {
    const viewer = self(ctx);
    const name = req.username.replace(/^@/, '');
    if (!USERNAME.test(name)) return ctx.rpcError(400, 'USERNAME_INVALID');
    const a = host.accounts.byUsernameOf(name);
    if (a)
      return {
        _: 'contacts.resolvedPeer' as const,
        peer: { _: 'peerUser' as const, userId: a.id },
        chats: [],
        users: usersFor([host.accounts.userObject(a, viewer)], ctx.layer) as TL.Types['User'][],
      };
    const c = host.updateLog.channelByUsername(name);
    if (c)
      return {
        _: 'contacts.resolvedPeer' as const,
        peer: { _: 'peerChannel' as const, channelId: c.id },
        chats: [c.chat()],
        users: [],
      };
    return ctx.rpcError(400, 'USERNAME_NOT_OCCUPIED');
  });

  add('channels.getChannels', (req, ctx) => {
    const viewer = self(ctx);
    const chats: TL.Types['Chat'][] = [];
    for (const input of req.id) {
      const r = checkInputPeer(host, input, viewer);
      if (r.kind === 'error') return ctx.rpcError(r.code, r.message);
      if (r.kind === 'channel') chats.push(r.channel.chat());
    }
    return { _: 'messages.chats' as const, chats };
  });
  return m;
}
