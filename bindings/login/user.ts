// User login (core.telegram.org/api/auth): auth.sendCode, auth.signIn with the code the
// application asks the user for (again after a wrong one, up to maxAttempts), and for an
// account with 2FA account.getPassword + auth.checkPassword (password.ts). PHONE_MIGRATE_X
// and USER_MIGRATE_X are followed by the registry's call(). Sign-up is refused: no account
// is ever created (auth.cancelCode, then SIGN_UP_REQUIRED).

import type * as TL from '../tl';
import { RpcError } from '../tl';
import { ask, loginFailure, userOf } from './answers';
import { LoginError } from './errors';
import { srpAnswer } from './password';
import type { CodeRequest, LoggedInUser, LoginCalls, UserLoginOptions } from './types';

/** Fresh account.password fetched after SRP_ID_INVALID / SRP_PASSWORD_CHANGED, at most. */
const MAX_SRP_REFETCH = 3;

export async function loginUser(calls: LoginCalls, o: UserLoginOptions): Promise<LoggedInUser> {
  try {
    return await run(calls, o);
  } catch (e) {
    calls.dropPhoneCodeHash();
    throw e;
  }
}

async function run(calls: LoginCalls, o: UserLoginOptions): Promise<LoggedInUser> {
  const max = Math.max(1, o.maxAttempts ?? 3);
  let sent: TL.Types['auth.SentCode'];
  try {
    sent = await calls.call('auth.sendCode', {
      phoneNumber: o.phone,
      apiId: o.apiId,
      apiHash: o.apiHash,
      settings: o.codeSettings ?? { _: 'codeSettings' },
    });
  } catch (e) {
    throw loginFailure(e, 'auth.sendCode');
  }
  // Already authorized by a future_auth_token (api/auth#logout-tokens).
  if (sent._ === 'auth.sentCodeSuccess') return userOf(sent.authorization);
  if (sent._ !== 'auth.sentCode')
    throw new LoginError('UNEXPECTED_ANSWER', `auth.sendCode answered ${sent._}`);
  const hash = sent.phoneCodeHash;
  const type = sent.type;
  let error: CodeRequest['error'];
  for (let attempt = 1; ; attempt++) {
    const code = await ask(
      () =>
        o.code({
          phone: o.phone,
          type: type._,
          length: 'length' in type ? type.length : undefined,
          attempt,
          error,
        }),
      'code',
    );
    let auth: TL.Types['auth.Authorization'];
    try {
      auth = await calls.call('auth.signIn', { phoneNumber: o.phone, phoneCodeHash: hash, phoneCode: code });
    } catch (e) {
      const m = e instanceof RpcError ? e.errorMessage : '';
      if (m === 'PHONE_CODE_INVALID' || m === 'PHONE_CODE_EMPTY') {
        if (attempt >= max) throw new LoginError('PHONE_CODE_INVALID', `a wrong code ${attempt} times`, e);
        error = m;
        continue;
      }
      if (m === 'SESSION_PASSWORD_NEEDED') return withPassword(calls, o, max);
      throw loginFailure(e, 'auth.signIn');
    }
    if (auth._ === 'auth.authorizationSignUpRequired') {
      // The code is spent on nothing: withdraw it (best effort) before refusing.
      await calls.call('auth.cancelCode', { phoneNumber: o.phone, phoneCodeHash: hash }).catch(() => {});
    }
    return userOf(auth);
  }
}

async function withPassword(calls: LoginCalls, o: UserLoginOptions, max: number): Promise<LoggedInUser> {
  const ask2fa = o.password;
  if (!ask2fa) throw new LoginError('PASSWORD_REQUIRED', 'the account has a 2FA password; pass `password`');
  let password: string | undefined;
  let error: 'PASSWORD_HASH_INVALID' | undefined;
  let refetched = 0;
  for (let attempt = 1; ; ) {
    let pw: TL.Types['account.Password'];
    try {
      pw = await calls.call('account.getPassword', {});
    } catch (e) {
      throw loginFailure(e, 'account.getPassword');
    }
    if (!pw.hasPassword)
      throw new LoginError('UNEXPECTED_ANSWER', 'SESSION_PASSWORD_NEEDED but no password set');
    const hint = pw.hint;
    password ??= await ask(() => ask2fa({ hint, attempt, error }), 'password');
    const input = await srpAnswer(pw, password);
    try {
      return userOf(await calls.call('auth.checkPassword', { password: input }));
    } catch (e) {
      const m = e instanceof RpcError ? e.errorMessage : '';
      if (m === 'PASSWORD_HASH_INVALID') {
        if (attempt >= max) throw new LoginError('PASSWORD_INVALID', `a wrong password ${attempt} times`, e);
        attempt++;
        error = m;
        password = undefined;
        continue;
      }
      // The srp_id went stale or the password changed meanwhile: new parameters, same password.
      if ((m === 'SRP_ID_INVALID' || m === 'SRP_PASSWORD_CHANGED') && refetched++ < MAX_SRP_REFETCH) continue;
      throw loginFailure(e, 'auth.checkPassword');
    }
  }
}
