// The session registry: the public API of DESIGN.md ("The public API"), and
// nothing more. `Session` is the process-wide registry; `new SessionRegistry()`
// an isolated one. Each open session is an `OpenSession` (session.ts), the one
// owner of its state; the registry names them and hands calls over.

import {
  type DownloadOptions,
  type DownloadResult,
  type DownloadTarget,
  download,
  type FileLocation,
  type FilesPort,
  type InputFile,
  type UploadOptions,
  type UploadSource,
  type UseUploaded,
  upload,
  uploadAndUse,
} from '../files';
import type { LoggedInUser, LoginApiOptions, UserLoginOptions } from '../login';
import type { PeerRef } from '../peers/resolve';
import type { SessionPeers } from '../peers/session-port';
import type { JsonValue, UpdatesState } from '../storage/types';
import type * as TL from '../tl';
import { type AttemptLimiter, connectionAttempts } from './reconnect';
import { OpenSession } from './session';
import {
  type CallOptions,
  type SendResult,
  type SendType,
  type SessionClient,
  SessionError,
  type SessionExport,
  type SessionId,
  type SessionOpenOptions,
  type SessionState,
} from './types';
import type { OrderedUpdate } from './update-feed';

export class SessionRegistry {
  private readonly sessions = new Map<SessionId, OpenSession>();
  private nextId = 1;

  /**
   * @param limiter connection attempts per address (shared by all registries by default)
   * @param defaults open options every session of this registry starts from (e.g. `{ peers: true,
   *   flood: true }`: peer store and flood control for all of them); `open`'s own options win.
   */
  constructor(
    readonly limiter: AttemptLimiter = connectionAttempts,
    readonly defaults: Pick<SessionOpenOptions, 'peers' | 'flood'> = {},
  ) {}

  /** Ids of the open sessions. */
  list(): SessionId[] {
    return [...this.sessions.keys()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Connects to DC `dcId` (or `options.address`), creates an auth key unless
   * `options.import` gives one, and resolves once the server answered a ping
   * with that key. Rejects with SessionError (BAD_OPTIONS, CONNECT_FAILED,
   * AUTH_KEY_UNKNOWN) leaving nothing behind.
   */
  async open(dcId: number, client?: SessionClient, options: SessionOpenOptions = {}): Promise<SessionId> {
    const id: SessionId = `s${this.nextId++}`;
    const opened = { ...this.defaults, ...options };
    this.sessions.set(id, await OpenSession.open(id, dcId, client, opened, this.limiter));
    return id;
  }

  private get(id: SessionId): OpenSession {
    const s = this.sessions.get(id);
    if (!s) throw new SessionError('NO_SUCH_SESSION', `no open session ${id}`);
    return s;
  }

  /** Stops the connection and timers, fails pending requests with SESSION_CLOSED, emits `closed`. */
  async close(id: SessionId): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    await s.close();
  }

  /** Everything needed to open the session elsewhere (`options.import`). Holds the key: keep it secret. */
  export(id: SessionId): SessionExport {
    return this.get(id).export();
  }

  /** Writes the updates state (pts, qts, date, seq or any JSON) to a stored session's record. */
  async saveUpdatesState(id: SessionId, state: UpdatesState | JsonValue): Promise<void> {
    return this.get(id).saveUpdatesState(state);
  }

  /** The stored updates state: as loaded, then as last saved (updates.getState answers included). */
  storedUpdatesState(id: SessionId): UpdatesState | JsonValue | undefined {
    return this.get(id).storedUpdatesState();
  }

  /**
   * Replaces the key of an open session: reconnects with it (a new MTProto
   * session). Requests pending under the old key fail with KEY_CHANGED.
   */
  async import(
    id: SessionId,
    userId: bigint | number | null,
    authKey: Buffer,
    serverSalt: bigint,
  ): Promise<void> {
    return this.get(id).import(userId, authKey, serverSalt);
  }

  /**
   * Sends one message. 'encrypted': resolves once the message was handed to
   * the socket (or queued while reconnecting... then once it is written after
   * the reconnect); its answer, if any, comes to the client as rpcResult/rpcError.
   * 'plain': an unencrypted message (auth_key_id 0) on a separate connection;
   * answers come as `message` events with msgId 0-based plain ids.
   */
  async send(
    id: SessionId,
    message: TL.TlObject | Buffer,
    type: SendType = 'encrypted',
  ): Promise<SendResult> {
    const s = this.sessions.get(id);
    if (!s) return { ok: false, reason: { code: 'SESSION_CLOSED', message: `no open session ${id}` } };
    return s.send(message, type);
  }

  /** Who is notified of this session's events from now on. */
  setClient(id: SessionId, client: SessionClient | undefined): void {
    this.get(id).setClient(client);
  }

  /**
   * Calls an API method; resolves with its decoded result. Rejects with TL's
   * RpcError (FloodWaitError, MigrateError...) or SessionError. FLOOD_WAIT_X
   * below `floodWaitThreshold` is waited out and retried; USER/PHONE/NETWORK
   * _MIGRATE_X moves the session to DC X and retries there; FILE_MIGRATE_X and
   * STATS_MIGRATE_X are surfaced (they name a DC for one file/stat request,
   * not for the account: open a session there).
   */
  async call<M extends TL.MethodName>(
    id: SessionId,
    method: M,
    params: TL.Params<M>,
    options: CallOptions = {},
  ): Promise<TL.Result<M>> {
    return this.get(id).call(method, params, options);
  }

  /**
   * The InputPeer (or with `as`, the InputUser / InputChannel) of a peer named by marked id,
   * username, Peer, User/Chat object...: from the session's peer store, else from the server
   * (bindings/peers/README.md). Rejects with PeerError (PEER_UNKNOWN, PEER_REF_INVALID,
   * PEER_KIND_MISMATCH); SessionError BAD_OPTIONS without `options.peers`.
   */
  async resolvePeer(id: SessionId, ref: PeerRef): Promise<TL.Types['InputPeer']>;
  async resolvePeer(id: SessionId, ref: PeerRef, as: 'user'): Promise<TL.Types['InputUser']>;
  async resolvePeer(id: SessionId, ref: PeerRef, as: 'channel'): Promise<TL.Types['InputChannel']>;
  async resolvePeer(id: SessionId, ref: PeerRef, as?: 'user' | 'channel'): Promise<unknown> {
    const resolver = this.peers(id)?.resolver;
    if (!resolver) throw new SessionError('BAD_OPTIONS', `${id} was not opened with options.peers`);
    if (as === 'user') return resolver.inputUser(ref);
    if (as === 'channel') return resolver.inputChannel(ref);
    return resolver.inputPeer(ref);
  }

  /** The session's peer store, resolver and flood gate (null when opened without `peers` / `flood`). */
  peers(id: SessionId): SessionPeers | null {
    return this.get(id).peerPort;
  }

  /**
   * The ordered updates of a session opened with `updates: { catchUp: true }`: each once,
   * in order, with its position; gaps to refetch. Taken (and committed) as the iterator
   * advances, unless `updates.ack` is 'manual'.
   */
  ordered(id: SessionId): AsyncIterable<OrderedUpdate> {
    return this.get(id).ordered();
  }

  /** Every ordered update up to `token` was taken (`updates.ack: 'manual'`): it may be committed. */
  acknowledge(id: SessionId, token: number): void {
    this.get(id).acknowledge(token);
  }

  /**
   * Uploads a file (bindings/files): parts in a window over the `pool.upload` connections,
   * each retried on its own. Resolves with the inputFile / inputFileBig; with `use`, with
   * what `use(file)` resolves to (FILE_PART_X_MISSING sends that part again and runs it
   * again). Rejects with FileError.
   */
  upload(id: SessionId, source: UploadSource, options?: UploadOptions): Promise<InputFile>;
  upload<R>(
    id: SessionId,
    source: UploadSource,
    options: UploadOptions & { use: UseUploaded<R> },
  ): Promise<R>;
  upload<R>(
    id: SessionId,
    source: UploadSource,
    options: UploadOptions & { use?: UseUploaded<R> } = {},
  ): Promise<InputFile | R> {
    const { use, ...rest } = options;
    const port = this.filesPort(id);
    return use ? uploadAndUse(port, source, use, rest) : upload(port, source, rest);
  }

  /**
   * Downloads a file (bindings/files): parts in a window over the `pool.download`
   * connections, on the file's DC (FILE_MIGRATE_X followed), through its CDN DC when the
   * server redirects (every part checked against its SHA-256). Resolves with the bytes,
   * or with `{ bytes, dcId, cdn }` when `to` names a file or a stream. Rejects with FileError.
   */
  download(
    id: SessionId,
    location: FileLocation,
    options?: DownloadOptions & { to?: undefined },
  ): Promise<Buffer>;
  download(
    id: SessionId,
    location: FileLocation,
    options: DownloadOptions & { to: DownloadTarget },
  ): Promise<DownloadResult>;
  download(
    id: SessionId,
    location: FileLocation,
    options: DownloadOptions = {},
  ): Promise<Buffer | DownloadResult> {
    return download(this.filesPort(id), location, options);
  }

  /** What a transfer may do with a session: call, on it or on the DC a call names. */
  private filesPort(id: SessionId): FilesPort {
    const session = this.get(id);
    return { call: (method, params, options) => session.call(method, params, options) };
  }

  /** Decoded updates of this session, with back-pressure (see updates.ts). */
  updates(id: SessionId): AsyncIterable<TL.Types['Updates']> {
    return this.get(id).updates();
  }

  /** The session's state (no key material). */
  state(id: SessionId): SessionState {
    return this.get(id).state();
  }

  /** Logs the session in as a bot (auth.importBotAuthorization); resolves with its user. Rejects with LoginError. */
  async loginBot(id: SessionId, botToken: string, options: LoginApiOptions): Promise<LoggedInUser> {
    return this.get(id).loginBot(botToken, options);
  }

  /**
   * Logs the session in as the user of `options.phone`: the code (and the 2FA password)
   * from the callbacks, PHONE_/USER_MIGRATE followed; resolves with the user. Rejects with
   * LoginError (SIGN_UP_REQUIRED for a phone without an account: none is created).
   */
  async loginUser(id: SessionId, options: UserLoginOptions): Promise<LoggedInUser> {
    return this.get(id).loginUser(options);
  }

  /** auth.logOut; the session stays open with its key, without a user. */
  async logOut(id: SessionId): Promise<void> {
    return this.get(id).logOut();
  }
}

/** The process-wide registry. */
export const Session = new SessionRegistry();
