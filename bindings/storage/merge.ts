import type { SessionPatch, SessionRecord } from './types';

/**
 * What update() stores: the record with `patch` applied. `authKeys` merges per
 * DC (each DC given replaces that DC's entry whole; the others stay); every
 * other field replaces. updatedAt becomes now unless the patch sets it.
 */
export function applyPatch(record: SessionRecord, patch: SessionPatch, now = Date.now()): SessionRecord {
  const next: SessionRecord = { ...record, ...patch, name: record.name, updatedAt: patch.updatedAt ?? now };
  if (patch.authKeys) next.authKeys = { ...record.authKeys, ...patch.authKeys };
  return next;
}
