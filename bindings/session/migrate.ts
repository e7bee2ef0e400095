// *_MIGRATE_X (core.telegram.org/api/datacenter): USER_, PHONE_ and
// NETWORK_MIGRATE move the account to DC X; the session follows: the
// authorization is exported on the old DC (auth.exportAuthorization), a key is
// created on the new one and the authorization imported there
// (auth.importAuthorization). FILE_ and STATS_MIGRATE concern one request and
// are surfaced to the caller.

import { type MigrateError, RpcError } from '../tl';
import type { SessionEntry, SessionRegistry } from './registry';
import { type SessionAddress, SessionError } from './types';

export function isAccountMigrate(e: MigrateError): boolean {
  return /^(USER|PHONE|NETWORK)_MIGRATE_/.test(e.errorMessage);
}

/** Where DC `dcId` is: learned addresses, help.getConfig, then the DC table. */
async function resolveDc(registry: SessionRegistry, s: SessionEntry, dcId: number): Promise<SessionAddress> {
  if (!s.knownDcs.has(dcId)) {
    try {
      const config = (await s.driver.request({ _: 'help.getConfig' } as never, 10_000)) as {
        dcOptions: Array<{
          id: number;
          ipAddress: string;
          port: number;
          ipv6: boolean;
          mediaOnly: boolean;
          cdn: boolean;
        }>;
      };
      for (const o of config.dcOptions) {
        if (o.mediaOnly || o.cdn || o.ipv6 !== !!s.options.ipv6 || s.knownDcs.has(o.id)) continue;
        s.knownDcs.set(o.id, { host: o.ipAddress, port: o.port });
      }
    } catch {
      // Fall back to the built-in table.
    }
  }
  return registry.addressOf(s, dcId);
}

export async function migrateSession(
  registry: SessionRegistry,
  s: SessionEntry,
  toDc: number,
): Promise<void> {
  const fromDc = s.dcId;
  const old = s.driver;
  try {
    const address = await resolveDc(registry, s, toDc);
    // Export even when no user id was seen (the key may have been logged in
    // elsewhere); a key without a user gets 401 and moves without authorization.
    let exported: { id: bigint; bytes: Buffer } | null = null;
    try {
      exported = (await old.request({ _: 'auth.exportAuthorization', dcId: toDc } as never, 10_000)) as {
        id: bigint;
        bytes: Buffer;
      };
    } catch (e) {
      if (!(e instanceof RpcError && e.code === 401)) throw e;
    }
    const driver = await registry.connect(s, toDc, address);
    if (exported) {
      try {
        await driver.request(
          { _: 'auth.importAuthorization', id: exported.id, bytes: exported.bytes } as never,
          10_000,
        );
      } catch (e) {
        driver.close();
        throw e;
      }
    }
    s.driver = driver;
    s.dcId = toDc;
    // Requests still pending on the old DC finish there; then its connection goes.
    s.draining.add(old);
    closeWhenIdle(old, () => s.draining.delete(old));
    s.notify({ kind: 'migrated', sessionId: s.id, fromDc, toDc });
  } catch (e) {
    if (e instanceof SessionError && e.code === 'SESSION_CLOSED') throw e;
    throw new SessionError(
      'MIGRATE_FAILED',
      `cannot move from DC ${fromDc} to DC ${toDc}: ${(e as Error).message}`,
      e,
    );
  }
}

/** Closes the old DC's connection once its requests are answered (at most 60 s later). */
function closeWhenIdle(driver: SessionEntry['driver'], done: () => void): void {
  const until = Date.now() + 60_000;
  const check = () => {
    if (driver.pending.size === 0 || driver.status === 'closed' || Date.now() > until) {
      driver.close();
      done();
    } else setTimeout(check, 200).unref();
  };
  check();
}
