// *_MIGRATE_X (core.telegram.org/api/datacenter): USER_, PHONE_ and
// NETWORK_MIGRATE move the account to DC X; the session follows: the
// authorization is exported on the old DC (auth.exportAuthorization), a key is
// created on the new one and the authorization imported there
// (auth.importAuthorization). FILE_ and STATS_MIGRATE concern one request and
// are surfaced to the caller. This file makes the new DC's connections and
// hands them to the session, which moves over (it writes nothing itself).

import { type MigrateError, RpcError } from '../tl';
import type { DcPool } from './pool/dc-pool';
import { SessionError } from './types';

export function isAccountMigrate(e: MigrateError): boolean {
  return /^(USER|PHONE|NETWORK)_MIGRATE_/.test(e.errorMessage);
}

/** What a migration needs from its session. */
export interface MigrationPort {
  /** The connections to the DC being left. */
  readonly from: DcPool;
  readonly fromDc: number;
  /** Whether the session knows where `dcId` is without asking (options, the DC table's config). */
  knowsAddress(dcId: number): boolean;
  /** Refreshes the DC table from help.getConfig (failures keep what is known). */
  refreshDcs(): Promise<void>;
  /** The new DC's connections (its addresses from the DC table), with a key stored or made there. */
  connect(dcId: number): Promise<DcPool>;
}

const STEP_TIMEOUT_MS = 10_000;

/**
 * The connections of DC `toDc`, authorized there as the account was on the old DC.
 * Rejects with MIGRATE_FAILED (or SESSION_CLOSED), leaving the session where it was.
 */
export async function migrate(port: MigrationPort, toDc: number): Promise<DcPool> {
  const fromDc = port.fromDc;
  try {
    // Where is it? Ask the DC being left when the table does not know (else the built-in table).
    if (!port.knowsAddress(toDc)) await port.refreshDcs();
    return await authorizedOn(port.from, toDc, () => port.connect(toDc));
  } catch (e) {
    if (e instanceof SessionError && e.code === 'SESSION_CLOSED') throw e;
    throw new SessionError(
      'MIGRATE_FAILED',
      `cannot move from DC ${fromDc} to DC ${toDc}: ${(e as Error).message}`,
      e,
    );
  }
}

/**
 * Connections to DC `toDc` (made by `connect`) that carry the authorization the key of
 * `from` has: auth.exportAuthorization there, auth.importAuthorization on the new DC
 * (core.telegram.org/api/datacenter). Exported even when no user id was seen (the key
 * may have been logged in elsewhere); a key without a user gets 401 and its new
 * connections stay without one.
 */
export async function authorizedOn(
  from: DcPool,
  toDc: number,
  connect: () => Promise<DcPool>,
): Promise<DcPool> {
  let exported: { id: bigint; bytes: Buffer } | null = null;
  try {
    exported = (await from.main.request({ _: 'auth.exportAuthorization', dcId: toDc } as never, {
      timeoutMs: STEP_TIMEOUT_MS,
    })) as { id: bigint; bytes: Buffer };
  } catch (e) {
    if (!(e instanceof RpcError && e.code === 401)) throw e;
  }
  const pool = await connect();
  if (exported) {
    try {
      await pool.main.request(
        { _: 'auth.importAuthorization', id: exported.id, bytes: exported.bytes } as never,
        { timeoutMs: STEP_TIMEOUT_MS },
      );
    } catch (e) {
      pool.close();
      throw e;
    }
  }
  return pool;
}
