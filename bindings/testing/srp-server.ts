// The server side of 2FA (core.telegram.org/api/srp): a password is stored as its
// verifier v = g^x mod p with salts; every account.getPassword draws a fresh secret b,
// sends srp_B = k*v + g^b mod p under a new srp_id, and auth.checkPassword proves the
// client's (A, M1) against that b. The big-number math is the native module's
// (srpVerifier / srpServerB / srpServerCheck); this file keeps the state.

import { randomBytes } from 'node:crypto';
import { srpServerB, srpServerCheck, srpVerifier } from '../native';
import type * as TL from '../tl';
import { TELEGRAM_DH_G, TELEGRAM_DH_PRIME } from './dh';

/** What a server keeps of a 2FA password (never the password itself). */
export interface StoredPassword {
  salt1: Buffer;
  salt2: Buffer;
  g: number;
  p: Buffer;
  /** The verifier g^x mod p, 256 bytes. */
  v: Buffer;
  hint: string | undefined;
  /** Bumped on every change: an srp_id issued before a change is answered SRP_PASSWORD_CHANGED. */
  epoch: number;
}

/** One account.getPassword answer's secret side. */
interface SrpChallenge {
  userId: bigint;
  epoch: number;
  b: Buffer;
  gB: Buffer;
}

export type SrpVerdict = 'ok' | 'SRP_ID_INVALID' | 'SRP_PASSWORD_CHANGED' | 'PASSWORD_HASH_INVALID';

/** The algorithm every current Telegram server announces. */
const ALGO = 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow' as const;

export class SrpServer {
  private readonly challenges = new Map<bigint, SrpChallenge>();

  constructor(private readonly random: (n: number) => Buffer = randomBytes) {}

  /**
   * Stores `password`: salt1 is the server's 8 bytes extended with 32 random ones, as
   * clients do when they set a password (api/srp "Setting a new 2FA password").
   */
  store(password: string, hint: string | undefined, epoch: number): StoredPassword {
    const salt1 = this.random(40);
    const salt2 = this.random(16);
    const v = srpVerifier(password, salt1, salt2, TELEGRAM_DH_G, TELEGRAM_DH_PRIME);
    return { salt1, salt2, g: TELEGRAM_DH_G, p: TELEGRAM_DH_PRIME, v, hint, epoch };
  }

  /** account.password for `userId` (fresh srp_B and srp_id when it has a password). */
  accountPassword(userId: bigint, stored: StoredPassword | undefined): TL.Objects['account.password'] {
    const common = {
      _: 'account.password' as const,
      newAlgo: {
        _: ALGO,
        salt1: this.random(8),
        salt2: this.random(16),
        g: TELEGRAM_DH_G,
        p: TELEGRAM_DH_PRIME,
      },
      newSecureAlgo: {
        _: 'securePasswordKdfAlgoPBKDF2HMACSHA512iter100000' as const,
        salt: this.random(8),
      },
      secureRandom: this.random(32),
    };
    if (!stored) return common;
    const b = this.random(256);
    const gB = srpServerB(stored.v, stored.g, stored.p, b);
    let srpId: bigint;
    do srpId = this.random(8).readBigInt64LE(0);
    while (this.challenges.has(srpId));
    this.challenges.set(srpId, { userId, epoch: stored.epoch, b, gB });
    return {
      ...common,
      hasPassword: true,
      currentAlgo: { _: ALGO, salt1: stored.salt1, salt2: stored.salt2, g: stored.g, p: stored.p },
      srpB: gB,
      srpId,
      hint: stored.hint,
    };
  }

  /**
   * Checks inputCheckPasswordSRP for `userId`. An srp_id is good for one check (the
   * client asks account.getPassword again for the next); A out of range is a wrong proof.
   */
  check(
    userId: bigint,
    stored: StoredPassword | undefined,
    input: TL.Types['InputCheckPasswordSRP'],
  ): SrpVerdict {
    if (input._ !== 'inputCheckPasswordSRP') return 'PASSWORD_HASH_INVALID';
    const c = this.challenges.get(input.srpId);
    if (!c || c.userId !== userId) return 'SRP_ID_INVALID';
    this.challenges.delete(input.srpId);
    if (!stored || stored.epoch !== c.epoch) return 'SRP_PASSWORD_CHANGED';
    let ok = false;
    try {
      ok = srpServerCheck(
        stored.v,
        stored.g,
        stored.p,
        stored.salt1,
        stored.salt2,
        input.A,
        c.gB,
        c.b,
        input.M1,
      );
    } catch {
      ok = false; // ERR_SRP_BAD_A: A outside 1 < A < p - 1 proves nothing.
    }
    return ok ? 'ok' : 'PASSWORD_HASH_INVALID';
  }
}
