import { StorageError } from './errors';

/** A table name for SQL text: plain identifiers only (no quoting games), then quoted. */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new StorageError('ERR_STORAGE_CONFIG', `not a plain SQL identifier: ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}
