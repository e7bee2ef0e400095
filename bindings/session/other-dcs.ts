// Connections to DCs other than the session's home, for calls that name one
// (`CallOptions.dc`, `cdn`): made on first use and shared by the calls after it,
// authorized as the session is at home (auth.exportAuthorization/importAuthorization,
// migrate.ts), or a CDN DC reached with the keys help.getCdnConfig gives
// (core.telegram.org/cdn). This file owns the pools it opens and closes them.

import type { DcDirectory } from '../dcs';
import type * as TL from '../tl';
import type { DcConnector } from './dc-connector';
import { authorizedOn } from './migrate';
import type { DcPool } from './pool/dc-pool';
import type { CallOptions, SessionError } from './types';

export interface OtherDcsHost {
  readonly connector: DcConnector;
  readonly dcs: DcDirectory;
  /** The home DC's pool (it authorizes the others) and its id. */
  home(): DcPool;
  homeDcId(): number;
  /** help.getConfig into the DC table, when due. */
  refreshDcs(): Promise<void>;
  /** Why no new connection may run now (the session closed or stopped), or null. */
  refusal(): SessionError | null;
}

export class OtherDcs {
  private readonly pools = new Map<string, Promise<DcPool>>();
  /** help.getCdnConfig's RSA keys of the CDN DCs, asked once. */
  private cdnKeys: Promise<string[]> | null = null;

  constructor(private readonly host: OtherDcsHost) {}

  /** The connections a call goes on: the home DC's, or another DC's, made on first use. */
  poolFor(options: CallOptions): DcPool | Promise<DcPool> {
    const dc = options.dc;
    if (dc === undefined || (dc === this.host.homeDcId() && !options.cdn)) return this.host.home();
    const key = `${dc}${options.cdn ? ':cdn' : ''}`;
    let p = this.pools.get(key);
    if (!p) {
      const made = this.open(dc, options.cdn === true);
      this.pools.set(key, made);
      // A failed opening is not kept: the next call tries again.
      made.catch(() => {
        if (this.pools.get(key) === made) this.pools.delete(key);
      });
      p = made;
    }
    return p;
  }

  /** Closes (or, with `error`, fails) every pool, those still being made too. */
  closeAll(error?: SessionError): void {
    for (const p of this.pools.values()) {
      p.then(
        (pool) => (error ? pool.fail(error) : pool.close()),
        () => {},
      );
    }
    this.pools.clear();
  }

  private async open(dcId: number, cdn: boolean): Promise<DcPool> {
    const host = this.host;
    if (cdn || !host.dcs.knows(dcId)) await host.refreshDcs();
    const pool = cdn
      ? await host.connector.connect(dcId, undefined, { cdn: true, rsaKeys: await this.cdnRsaKeys() })
      : await authorizedOn(host.home(), dcId, () => host.connector.connect(dcId, undefined, { media: true }));
    const refused = host.refusal();
    if (refused) {
      pool.fail(refused);
      throw refused;
    }
    return pool;
  }

  /** The CDN DCs' RSA keys (help.getCdnConfig), asked once per session. */
  private cdnRsaKeys(): Promise<string[]> {
    this.cdnKeys ??= (
      this.host.home().request({ _: 'help.getCdnConfig' } as TL.TlObject, { timeoutMs: 10_000 }) as Promise<{
        publicKeys: Array<{ publicKey: string }>;
      }>
    ).then(
      (c) => c.publicKeys.map((k) => k.publicKey),
      (e) => {
        this.cdnKeys = null;
        throw e;
      },
    );
    return this.cdnKeys;
  }
}
