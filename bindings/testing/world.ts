// TestWorld: several TestDcs (one per DC id, each on its own port) sharing one RSA key,
// listing each other in help.getConfig, and honouring each other's exported
// authorizations (auth.exportAuthorization on one, auth.importAuthorization on another).
// They share one file store (a file is held by one DC; the others answer FILE_MIGRATE_X);
// with `media`, each also listens on a media-only address; with `cdn`, a CDN DC with its
// own RSA key serves the files marked for it (help.getCdnConfig gives its key).

import type * as TL from '../tl';
import { AccountDirectory } from './accounts';
import { AuthorizationRegistry } from './authorizations';
import { FileStore } from './file-store';
import { generateTestRsaKey, type RsaPublicKeyInfo, sharedTestRsaKey, type TestRsaKey } from './rsa-key';
import { TestDc } from './test-dc';
import type { Handler, TestDcOptions } from './types';
import type { WorldLink } from './world-link';

export interface TestWorldOptions extends Omit<TestDcOptions, 'dcId' | 'port' | 'cdn'> {
  /** The DC ids to start (default 1..5). */
  dcs?: number[];
  /** A CDN DC (default id 203) with its own RSA key (default: a fresh one). */
  cdn?: { dcId?: number; rsaKey?: TestRsaKey };
}

export class TestWorld {
  readonly dcs: ReadonlyMap<number, TestDc>;
  readonly rsaPublicKey: RsaPublicKeyInfo;
  /** Users, bots, login codes and 2FA passwords of every DC (addUser, addBot, lastCode, revoke...). */
  readonly accounts: AccountDirectory;
  /** Uploads, stored files, CDN copies and file faults of every DC (file-store.ts). */
  readonly files: FileStore;
  /** The CDN DC (`cdn` option), if any. */
  readonly cdn: TestDc | undefined;

  private constructor(
    dcs: Map<number, TestDc>,
    key: RsaPublicKeyInfo,
    link: WorldLink,
    cdn: TestDc | undefined,
  ) {
    this.dcs = dcs;
    this.rsaPublicKey = key;
    this.accounts = link.accounts;
    this.files = link.files;
    this.cdn = cdn;
  }

  /** Starts one TestDc per DC id; they share one RSA key. */
  static async start(options: TestWorldOptions = {}): Promise<TestWorld> {
    const ids = options.dcs ?? [1, 2, 3, 4, 5];
    if (ids.length === 0 || new Set(ids).size !== ids.length)
      throw new RangeError('dcs must be distinct DC ids');
    const k = options.rsaKey;
    const rsaKey =
      k === 'shared' ? sharedTestRsaKey() : k === undefined || k === 'generate' ? generateTestRsaKey() : k;
    const dcs = new Map<number, TestDc>();
    let cdn: TestDc | undefined;
    const link: WorldLink = {
      dcOptions: () => [...dcs.values(), ...(cdn ? [cdn] : [])].flatMap((d) => d.addresses()),
      authorizations: new AuthorizationRegistry(),
      accounts: new AccountDirectory(() => ids[0]),
      files: new FileStore(() => ids[0]),
    };
    const { dcs: _ids, cdn: cdnOptions, ...dcOptions } = options;
    try {
      for (const dcId of ids) {
        dcs.set(dcId, await TestDc.create({ ...dcOptions, dcId, rsaKey }, link));
      }
      if (cdnOptions) {
        const dcId = cdnOptions.dcId ?? 203;
        if (dcs.has(dcId)) throw new RangeError(`the CDN DC ${dcId} is also a DC of the world`);
        const own = cdnOptions.rsaKey ?? generateTestRsaKey();
        cdn = await TestDc.create({ ...dcOptions, media: false, dcId, rsaKey: own, cdn: true }, link);
        link.files.cdnDcs.set(dcId, cdn.rsaPublicKey.pem);
      }
    } catch (e) {
      await Promise.all([...dcs.values(), ...(cdn ? [cdn] : [])].map((d) => d.stop()));
      throw e;
    }
    const { modulus, exponent, pem, fingerprint } = rsaKey;
    return new TestWorld(dcs, { modulus, exponent, pem, fingerprint }, link, cdn);
  }

  /** The TestDc of a DC id. */
  dc(dcId: number): TestDc {
    const d = this.dcs.get(dcId);
    if (!d) throw new RangeError(`no DC ${dcId} in this world`);
    return d;
  }

  /** Every DC's address. */
  dcOptions(): Array<{ dcId: number; host: string; port: number }> {
    return [...this.dcs.values()].map((d) => ({ dcId: d.dcId, host: d.host, port: d.port }));
  }

  /** The DC or the CDN DC of an id. */
  anyDc(dcId: number): TestDc {
    if (this.cdn?.dcId === dcId) return this.cdn;
    return this.dc(dcId);
  }

  /** Registers `handler` on every DC. */
  handle<M extends TL.MethodName>(method: M, handler: Handler<M>): this {
    for (const d of this.dcs.values()) d.handle(method, handler);
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.dcs.values(), ...(this.cdn ? [this.cdn] : [])].map((d) => d.stop()));
  }
}
