// The server salts of one authorization key: which salts clients may use when.
// Spec (https://core.telegram.org/mtproto/description#server-salt): a salt changes
// every 30 minutes; here each one is valid for an hour, so consecutive salts overlap
// by 30 minutes and a client switching late is still accepted. The first salt comes
// from the key exchange (new_nonce XOR server_nonce).

import { randomBytes } from 'node:crypto';

export interface FutureSalt {
  validSince: number;
  validUntil: number;
  salt: bigint;
}

/** Seconds between two salts, and how long each is valid. */
export const SALT_PERIOD = 1800;
export const SALT_LIFETIME = 3600;

export class SaltSchedule {
  private salts: FutureSalt[] = [];
  /** Bumped on every change, so sessions re-read the schedule lazily. */
  version = 0;

  constructor(
    first: bigint,
    nowS: number,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.salts.push({ validSince: nowS - 60, validUntil: nowS + SALT_LIFETIME, salt: first });
  }

  /** Salts valid at `nowS` or later, at least `count` of them (get_future_salts, 1..64). */
  future(nowS: number, count: number): FutureSalt[] {
    this.extend(nowS, count);
    return this.salts.filter((s) => s.validUntil > nowS).slice(0, count);
  }

  /** The salt to name in bad_server_salt at `nowS`: the newest one already valid. */
  current(nowS: number): bigint {
    this.extend(nowS, 2);
    let best = this.salts[0];
    for (const s of this.salts) if (s.validSince <= nowS && s.validUntil > nowS) best = s;
    return best.salt;
  }

  /** Everything a session checks against (current and upcoming). */
  all(nowS: number): FutureSalt[] {
    this.extend(nowS, 2);
    return this.salts.filter((s) => s.validUntil > nowS);
  }

  /** Makes every salt known so far invalid and starts a new one now (fault: bad_server_salt). */
  rotate(nowS: number): bigint {
    const salt = this.random(8).readBigUInt64LE(0);
    this.salts = [{ validSince: nowS - 1, validUntil: nowS + SALT_LIFETIME, salt }];
    this.version++;
    return salt;
  }

  /** Appends salts until `count` are valid at or after `nowS`, and drops expired ones. */
  private extend(nowS: number, count: number): void {
    const firstValid = this.salts.findIndex((s) => s.validUntil > nowS);
    let changed = firstValid !== 0;
    // Expired salts go; the last one stays as the anchor of the chain.
    this.salts = firstValid === -1 ? this.salts.slice(-1) : this.salts.slice(firstValid);
    let valid = this.salts.filter((s) => s.validUntil > nowS).length;
    while (valid < count) {
      const lastStart = this.salts[this.salts.length - 1].validSince;
      const since = Math.max(lastStart + SALT_PERIOD, nowS - SALT_PERIOD);
      this.salts.push({
        validSince: since,
        validUntil: since + SALT_LIFETIME,
        salt: this.random(8).readBigUInt64LE(0),
      });
      valid++;
      changed = true;
    }
    if (changed) this.version++;
  }
}
