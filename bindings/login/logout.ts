// auth.logOut: the key stays, its authorization goes (core.telegram.org/method/auth.logOut).

import { loginFailure } from './answers';
import type { LoginCalls } from './types';
import { UnauthorizedError } from './unauthorized';

/** Logs the key out; a key already logged out (401) counts as done. */
export async function logOut(calls: LoginCalls): Promise<void> {
  try {
    await calls.call('auth.logOut', {});
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw loginFailure(e, 'auth.logOut');
  }
}
