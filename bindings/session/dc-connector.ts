// How a session reaches a DC: the addresses to try (from the session's DC table), a
// dialer carrying the session's options (transport, proxy, RSA keys, deadlines), and
// a DC's pool opened on the imported, the stored or a new key. It holds no state of
// its own: the session owns the table, the store and the home DC, read through the port.

import { createAuthKey } from '../auth';
import type { KeyMaterial } from '../auth/key';
import { type DcDirectory, handshakeDcId } from '../dcs';
import type * as TL from '../tl';
import { secretTransportKind } from '../transport';
import { createKey, type Dialer } from './dialer';
import { Driver } from './driver';
import type { Notify } from './notify';
import type { SessionStore } from './persist';
import { DcPool } from './pool/dc-pool';
import type { AttemptLimiter } from './reconnect';
import { type SessionAddress, SessionError, type SessionId, type SessionOpenOptions } from './types';

/** Where a pool of another DC connects: media-only addresses first, or a CDN DC with its own keys. */
export interface DcPlace {
  media?: boolean;
  cdn?: boolean;
  rsaKeys?: string[];
}

/** What the connector reads of its session. */
export interface ConnectorHost {
  readonly id: SessionId;
  readonly options: SessionOpenOptions;
  readonly limiter: AttemptLimiter;
  readonly dcs: DcDirectory;
  readonly notify: Notify;
  /** The stored record (keys, temporary keys, the lease gate), or null without storage. */
  store(): SessionStore | null;
  /** The DC the session lives on now (it moves with a migration). */
  homeDcId(): number;
  /** The server clock's offset (ms) as the home connection knows it, once connected. */
  timeOffsetMs(): number | undefined;
  /** An `Updates` object pushed on any connection. */
  onUpdate(update: TL.Types['Updates']): void;
  /** A new MTProto session on the home DC: updates pushed to the old one may be lost. */
  onHomeSessionCreated(): void;
  /** `pool`'s connection is gone for good. */
  onPoolEnded(pool: DcPool): void;
}

export class DcConnector {
  constructor(private readonly host: ConnectorHost) {}

  /** Where `dcId` is, in the order to try: given addresses, help.getConfig's, the built-in table. */
  addressesOf(dcId: number, place: DcPlace = {}): SessionAddress[] {
    const o = this.host.options;
    try {
      return this.host.dcs
        .candidates(dcId, {
          media: place.media,
          cdn: place.cdn,
          preferIpv6: o.ipv6,
          proxied: o.proxy !== undefined,
          obfuscated: !!o.transport?.obfuscated || o.transport?.secret !== undefined,
        })
        .map((e) => ({ host: e.host, port: e.port, mediaOnly: e.mediaOnly }));
    } catch (e) {
      throw new SessionError('BAD_OPTIONS', (e as Error).message, e);
    }
  }

  /**
   * The connections of `dcId` on the imported key, the stored one, or a new one (stored
   * before any connection uses it).
   */
  async connect(dcId: number, imported?: KeyMaterial, place: DcPlace = {}): Promise<DcPool> {
    const host = this.host;
    const dialer = this.dialer(dcId, this.addressesOf(dcId, place), place);
    // connectTimeoutMs bounds all of it: key exchange, connection, binding, retries.
    const deadline = Date.now() + dialer.timeoutMs;
    // A CDN DC's key is its own business: not stored, not reused.
    const store = place.cdn ? null : host.store();
    let key = imported ?? store?.keyFor(dcId);
    let created: bigint | null = null;
    if (!key) {
      const k = await createKey(dialer, undefined, deadline);
      key = k;
      created = k.authKeyId;
    }
    await store?.useKey(dcId, key);
    if (created !== null) host.notify({ kind: 'authKeyCreated', sessionId: host.id, authKeyId: created });
    const authKey = key.authKey;
    const home = place.media === undefined && place.cdn === undefined;
    let pool: DcPool | undefined;
    pool = await DcPool.open(
      {
        sessionId: host.id,
        // A CDN DC binds no temporary key (it has no authorization to bind to).
        options: place.cdn ? { ...host.options, pfs: false } : host.options,
        dialer,
        notify: host.notify,
        withoutUpdates: !home,
        // PFS: the temporary key is kept with the stored session, so the next owner (a
        // takeover, a restart) reuses it instead of making and binding another.
        tempKeys: store
          ? {
              load: () => store.tempKeyFor(dcId, authKey),
              save: (k) => store.useTempKey(dcId, authKey, k),
            }
          : undefined,
        onEnded: () => {
          if (pool !== undefined) host.onPoolEnded(pool);
        },
      },
      key,
      deadline,
    );
    return pool;
  }

  /** How keys and connections to `dcId` are made with the session's options. */
  private dialer(
    dcId: number,
    addresses: Array<SessionAddress & { mediaOnly?: boolean }>,
    place: DcPlace,
  ): Dialer {
    const host = this.host;
    const o = host.options;
    // A dd/ee MTProxy secret without a named transport: padded intermediate.
    const transport = { ...o.transport, kind: o.transport?.kind ?? secretTransportKind(o.transport?.secret) };
    // A media-only address is asked for by its negative DC id (p_q_inner_data_dc, obfuscated2).
    const media = addresses[0]?.mediaOnly === true;
    const wireDcId = handshakeDcId(dcId, o.environment, media);
    const rsaKeys = place.rsaKeys ? [...(o.rsaKeys ?? []), ...place.rsaKeys] : o.rsaKeys;
    const store = host.store();
    const mayTransmit = store ? () => store.mayTransmit() : undefined;
    return {
      dcId,
      addresses,
      reconnect: o.reconnect,
      timeoutMs: o.connectTimeoutMs ?? 10_000,
      exchangeKey: (temp, deadline) =>
        createAuthKey({
          addresses,
          dcId,
          media,
          environment: o.environment,
          transport: transport.kind,
          obfuscated: transport.obfuscated,
          secret: transport.secret,
          proxy: o.proxy,
          // An `ee` hello is stamped on the server's clock as this session knows it
          // (a temp key renewal through a fake-TLS MTProxy with a skewed local clock).
          timeOffsetMs: host.timeOffsetMs() ?? (o.import?.timeOffset ?? 0) * 1000,
          rsaKeys,
          timeoutMs: Math.max(1, Math.min(o.connectTimeoutMs ?? 10_000, deadline - Date.now())),
          // The whole exchange, retries included, ends by the deadline.
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
          temp,
        }),
      newDriver: (key, hooks) => {
        try {
          return new Driver({
            sessionId: host.id,
            dcId,
            wireDcId,
            addresses,
            transport,
            authKey: key.authKey,
            salt: key.serverSalt,
            timeOffset: (key.timeOffset ?? 0) * 1000,
            options: o,
            notify: host.notify,
            limiter: host.limiter,
            mayTransmit,
            onUpdate: (u) => host.onUpdate(u),
            onSessionCreated: dcId === host.homeDcId() ? () => host.onHomeSessionCreated() : undefined,
            ...hooks,
          });
        } catch (e) {
          throw new SessionError('BAD_OPTIONS', (e as Error).message, e);
        }
      },
    };
  }
}
