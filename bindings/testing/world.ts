// TestWorld: several TestDcs (one per DC id, each on its own port) sharing one RSA key,
// listing each other in help.getConfig, and honouring each other's exported
// authorizations (auth.exportAuthorization on one, auth.importAuthorization on another).

import type * as TL from '../tl';
import { AccountDirectory } from './accounts';
import { AuthorizationRegistry } from './authorizations';
import { generateTestRsaKey, type RsaPublicKeyInfo, sharedTestRsaKey } from './rsa-key';
import { TestDc } from './test-dc';
import type { Handler, TestDcOptions } from './types';
import type { WorldLink } from './world-link';

export interface TestWorldOptions extends Omit<TestDcOptions, 'dcId' | 'port'> {
  /** The DC ids to start (default 1..5). */
  dcs?: number[];
}

export class TestWorld {
  readonly dcs: ReadonlyMap<number, TestDc>;
  readonly rsaPublicKey: RsaPublicKeyInfo;
  /** Users, bots, login codes and 2FA passwords of every DC (addUser, addBot, lastCode, revoke...). */
  readonly accounts: AccountDirectory;

  private constructor(dcs: Map<number, TestDc>, key: RsaPublicKeyInfo, accounts: AccountDirectory) {
    this.dcs = dcs;
    this.rsaPublicKey = key;
    this.accounts = accounts;
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
    const link: WorldLink = {
      dcOptions: () => [...dcs.values()].map((d) => ({ dcId: d.dcId, host: d.host, port: d.port })),
      authorizations: new AuthorizationRegistry(),
      accounts: new AccountDirectory(() => ids[0]),
    };
    try {
      for (const dcId of ids) {
        const { dcs: _ids, ...dcOptions } = options;
        dcs.set(dcId, await TestDc.create({ ...dcOptions, dcId, rsaKey }, link));
      }
    } catch (e) {
      await Promise.all([...dcs.values()].map((d) => d.stop()));
      throw e;
    }
    const { modulus, exponent, pem, fingerprint } = rsaKey;
    return new TestWorld(dcs, { modulus, exponent, pem, fingerprint }, link.accounts);
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

  /** Registers `handler` on every DC. */
  handle<M extends TL.MethodName>(method: M, handler: Handler<M>): this {
    for (const d of this.dcs.values()) d.handle(method, handler);
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.dcs.values()].map((d) => d.stop()));
  }
}
