// 401s that mean "this auth key is not (or no longer) logged in" (core.telegram.org/api/errors
// #401-unauthorized). SESSION_PASSWORD_NEEDED is a 401 too but belongs to a login in progress,
// and AUTH_KEY_PERM_EMPTY to an unbound temporary key: neither is a lost authorization.

import { RpcError } from '../tl';

export type UnauthorizedReason =
  | 'AUTH_KEY_UNREGISTERED'
  | 'AUTH_KEY_INVALID'
  | 'SESSION_REVOKED'
  | 'SESSION_EXPIRED'
  | 'USER_DEACTIVATED'
  | 'USER_DEACTIVATED_BAN';

const REASONS: ReadonlySet<string> = new Set<UnauthorizedReason>([
  'AUTH_KEY_UNREGISTERED',
  'AUTH_KEY_INVALID',
  'SESSION_REVOKED',
  'SESSION_EXPIRED',
  'USER_DEACTIVATED',
  'USER_DEACTIVATED_BAN',
]);

/** A call refused because the session's key is not logged in; still an RpcError (code 401). */
export class UnauthorizedError extends RpcError {
  get reason(): UnauthorizedReason {
    return this.errorMessage as UnauthorizedReason;
  }
}

/** Whether an rpc_error (code, message) is one of those 401s. */
export function isUnauthorized(code: number, message: string): message is UnauthorizedReason {
  return code === 401 && REASONS.has(message);
}

/** `e` as an UnauthorizedError when it is one of those 401s, else null. */
export function asUnauthorized(e: unknown): UnauthorizedError | null {
  if (e instanceof UnauthorizedError) return e;
  if (!(e instanceof RpcError) || !isUnauthorized(e.code, e.errorMessage)) return null;
  const u = new UnauthorizedError(e.code, e.errorMessage);
  u.stack = e.stack;
  return u;
}
