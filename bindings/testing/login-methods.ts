// The login methods of a TestDc, answering as Telegram's servers do
// (core.telegram.org/api/auth, /api/srp, /api/bots, /api/errors): auth.sendCode,
// auth.signIn, auth.cancelCode, account.getPassword, auth.checkPassword,
// auth.importBotAuthorization, auth.logOut, and the first calls of a logged-in client
// (users.getUsers, updates.getState) with the 401s and 303s of an unauthorized key or a
// moved account. Authorization is per auth key (the key record's user id).

import { timingSafeEqual } from 'node:crypto';
import type * as TL from '../tl';
import { type AccountDirectory, MAX_CODE_ATTEMPTS, normalizePhone, type TestAccount } from './accounts';
import { authorizationFor, usersFor } from './legacy-layer';
import { checkInputPeer } from './peer-rules';
import type { Handler, HandlerContext } from './types';
import type { UpdateLog } from './update-log';

export interface LoginHost {
  readonly dcId: number;
  /** updates.getState reads the account's state from it; users.getUsers its channels' messages (min users). */
  readonly updateLog: UpdateLog;
  readonly accounts: AccountDirectory;
  serverNow(): number;
  dcOptions(): Array<{ dcId: number }>;
}

const BOT_TOKEN = /^(\d{1,19}):([A-Za-z0-9_-]{1,64})$/;

export function loginHandlers(host: LoginHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  const accounts = host.accounts;
  const dcId = host.dcId;
  const inWorld = (id: number) => host.dcOptions().some((d) => d.dcId === id);

  /** The key is now logged in as `a`: its auth.authorization. */
  const logIn = (ctx: HandlerContext, a: TestAccount) => {
    ctx.setUserId(a.id);
    accounts.authorized(dcId, ctx.authKeyId, a.id);
    return authorizationFor(accounts.userObject(a, a.id), ctx.layer);
  };

  /** The logged-in user of the key, or the 401/303 Telegram answers instead. */
  const requireUser = (ctx: HandlerContext): bigint => {
    const id = ctx.userId;
    if (id === undefined) return ctx.rpcError(401, accounts.unauthorizedReason(dcId, ctx.authKeyId));
    const a = accounts.user(id);
    if (a?.deactivated) return ctx.rpcError(401, 'USER_DEACTIVATED');
    // A login made here for an account that moved since: the client must follow it.
    // (A key authorized with auth.importAuthorization may work on any DC.)
    if (a && a.homeDcId !== dcId && inWorld(a.homeDcId) && accounts.primaryUser(dcId, ctx.authKeyId) === id)
      return ctx.rpcError(303, `USER_MIGRATE_${a.homeDcId}`);
    return id;
  };

  const checkApi = (ctx: HandlerContext, apiId: number, apiHash: string) => {
    if (!(apiId > 0) || apiHash.length === 0) ctx.rpcError(400, 'API_ID_INVALID');
  };

  add('auth.sendCode', (req, ctx) => {
    checkApi(ctx, req.apiId, req.apiHash);
    const phone = normalizePhone(req.phoneNumber);
    if (!phone) return ctx.rpcError(400, 'PHONE_NUMBER_INVALID');
    const a = accounts.byPhoneNumber(phone);
    if (a?.deactivated) return ctx.rpcError(400, 'PHONE_NUMBER_BANNED');
    if (a && a.homeDcId !== dcId && inWorld(a.homeDcId))
      return ctx.rpcError(303, `PHONE_MIGRATE_${a.homeDcId}`);
    const sent = accounts.sendCode(phone, dcId, host.serverNow());
    // Telegram sends the code to the user's other sessions when there are some, else by SMS.
    const viaApp = a !== undefined && accounts.hasAuthorizations(a.id);
    return {
      _: 'auth.sentCode' as const,
      type: { _: viaApp ? ('auth.sentCodeTypeApp' as const) : ('auth.sentCodeTypeSms' as const), length: 5 },
      phoneCodeHash: sent.phoneCodeHash,
      nextType: viaApp ? { _: 'auth.codeTypeSms' as const } : undefined,
    };
  });

  add('auth.signIn', (req, ctx) => {
    if (!req.phoneCodeHash) return ctx.rpcError(400, 'PHONE_CODE_HASH_EMPTY');
    const phone = normalizePhone(req.phoneNumber);
    if (!phone) return ctx.rpcError(400, 'PHONE_NUMBER_INVALID');
    const sent = accounts.codeByHash(req.phoneCodeHash);
    if (!sent || sent.phone !== phone) return ctx.rpcError(400, 'PHONE_CODE_HASH_INVALID');
    if (sent.dcId !== dcId) return ctx.rpcError(303, `PHONE_MIGRATE_${sent.dcId}`);
    if (!req.phoneCode) return ctx.rpcError(400, 'PHONE_CODE_EMPTY');
    if (sent.dead || host.serverNow() >= sent.expiresAt) {
      sent.dead = true;
      return ctx.rpcError(400, 'PHONE_CODE_EXPIRED');
    }
    if (!sameText(req.phoneCode, sent.code)) {
      sent.attempts++;
      if (sent.attempts >= MAX_CODE_ATTEMPTS) sent.dead = true;
      return ctx.rpcError(400, 'PHONE_CODE_INVALID');
    }
    sent.dead = true; // a code logs in once
    const a = accounts.byPhoneNumber(phone);
    if (!a) return { _: 'auth.authorizationSignUpRequired' as const };
    if (a.deactivated) return ctx.rpcError(400, 'PHONE_NUMBER_BANNED');
    if (a.password) {
      accounts.awaitPassword(dcId, ctx.authKeyId, a.id);
      return ctx.rpcError(401, 'SESSION_PASSWORD_NEEDED');
    }
    return logIn(ctx, a);
  });

  add('auth.cancelCode', (req, ctx) => {
    const sent = accounts.codeByHash(req.phoneCodeHash);
    if (!sent || sent.phone !== normalizePhone(req.phoneNumber) || sent.dead)
      return ctx.rpcError(400, 'PHONE_CODE_EXPIRED');
    sent.dead = true;
    return true;
  });

  /** Whose password this key may use: the one of a signIn waiting for it, or its own. */
  const passwordUser = (ctx: HandlerContext): bigint =>
    accounts.passwordPending(dcId, ctx.authKeyId) ?? requireUser(ctx);

  add('account.getPassword', (_req, ctx) => {
    const userId = passwordUser(ctx);
    return accounts.srp.accountPassword(userId, accounts.user(userId)?.password);
  });

  add('auth.checkPassword', (req, ctx) => {
    const pending = accounts.passwordPending(dcId, ctx.authKeyId);
    const userId = pending ?? requireUser(ctx);
    const a = accounts.user(userId);
    const verdict = accounts.srp.check(userId, a?.password, req.password);
    if (verdict !== 'ok') return ctx.rpcError(400, verdict);
    if (!a) return ctx.rpcError(400, 'PASSWORD_HASH_INVALID');
    if (pending !== undefined) return logIn(ctx, a);
    return authorizationFor(accounts.userObject(a, userId), ctx.layer);
  });

  add('auth.importBotAuthorization', (req, ctx) => {
    checkApi(ctx, req.apiId, req.apiHash);
    const m = BOT_TOKEN.exec(req.botAuthToken);
    const a = m ? accounts.user(BigInt(m[1])) : undefined;
    if (!a?.bot || !a.token || !sameText(req.botAuthToken, a.token))
      return ctx.rpcError(400, 'ACCESS_TOKEN_INVALID');
    if (a.deactivated) return ctx.rpcError(400, 'ACCESS_TOKEN_EXPIRED');
    // api/datacenter: a bot lives on one DC; importing its authorization elsewhere is redirected.
    if (a.homeDcId !== dcId && inWorld(a.homeDcId)) return ctx.rpcError(303, `USER_MIGRATE_${a.homeDcId}`);
    return logIn(ctx, a);
  });

  add('auth.logOut', (_req, ctx) => {
    if (ctx.userId === undefined) return ctx.rpcError(401, accounts.unauthorizedReason(dcId, ctx.authKeyId));
    ctx.setUserId(undefined);
    accounts.forget(dcId, ctx.authKeyId);
    return { _: 'auth.loggedOut' as const };
  });

  add('users.getUsers', (req, ctx) => {
    const self = requireUser(ctx);
    // As Telegram: a user by id and access hash (or through a message, for a min user);
    // an id the server cannot give this caller is userEmpty.
    const users = req.id.map((u): TL.Types['User'] => {
      const r = checkInputPeer(host, u, self);
      if (r.kind === 'user' && r.account) return accounts.userObject(r.account, self);
      // A key logged in by dc.setUserId for a user the directory does not know.
      if (r.kind === 'user' && r.id === self) return { _: 'user', self: true, id: self, firstName: 'Test' };
      const id = 'userId' in u ? u.userId : 0n;
      return { _: 'userEmpty', id };
    });
    return usersFor(users, ctx.layer) as TL.Types['User'][];
  });

  add('updates.getState', (_req, ctx) => {
    const userId = requireUser(ctx);
    if (host.updateLog) return host.updateLog.state(userId);
    return {
      _: 'updates.state' as const,
      pts: 1,
      qts: 0,
      date: Math.floor(host.serverNow() / 1000),
      seq: 0,
      unreadCount: 0,
    };
  });
  return m;
}

/** Compares a secret the client sent with the stored one in constant time. */
function sameText(given: string, stored: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}
