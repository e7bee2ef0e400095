// The living DC table (core.telegram.org/api/datacenter): where each DC of one
// environment is, seeded from the built-in table and refreshed from help.getConfig
// (config.dc_options) at first use and again once config.expires has passed. One
// table per environment is shared by every session of the process; sessions given
// addresses of their own (a TestDc, a private deployment) get a private table, so
// what they learn never leaks into the shared one.
//
// It is data plus a policy, without I/O: whoever uses it fetches the config when
// `stale()` says so and hands it to `apply()`. `candidates()` orders a DC's
// addresses for a connection attempt, with fallback.

import { type DcEnvironment, dcAddresses } from './table';

export interface DcEntry {
  dcId: number;
  host: string;
  port: number;
  ipv6: boolean;
  /** Only for file uploads and downloads (api/files). */
  mediaOnly: boolean;
  /** A CDN DC (api/cdn): its keys come from help.getCdnConfig. */
  cdn: boolean;
  /** Use this address when connecting through a proxy. */
  static: boolean;
  /** Connect to this port only, trying no other. */
  thisPortOnly: boolean;
  /** Only transport obfuscation is accepted here, with this secret when given. */
  tcpoOnly: boolean;
  secret?: Buffer;
  /** Who said so: options of the session, help.getConfig, or the built-in table. */
  origin: 'given' | 'config' | 'builtin';
}

/** What a connection attempt wants. */
export interface CandidateQuery {
  /** A file transfer: media-only addresses first. */
  media?: boolean;
  /** A CDN DC: only CDN addresses. */
  cdn?: boolean;
  /** Try IPv6 first, IPv4 after (else IPv4 first, IPv6 after). */
  preferIpv6?: boolean;
  /** The connection goes through a proxy: static addresses first. */
  proxied?: boolean;
  /** The transport is obfuscated (tcpo_only addresses need it). */
  obfuscated?: boolean;
}

/** help.getConfig's dc_options as decoded by bindings/tl (only the fields used). */
export interface ConfigDcOption {
  id: number;
  ipAddress: string;
  port: number;
  ipv6?: boolean;
  mediaOnly?: boolean;
  tcpoOnly?: boolean;
  cdn?: boolean;
  static?: boolean;
  thisPortOnly?: boolean;
  secret?: Buffer;
}

/** How long a config without `expires` is trusted (ms). */
const DEFAULT_TTL_MS = 3_600_000;
/** A failed refresh is not tried again sooner than this (ms). */
const RETRY_AFTER_MS = 30_000;

export class DcDirectory {
  private given: DcEntry[] = [];
  private learned: DcEntry[] = [];
  private readonly builtin: Map<number, DcEntry[]> = new Map();
  /** When the learned entries stop being trusted (local ms); -Infinity: never fetched. */
  private expiresAt = Number.NEGATIVE_INFINITY;
  private retryAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | null = null;
  /** Configs applied (tests, diagnostics). */
  refreshes = 0;
  /**
   * A config is trusted at least this long (ms), whatever its `expires` says: a server
   * clock far off ours must not make every use fetch it again.
   */
  minRefreshMs = 30_000;

  constructor(readonly environment: DcEnvironment = 'production') {}

  /** Addresses given by the application (options.address, options.dcAddresses): tried first. */
  give(dcId: number, address: { host: string; port: number }): void {
    this.given = this.given.filter(
      (e) => !(e.dcId === dcId && e.host === address.host && e.port === address.port),
    );
    this.given.push(entry(dcId, address.host, address.port, 'given'));
  }

  /** Whether anything but the built-in table knows `dcId`. */
  knows(dcId: number): boolean {
    return this.given.some((e) => e.dcId === dcId) || this.learned.some((e) => e.dcId === dcId && !e.cdn);
  }

  /** The config is due again (never fetched, or `expires` passed), and no refresh runs. */
  stale(now = Date.now()): boolean {
    return this.refreshing === null && now >= this.expiresAt && now >= this.retryAt;
  }

  /**
   * Takes help.getConfig's answer: its dc_options replace what an earlier config said;
   * given and built-in entries stay. `expires` is unix seconds on the server's clock,
   * `timeOffsetMs` the server's time minus the local time.
   */
  apply(config: { dcOptions: ConfigDcOption[]; expires?: number }, now = Date.now(), timeOffsetMs = 0): void {
    this.learned = config.dcOptions.map((o) => ({
      dcId: o.id,
      host: o.ipAddress,
      port: o.port,
      ipv6: !!o.ipv6,
      mediaOnly: !!o.mediaOnly,
      cdn: !!o.cdn,
      static: !!o.static,
      thisPortOnly: !!o.thisPortOnly,
      tcpoOnly: !!o.tcpoOnly,
      secret: o.secret,
      origin: 'config' as const,
    }));
    const expires = config.expires ? config.expires * 1000 - timeOffsetMs : now + DEFAULT_TTL_MS;
    // A config that expired on arrival is used, and asked again no sooner than this.
    this.expiresAt = Math.max(expires, now + this.minRefreshMs);
    this.refreshes++;
  }

  /**
   * Refreshes with `fetch` when stale; one refresh at a time, shared by every caller.
   * A failed fetch keeps what is known and is retried no sooner than 30 s later.
   */
  refresh(
    fetch: () => Promise<{ dcOptions: ConfigDcOption[]; expires?: number }>,
    timeOffsetMs = 0,
  ): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (!this.stale()) return Promise.resolve();
    this.refreshing = fetch()
      .then(
        (config) => this.apply(config, Date.now(), timeOffsetMs),
        () => {
          this.retryAt = Date.now() + RETRY_AFTER_MS;
        },
      )
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /**
   * Addresses of `dcId` in the order to try them: given ones, then the config's, then
   * the built-in table's (not for a DC with given addresses); within each, the preferred family first, media-only first for
   * files (and left out otherwise), static first through a proxy. Duplicates removed.
   * Throws RangeError when nothing at all is known of `dcId`.
   */
  candidates(dcId: number, q: CandidateQuery = {}): DcEntry[] {
    const fits = (e: DcEntry) =>
      e.dcId === dcId && e.cdn === !!q.cdn && (q.media || !e.mediaOnly) && (!e.tcpoOnly || !!q.obfuscated);
    const rank = (e: DcEntry) =>
      (q.media && e.mediaOnly ? 0 : 4) +
      (q.proxied && e.static ? 0 : 2) +
      (e.ipv6 === !!q.preferIpv6 ? 0 : 1);
    const out: DcEntry[] = [];
    const seen = new Set<string>();
    // Addresses the application gave for this DC are the truth about it (a test DC, a
    // private deployment): Telegram's built-in ones are no fallback for them.
    const givenHere = this.given.some((e) => e.dcId === dcId);
    const builtin = q.cdn || givenHere ? [] : this.builtinOf(dcId);
    for (const group of [this.given, this.learned, builtin]) {
      const sorted = group.filter(fits).sort((a, b) => rank(a) - rank(b));
      for (const e of sorted) {
        const k = `${e.host}:${e.port}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(e);
      }
    }
    if (out.length === 0) throw new RangeError(`no address known for ${this.environment} DC ${dcId}`);
    return out;
  }

  /** Every entry known (diagnostics): given, learned, built-in. */
  entries(): DcEntry[] {
    const builtin = [...this.builtin.values()].flat();
    return [...this.given, ...this.learned, ...builtin];
  }

  private builtinOf(dcId: number): DcEntry[] {
    let list = this.builtin.get(dcId);
    if (!list) {
      try {
        list = dcAddresses(dcId, this.environment).map((a) => ({
          ...entry(dcId, a.host, a.port, 'builtin'),
          ipv6: a.ipv6,
        }));
      } catch {
        list = [];
      }
      this.builtin.set(dcId, list);
    }
    return list;
  }
}

function entry(dcId: number, host: string, port: number, origin: DcEntry['origin']): DcEntry {
  return {
    dcId,
    host,
    port,
    ipv6: host.includes(':'),
    mediaOnly: false,
    cdn: false,
    static: false,
    thisPortOnly: false,
    tcpoOnly: false,
    origin,
  };
}

const shared = new Map<DcEnvironment, DcDirectory>();

/** The process-wide table of `environment`, shared by every session that uses the built-in addresses. */
export function dcDirectory(environment: DcEnvironment = 'production'): DcDirectory {
  let d = shared.get(environment);
  if (!d) {
    d = new DcDirectory(environment);
    shared.set(environment, d);
  }
  return d;
}
