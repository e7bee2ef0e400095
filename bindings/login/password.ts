// The client side of 2FA (core.telegram.org/api/srp): from account.password and the
// password to inputCheckPasswordSRP. The math and the checks on the server's p, g and
// srp_B are the native module's (crates/mtcore, SRP); x's PBKDF2 runs off the main thread.

import { srpComputeCheck, srpPasswordHash } from '../native';
import type * as TL from '../tl';
import { LoginError } from './errors';

const ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow';

/** A = g^a and M1 proving `password` against this account.password's srp_B. */
export async function srpAnswer(
  pw: TL.Objects['account.password'],
  password: string,
): Promise<TL.Objects['inputCheckPasswordSRP']> {
  const algo = pw.currentAlgo;
  if (!algo || algo._ !== ALGO) {
    throw new LoginError(
      'UNSUPPORTED_PASSWORD_ALGO',
      `unsupported 2FA algorithm ${algo?._ ?? '(none)'}: update telegram-mt`,
    );
  }
  if (!pw.srpB || pw.srpId === undefined)
    throw new LoginError('UNEXPECTED_ANSWER', 'account.password without srp_B / srp_id');
  const x = await srpPasswordHash(password, algo.salt1, algo.salt2);
  try {
    const { A, M1 } = srpComputeCheck({
      x,
      salt1: algo.salt1,
      salt2: algo.salt2,
      g: algo.g,
      p: algo.p,
      srpB: pw.srpB,
    });
    return { _: 'inputCheckPasswordSRP', srpId: pw.srpId, A, M1 };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'ERR_SRP';
    throw new LoginError('SRP_CHECK_FAILED', `the server's 2FA parameters are unsafe (${code})`, e);
  } finally {
    x.fill(0);
  }
}
