// Running a client's query: decode it, look through the wrappers (invokeWithLayer,
// initConnection, invokeAfterMsg, ...), apply injected errors, call the handler and
// encode its answer. Plus the built-in handlers every TestDc has.

import * as TL from '../tl';
import { RESULT_READERS } from '../tl/generated/codec';
import type { AccountDirectory } from './accounts';
import type { AuthorizationRegistry } from './authorizations';
import { bind, checkBinding, unboundRefusal } from './bind-rules';
import { type DcSession, type InitConnectionInfo, type ResultBody, rpcErrorBody } from './dc-session';
import type { DcFaults } from './faults';
import { fileHandlers } from './file-methods';
import type { FileStore } from './file-store';
import type { FloodLimiter } from './flood-limits';
import type { AuthKeyRecord } from './keys';
import { loginHandlers } from './login-methods';
import { peerHandlers } from './peer-methods';
import { TestRpcError } from './rpc';
import type { Execution, Handler, HandlerContext, TestDcOption, TestDcStats } from './types';
import type { UpdateLog } from './update-log';
import { updateHandlers } from './update-methods';

/** What running a query needs from its DC. */
export interface DispatchHost {
  readonly dcId: number;
  readonly faults: DcFaults;
  readonly stats: TestDcStats;
  serverNow(): number;
  handlerFor(method: string): Handler | undefined;
  recordExecution(e: Execution): void;
  pushTo(session: DcSession, body: Buffer): void;
  log(message: string): void;
  /** Who is logged in where, and which keys lost their login (revoked, deactivated). */
  readonly accounts: AccountDirectory;
  /** How long invokeAfterMsg waits for a query that has not arrived (then MSG_WAIT_TIMEOUT). */
  readonly afterMsgTimeoutMs: number;
  /** Flood limits per method, account and peer (flood-limits.ts). */
  readonly flood: FloodLimiter;
  /** Set when repeats of a random_id are refused (TestDcOptions.refuseRandomIdRepeats). */
  readonly randomIds?: { claim(id: string): boolean };
}

/** The chat a query's `peer` names, as the flood limits key it. */
function floodPeer(query: AnyRequest, self: bigint | undefined): { key: string; group: boolean } | undefined {
  const p = query.peer as { _?: string; userId?: bigint; chatId?: bigint; channelId?: bigint } | undefined;
  switch (p?._) {
    case 'inputPeerSelf':
      return { key: `u${self}`, group: false };
    case 'inputPeerUser':
    case 'inputPeerUserFromMessage':
      return { key: `u${p.userId}`, group: false };
    case 'inputPeerChat':
      return { key: `g${p.chatId}`, group: true };
    case 'inputPeerChannel':
    case 'inputPeerChannelFromMessage':
      return { key: `c${p.channelId}`, group: true };
    default:
      return undefined;
  }
}

type AnyRequest = { _: string; query?: unknown } & Record<string, unknown>;

/** Methods usable before login (the rest answer 401 AUTH_KEY_UNREGISTERED without a handler). */
const NO_AUTH_NEEDED =
  /^(help|auth|langpack)\.|^(ping|ping_delay_disconnect|get_future_salts|destroy_session|destroy_auth_key|rpc_drop_answer)$/;

export function isMethod(name: string): boolean {
  return Object.hasOwn(RESULT_READERS, name);
}

function userIdOf(v: bigint | number | undefined): bigint | undefined {
  return v === undefined ? undefined : BigInt(v);
}

/**
 * The 401 a method that needs a login gets, before any handler runs, when the key's
 * login ended on the server's side: SESSION_REVOKED after "terminate all sessions"
 * (accounts.revoke), USER_DEACTIVATED for a deactivated account. As Telegram, every
 * such method answers it alike, handled by this DC or not (core.telegram.org/api/errors#401).
 */
function lostAuthorization(
  host: DispatchHost,
  key: AuthKeyRecord,
  method: string,
): 'SESSION_REVOKED' | 'USER_DEACTIVATED' | null {
  if (NO_AUTH_NEEDED.test(method)) return null;
  const userId = key.userId;
  if (userId !== undefined) return host.accounts.user(userId)?.deactivated ? 'USER_DEACTIVATED' : null;
  return host.accounts.unauthorizedReason(host.dcId, key.authKeyId) === 'SESSION_REVOKED'
    ? 'SESSION_REVOKED'
    : null;
}

/**
 * Runs one query of `session` and returns the body of its rpc_result (a result or
 * rpc_error). At once when nothing waits: the usual query (no invokeAfterMsg, a handler
 * that answers synchronously) costs no promise, and its answer can go out this turn.
 */
export function runQuery(
  host: DispatchHost,
  key: AuthKeyRecord,
  session: DcSession,
  msgId: bigint,
  body: Buffer,
): ResultBody | Promise<ResultBody> {
  let req: AnyRequest;
  try {
    req = TL.deserialize(body) as AnyRequest;
  } catch (e) {
    const code = (e as { code?: string }).code;
    host.log(`query ${msgId}: undecodable (${code ?? 'error'})`);
    // Telegram: an unknown constructor is INPUT_METHOD_INVALID, bad parameters INPUT_FETCH_ERROR.
    return rpcErrorBody(
      400,
      code === 'ERR_TL_UNKNOWN_CONSTRUCTOR' ? 'INPUT_METHOD_INVALID' : 'INPUT_FETCH_ERROR',
    );
  }
  return unwrap({ host, key, session, msgId, withoutUpdates: false }, req);
}

/** One query on its way through runQuery. */
interface QueryRun {
  readonly host: DispatchHost;
  readonly key: AuthKeyRecord;
  readonly session: DcSession;
  readonly msgId: bigint;
  /** Seen an invokeWithoutUpdates among its wrappers. */
  withoutUpdates: boolean;
}

/**
 * Looks through the wrappers (invokeWithLayer, initConnection, invokeAfterMsg(s),
 * invokeWithoutUpdates, ...) outermost first, then executes the query inside.
 */
function unwrap(q: QueryRun, outer: AnyRequest): ResultBody | Promise<ResultBody> {
  let query = outer;
  while ((query._ === 'initConnection' || query._.startsWith('invoke')) && isMethod(query._) && query.query) {
    if (query._ === 'invokeWithLayer') q.session.layer = query.layer as number;
    if (query._ === 'invokeWithoutUpdates') q.withoutUpdates = true;
    const after =
      query._ === 'invokeAfterMsg' ? [query.msgId] : query._ === 'invokeAfterMsgs' ? query.msgIds : undefined;
    if (after !== undefined) return afterPredecessors(q, after as bigint[], query.query as AnyRequest);
    if (query._ === 'initConnection') {
      const { _: _name, query: _inner, ...params } = query;
      q.session.initConnection = params as InitConnectionInfo;
    }
    query = query.query as AnyRequest;
  }
  return execute(q, query);
}

/**
 * invokeAfterMsg(s). Spec: run only after the named queries of this session completed
 * successfully; one that failed fails this one (MSG_WAIT_FAILED), one that never comes
 * too (MSG_WAIT_TIMEOUT).
 */
async function afterPredecessors(q: QueryRun, ids: bigint[], inner: AnyRequest): Promise<ResultBody> {
  for (const id of ids) {
    const prev = BigInt.asUintN(64, id);
    if (prev === q.msgId) continue;
    const how = await q.session.predecessor(prev, q.host.afterMsgTimeoutMs);
    if (how === 'failed') return rpcErrorBody(400, 'MSG_WAIT_FAILED');
    if (how === 'timeout') return rpcErrorBody(400, 'MSG_WAIT_TIMEOUT');
  }
  return unwrap(q, inner);
}

/** The query inside its wrappers: the DC's checks, then its handler. */
function execute(q: QueryRun, query: AnyRequest): ResultBody | Promise<ResultBody> {
  const { host, key, session, msgId } = q;
  const method = query._;
  if (!isMethod(method)) return rpcErrorBody(400, 'INPUT_METHOD_INVALID');
  if (method === 'rpc_drop_answer') return dropAnswer(session, BigInt.asUintN(64, query.reqMsgId as bigint));
  if (!q.withoutUpdates) session.wantsUpdates = true;
  else session.wantsUpdates ??= false;
  // PFS: an unbound temporary key may only bind itself and call a few methods (bind-rules.ts).
  const refusal = unboundRefusal(key, method);
  if (refusal) return rpcErrorBody(401, refusal);
  const injected = host.faults.takeRpcError(method);
  if (injected) {
    host.stats.injectedErrors++;
    return rpcErrorBody(injected.code, injected.message);
  }
  const lost = lostAuthorization(host, key, method);
  if (lost) return rpcErrorBody(401, lost);
  if (host.flood.active) {
    const account = String(key.userId ?? `k${key.authKeyId}`);
    const wait = host.flood.check(method, account, floodPeer(query, key.userId), host.serverNow());
    if (wait > 0) {
      host.stats.floodWaits++;
      return rpcErrorBody(420, `FLOOD_WAIT_${wait}`);
    }
  }
  const handler = host.handlerFor(method);
  if (!handler) {
    host.log(`query ${msgId}: no handler for ${method}`);
    // As Telegram: a method that needs a logged-in user fails with 401 before anything else.
    if (key.userId === undefined && !NO_AUTH_NEEDED.test(method))
      return rpcErrorBody(401, 'AUTH_KEY_UNREGISTERED');
    return rpcErrorBody(400, 'METHOD_INVALID');
  }
  if (host.randomIds && query.randomId !== undefined) {
    // Per account, as Telegram: a request re-sent under a new msg_id (or from another
    // connection of the account) is refused unrun.
    const who = key.userId !== undefined ? `u${key.userId}` : `k${key.authKeyId}`;
    if (!host.randomIds.claim(`${who}:${method}:${String(query.randomId)}`)) {
      host.stats.randomIdRepeats++;
      return rpcErrorBody(500, 'RANDOM_ID_DUPLICATE');
    }
  }
  host.recordExecution({
    authKeyId: key.authKeyId,
    sessionId: session.sessionId,
    msgId,
    method,
    randomId: query.randomId === undefined ? undefined : String(query.randomId),
    at: host.serverNow(),
  });
  const ctx = new QueryContext(host, key, session, msgId, method);
  let result: unknown;
  try {
    result = handler(query as Parameters<Handler>[0], ctx);
  } catch (e) {
    return thrownBy(host, msgId, method, e);
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (r) => resultBody(host, msgId, query, r),
      (e) => thrownBy(host, msgId, method, e),
    );
  }
  return resultBody(host, msgId, query, result);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** What a handler threw: its rpcError, or 500 for anything else. */
function thrownBy(host: DispatchHost, msgId: bigint, method: string, e: unknown): ResultBody {
  if (e instanceof TestRpcError) return rpcErrorBody(e.code, e.errorMessage);
  host.log(`query ${msgId}: handler of ${method} threw ${(e as Error)?.name ?? 'a value'}`);
  return rpcErrorBody(500, 'INTERNAL_SERVER_ERROR');
}

/** A handler's answer as the body of its rpc_result (bytes it gave go as they are). */
function resultBody(host: DispatchHost, msgId: bigint, query: AnyRequest, result: unknown): ResultBody {
  if (Buffer.isBuffer(result)) return result;
  try {
    return TL.serializeResultParts(query as TL.AnyMethod, result);
  } catch (e) {
    host.log(`query ${msgId}: the result of ${query._} does not serialize (${(e as Error).message})`);
    return rpcErrorBody(500, 'INTERNAL_SERVER_ERROR');
  }
}

/**
 * A handler's context. A class, not an object literal: a literal with a getter is built
 * by a slow path of V8 on every query (the getter defined at run time).
 */
class QueryContext implements HandlerContext {
  readonly dcId: number;
  readonly authKeyId: bigint;
  readonly sessionId: bigint;
  readonly layer: number | undefined;
  readonly initConnection: InitConnectionInfo | undefined;

  constructor(
    private readonly host: DispatchHost,
    private readonly key: AuthKeyRecord,
    private readonly session: DcSession,
    readonly msgId: bigint,
    readonly method: string,
  ) {
    this.dcId = host.dcId;
    this.authKeyId = key.authKeyId;
    this.sessionId = session.sessionId;
    this.layer = session.layer;
    this.initConnection = session.initConnection;
  }

  get userId(): bigint | undefined {
    return this.key.userId;
  }

  setUserId(id: bigint | number | undefined): void {
    this.key.userId = userIdOf(id);
  }

  rpcError(code: number, message: string): never {
    throw new TestRpcError(code, message);
  }

  pushUpdate(updates: TL.Types['Updates'] | Buffer): void {
    this.host.pushTo(this.session, Buffer.isBuffer(updates) ? updates : TL.serialize(updates));
  }
}

/**
 * rpc_drop_answer (https://core.telegram.org/mtproto/service_messages#cancellation-of-an-rpc-query):
 * a query still running is answered rpc_answer_dropped_running and its own answer is never
 * sent; one answered whose answer the client has not acknowledged, rpc_answer_dropped (that
 * answer is not sent again); anything else rpc_answer_unknown.
 */
function dropAnswer(session: DcSession, reqMsgId: bigint): Buffer {
  if (session.isRunning(reqMsgId)) {
    session.dropped.add(reqMsgId);
    return TL.serialize({ _: 'rpc_answer_dropped_running' });
  }
  // Answered, but the client has not acknowledged the answer: it is not sent again.
  const sent = session.dropSentAnswer(reqMsgId);
  if (sent) return TL.serialize({ _: 'rpc_answer_dropped', ...sent } as TL.TlObject);
  return TL.serialize({ _: 'rpc_answer_unknown' });
}

/** What the built-in handlers need to know about their DC and its world. */
export interface BuiltinHost {
  readonly dcId: number;
  readonly testMode: boolean;
  serverNow(): number;
  /** Every DC of the world (this one included), with the flags help.getConfig gives them. */
  dcOptions(): TestDcOption[];
  /** How long a help.getConfig answer is valid (its `expires`), seconds. */
  readonly configTtlSec: number;
  readonly authorizations: AuthorizationRegistry;
  /** The world's accounts (login-methods.ts). */
  readonly accounts: AccountDirectory;
  /** A key of this DC by id. */
  keyRecord(authKeyId: bigint): AuthKeyRecord | undefined;
  /** Unbinds whatever temporary key is bound to `perm`. */
  unbindFrom(perm: AuthKeyRecord): void;
  /** The DC's update log (update-log.ts): updates.getState/getDifference/... answer from it. */
  readonly updateLog: UpdateLog;
  /** Pushes `updates` to every session of a user (channel messages to the other members). */
  pushToUser(userId: bigint, updates: TL.Types['Updates']): void;
  /** The world's files (file-methods.ts). */
  readonly files: FileStore;
}

/** help.getConfig: a plausible config naming the world's DCs (values as Telegram's clients expect). */
export function configOf(host: BuiltinHost): TL.Objects['config'] {
  const date = Math.floor(host.serverNow() / 1000);
  const dcs = host.dcOptions();
  return {
    _: 'config',
    date,
    expires: date + host.configTtlSec,
    testMode: host.testMode,
    thisDc: host.dcId,
    dcOptions: dcs.map((d) => ({
      _: 'dcOption',
      id: d.dcId,
      ipAddress: d.host,
      port: d.port,
      ipv6: d.ipv6 || undefined,
      mediaOnly: d.mediaOnly || undefined,
      cdn: d.cdn || undefined,
      static: d.static || undefined,
    })),
    dcTxtDomainName: 'testdc.invalid',
    chatSizeMax: 200,
    megagroupSizeMax: 200000,
    forwardedCountMax: 100,
    onlineUpdatePeriodMs: 210000,
    offlineBlurTimeoutMs: 5000,
    offlineIdleTimeoutMs: 30000,
    onlineCloudTimeoutMs: 300000,
    notifyCloudDelayMs: 30000,
    notifyDefaultDelayMs: 1500,
    pushChatPeriodMs: 60000,
    pushChatLimit: 2,
    editTimeLimit: 172800,
    revokeTimeLimit: 2147483647,
    revokePmTimeLimit: 2147483647,
    ratingEDecay: 2419200,
    stickersRecentLimit: 200,
    channelsReadMediaPeriod: 604800,
    callReceiveTimeoutMs: 20000,
    callRingTimeoutMs: 90000,
    callConnectTimeoutMs: 30000,
    callPacketTimeoutMs: 10000,
    meUrlPrefix: 'https://t.me/',
    captionLengthMax: 1024,
    messageLengthMax: 4096,
    webfileDcId: dcs.some((d) => d.dcId === 4) ? 4 : host.dcId,
  };
}

/** The handlers every TestDc has unless a test replaces them. */
export function builtinHandlers(host: BuiltinHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  add('help.getConfig', () => configOf(host));
  add('help.getNearestDc', () => ({
    _: 'nearestDc' as const,
    country: 'ZZ',
    thisDc: host.dcId,
    nearestDc: host.dcId,
  }));
  add('auth.exportAuthorization', (req, ctx) => {
    if (ctx.userId === undefined)
      return ctx.rpcError(401, host.accounts.unauthorizedReason(host.dcId, ctx.authKeyId));
    if (req.dcId === host.dcId || !host.dcOptions().some((d) => d.dcId === req.dcId)) {
      return ctx.rpcError(400, 'DC_ID_INVALID');
    }
    const t = host.authorizations.export(ctx.userId, req.dcId);
    return { _: 'auth.exportedAuthorization' as const, id: t.id, bytes: t.bytes };
  });
  add('auth.importAuthorization', (req, ctx) => {
    const userId = host.authorizations.import(req.id, req.bytes, host.dcId);
    if (userId === undefined) return ctx.rpcError(400, 'AUTH_BYTES_INVALID');
    ctx.setUserId(userId);
    return {
      _: 'auth.authorization' as const,
      user: { _: 'user' as const, self: true, id: userId, firstName: 'Test' },
    };
  });
  add('auth.bindTempAuthKey', (req, ctx) => {
    const temp = host.keyRecord(ctx.authKeyId);
    const perm = host.keyRecord(BigInt.asUintN(64, req.permAuthKeyId));
    const c = { temp, perm, msgId: ctx.msgId, sessionId: ctx.sessionId, now: host.serverNow() };
    const error = checkBinding(req, c);
    if (error || !temp || !perm) return ctx.rpcError(400, error ?? 'ENCRYPTED_MESSAGE_INVALID');
    bind(temp, perm, req.expiresAt, () => host.unbindFrom(perm));
    return true;
  });
  // Logins, and the first calls of a logged-in client (users.getUsers, updates.getState).
  for (const [name, h] of loginHandlers(host)) m.set(name, h);
  // Differences over the update log, and the RPCs whose results move pts.
  for (const [name, h] of updateHandlers(host)) m.set(name, h);
  // Peers by username and channels by id (access hashes checked as Telegram does).
  for (const [name, h] of peerHandlers(host)) m.set(name, h);
  // Uploads, downloads, FILE_MIGRATE, CDN redirects and hashes.
  for (const [name, h] of fileHandlers({ dcId: host.dcId, files: host.files })) m.set(name, h);
  return m;
}
