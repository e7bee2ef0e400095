// Database drivers are optional peer dependencies: a user of the SQLite adapter
// does not install pg or ioredis. Each is loaded on first use, with a clear
// error when it is missing.
import { StorageDriverMissingError } from './errors';

const RANGES = { 'better-sqlite3': '12', pg: '8', ioredis: '6' } as const;
export type DriverName = keyof typeof RANGES;

/** require(name), or StorageDriverMissingError naming the package to install. */
export function loadDriver<T>(name: DriverName): T {
  try {
    return require(name) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(`'${name}'`)) {
      throw new StorageDriverMissingError(name, RANGES[name], err);
    }
    throw err;
  }
}
