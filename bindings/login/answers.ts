// From the answers of the login methods to a user or a LoginError.

import type * as TL from '../tl';
import { RpcError } from '../tl';
import { LoginError, type LoginErrorCode } from './errors';
import type { LoggedInUser } from './types';

/** RPC errors a login reports under a code of its own (the rest: RPC_ERROR). */
const KNOWN: Record<string, LoginErrorCode> = {
  PHONE_NUMBER_INVALID: 'PHONE_NUMBER_INVALID',
  PHONE_NUMBER_BANNED: 'PHONE_NUMBER_BANNED',
  API_ID_INVALID: 'API_ID_INVALID',
  API_ID_PUBLISHED_FLOOD: 'API_ID_INVALID',
  PHONE_CODE_EXPIRED: 'PHONE_CODE_EXPIRED',
  ACCESS_TOKEN_INVALID: 'BOT_TOKEN_INVALID',
  ACCESS_TOKEN_EXPIRED: 'BOT_TOKEN_INVALID',
};

/** `e` as a LoginError when it is an RPC error; SessionErrors (closed, timeout...) stay as they are. */
export function loginFailure(e: unknown, method: string): unknown {
  if (e instanceof LoginError || !(e instanceof RpcError)) return e;
  return new LoginError(KNOWN[e.errorMessage] ?? 'RPC_ERROR', `${method}: ${e.code} ${e.errorMessage}`, e);
}

/** The user of an auth.authorization; SIGN_UP_REQUIRED / UNEXPECTED_ANSWER otherwise. */
export function userOf(auth: TL.Types['auth.Authorization']): LoggedInUser {
  if (auth._ === 'auth.authorizationSignUpRequired')
    throw new LoginError('SIGN_UP_REQUIRED', 'the phone number has no account (sign-up is not supported)');
  if (auth.user._ !== 'user') throw new LoginError('UNEXPECTED_ANSWER', `logged in as ${auth.user._}`);
  return auth.user;
}

/** The application's answer (code, password); its throw is CANCELLED. */
export async function ask<T>(fn: () => Promise<T> | T, what: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new LoginError('CANCELLED', `the ${what} callback threw: ${(e as Error)?.message ?? e}`, e);
  }
}
