// *_MIGRATE_X (core.telegram.org/api/datacenter): USER_, PHONE_ and
// NETWORK_MIGRATE move the account to DC X; the session follows: the
// authorization is exported on the old DC (auth.exportAuthorization), a key is
// created on the new one and the authorization imported there
// (auth.importAuthorization). FILE_ and STATS_MIGRATE concern one request and
// are surfaced to the caller. This file makes the new DC's connections and
// hands them to the session, which moves over (it writes nothing itself).

import { type MigrateError, RpcError } from '../tl';
import type { DcPool } from './pool/dc-pool';
import { type SessionAddress, SessionError } from './types';

export function isAccountMigrate(e: MigrateError): boolean {
  return /^(USER|PHONE|NETWORK)_MIGRATE_/.test(e.errorMessage);
}

/** What a migration needs from its session. */
export interface MigrationPort {
  /** The connections to the DC being left. */
  readonly from: DcPool;
  readonly fromDc: number;
  /** Whether the session knows where `dcId` is without asking (options, learned addresses). */
  knowsAddress(dcId: number): boolean;
  /** Addresses from a help.getConfig answer (config.dc_options). */
  learnAddresses(dcOptions: DcOption[]): void;
  /** Where `dcId` is: learned, given, or the built-in table. */
  addressOf(dcId: number): SessionAddress;
  /** The new DC's connections, with a key stored or made there. */
  connect(dcId: number, address: SessionAddress): Promise<DcPool>;
}

export interface DcOption {
  id: number;
  ipAddress: string;
  port: number;
  ipv6: boolean;
  mediaOnly: boolean;
  cdn: boolean;
}

const STEP_TIMEOUT_MS = 10_000;

/** Where DC `dcId` is: learned addresses, help.getConfig, then the DC table. */
async function resolveDc(port: MigrationPort, dcId: number): Promise<SessionAddress> {
  if (!port.knowsAddress(dcId)) {
    try {
      const config = (await port.from.main.request({ _: 'help.getConfig' } as never, STEP_TIMEOUT_MS)) as {
        dcOptions: DcOption[];
      };
      port.learnAddresses(config.dcOptions);
    } catch {
      // Fall back to the built-in table.
    }
  }
  return port.addressOf(dcId);
}

/**
 * The connections of DC `toDc`, authorized there as the account was on the old DC.
 * Rejects with MIGRATE_FAILED (or SESSION_CLOSED), leaving the session where it was.
 */
export async function migrate(port: MigrationPort, toDc: number): Promise<DcPool> {
  const fromDc = port.fromDc;
  try {
    const address = await resolveDc(port, toDc);
    // Export even when no user id was seen (the key may have been logged in
    // elsewhere); a key without a user gets 401 and moves without authorization.
    let exported: { id: bigint; bytes: Buffer } | null = null;
    try {
      exported = (await port.from.main.request(
        { _: 'auth.exportAuthorization', dcId: toDc } as never,
        STEP_TIMEOUT_MS,
      )) as { id: bigint; bytes: Buffer };
    } catch (e) {
      if (!(e instanceof RpcError && e.code === 401)) throw e;
    }
    const pool = await port.connect(toDc, address);
    if (exported) {
      try {
        await pool.main.request(
          { _: 'auth.importAuthorization', id: exported.id, bytes: exported.bytes } as never,
          STEP_TIMEOUT_MS,
        );
      } catch (e) {
        pool.close();
        throw e;
      }
    }
    return pool;
  } catch (e) {
    if (e instanceof SessionError && e.code === 'SESSION_CLOSED') throw e;
    throw new SessionError(
      'MIGRATE_FAILED',
      `cannot move from DC ${fromDc} to DC ${toDc}: ${(e as Error).message}`,
      e,
    );
  }
}
