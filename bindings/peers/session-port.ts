// What a session gets from bindings/peers (issue #14), through one small port: a peer
// store fed with every result and update, a resolver, `call()` with peer arguments
// substituted, and the flood gate around each call. Built only when `open` asks for
// `peers` or `flood`; a session without them never reaches this file.
import type { SessionStorage } from '../storage/types';

import type { PeerCache } from './cache';
import { FloodGate, type GateErrors } from './flood/gate';
import { keyOfPeer } from './harvest';
import { PeerResolver } from './resolve';
import { PeerStore } from './store';
import { substitutePeers, wantsPeers } from './substitute';
import type { PeerCallOptions, SessionFloodOptions, SessionPeersOptions } from './types';

/** What the port needs of its session. */
export interface PeersHost {
  /** The session's storage and name, when it is a stored session. */
  storage?: { storage: SessionStorage; name: string; owner?: string };
  /** The session's own call (the resolver's users.getUsers, contacts.resolveUsername...). */
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
  /** The session's errors for a call given up while queued. */
  errors: GateErrors;
  /** open's floodWaitThreshold. */
  floodWaitThreshold?: number;
  onError?(error: unknown): void;
}

/** The call options the port reads (CallOptions has them). */
export interface PortCallOptions extends PeerCallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Chained calls keep the order they were made in: they do not wait in the gate's lanes. */
  chain?: string;
}

/** The chat a call's `peer` parameter names (its marked id), for the flood controller. */
export function chatOf(params: Record<string, unknown>): bigint | undefined {
  const p = params.peer as { _?: string; userId?: bigint; chatId?: bigint; channelId?: bigint } | undefined;
  if (!p || typeof p !== 'object') return undefined;
  switch (p._) {
    case 'inputPeerUser':
    case 'inputPeerUserFromMessage':
      return keyOfPeer({ _: 'peerUser', userId: p.userId });
    case 'inputPeerChat':
      return keyOfPeer({ _: 'peerChat', chatId: p.chatId });
    case 'inputPeerChannel':
    case 'inputPeerChannelFromMessage':
      return keyOfPeer({ _: 'peerChannel', channelId: p.channelId });
    default:
      return undefined;
  }
}

export class SessionPeers {
  readonly store: PeerStore | null;
  readonly resolver: PeerResolver | null;
  readonly gate: FloodGate | null;
  private readonly substitute: boolean;
  private readonly maxWait: number;

  private constructor(
    peers: SessionPeersOptions | undefined,
    flood: SessionFloodOptions | undefined,
    host: PeersHost,
  ) {
    if (peers) {
      this.store = new PeerStore({
        cache: peers.cache as PeerCache | undefined,
        storage: host.storage?.storage,
        name: host.storage?.name,
        owner: host.storage?.owner,
        flushDelayMs: peers.flushDelayMs,
        batchSize: peers.batchSize,
        maxPending: peers.maxPending,
        onError: host.onError,
      });
      this.resolver = new PeerResolver(this.store, peers.resolve === false ? undefined : host);
    } else {
      this.store = null;
      this.resolver = null;
    }
    this.substitute = peers !== undefined && peers.substitute !== false;
    this.gate = flood ? new FloodGate({ limits: flood.limits, queue: flood.queue }, host.errors) : null;
    this.maxWait = flood?.maxWaitSeconds ?? host.floodWaitThreshold ?? 60;
  }

  /** The port, or null when `open` asked for neither. */
  static open(
    options: { peers?: boolean | SessionPeersOptions; flood?: boolean | SessionFloodOptions },
    host: PeersHost,
  ): SessionPeers | null {
    const peers = options.peers === true ? {} : options.peers || undefined;
    const flood = options.flood === true ? {} : options.flood || undefined;
    if (!peers && !flood) return null;
    return new SessionPeers(peers, flood, host);
  }

  /** Every result and every update: their peers go to the store (synchronous, no I/O). */
  observe(value: unknown): void {
    this.store?.observe(value);
  }

  /**
   * A call with its peer arguments resolved and, with flood control, queued by the gate.
   * `send` is the session's call, given the params to send and the options left (the
   * gate sees every FLOOD_WAIT itself: send gets floodWaitThreshold 0).
   */
  async call<T>(
    method: string,
    params: Record<string, unknown>,
    options: PortCallOptions,
    send: (params: Record<string, unknown>, options: PortCallOptions) => Promise<T>,
  ): Promise<T> {
    const started = Date.now();
    const p =
      this.substitute && this.resolver && wantsPeers(method, params)
        ? await substitutePeers(method, params, this.resolver)
        : params;
    const gate = this.gate;
    // A chain's calls must reach the server in the order they were made (invokeAfterMsg);
    // the lanes would reorder them across chats and priorities.
    if (!gate || options.chain !== undefined) return send(p, options);
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeoutMs;
    return gate.run(
      method,
      chatOf(p),
      {
        priority: options.priority,
        threshold: options.floodWaitThreshold ?? this.maxWait,
        deadline,
        signal: options.signal,
      },
      () =>
        send(p, {
          ...options,
          floodWaitThreshold: 0,
          timeoutMs: deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(1, deadline - Date.now()),
        }),
    );
  }

  /** Writes the store's pending peers, fails queued calls. */
  async close(): Promise<void> {
    this.gate?.close();
    await this.store?.close();
  }
}
