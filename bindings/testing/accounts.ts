// The accounts of a TestWorld (a lone TestDc is a world of one): users with a phone, a
// home DC and maybe a 2FA password; bots with a token; the login codes sent; which auth
// keys are logged in as whom. Login handlers (login-methods.ts) use it; tests use it to
// create accounts, read the codes "sent", and act as another device (revoke, move).

import { randomBytes } from 'node:crypto';
import type * as TL from '../tl';
import type { AuthKeyRecord } from './keys';
import { SrpServer, type StoredPassword } from './srp-server';

export interface TestAccount {
  id: bigint;
  accessHash: bigint;
  /** Digits only (no '+'); undefined for bots. */
  phone: string | undefined;
  firstName: string;
  lastName: string | undefined;
  username: string | undefined;
  bot: boolean;
  /** The DC the account lives on: logins elsewhere get PHONE_/USER_MIGRATE_X. */
  homeDcId: number;
  deactivated: boolean;
  /** A bot's token, `<botId>:<secret>`. */
  token: string | undefined;
  password: StoredPassword | undefined;
}

export interface AddUserOptions {
  phone: string;
  firstName?: string;
  lastName?: string;
  username?: string;
  /** A 2FA password (its verifier is stored). */
  password?: string;
  hint?: string;
  /** Default: the world's first DC. */
  homeDcId?: number;
  id?: bigint | number;
}

export interface AddBotOptions {
  /** Default `<id>:<35 random characters>`; must start with `<id>:`. */
  token?: string;
  firstName?: string;
  username?: string;
  homeDcId?: number;
  id?: bigint | number;
}

/** A code "sent" by auth.sendCode. */
export interface SentCode {
  phone: string;
  code: string;
  phoneCodeHash: string;
  /** The DC that sent it: signIn elsewhere gets PHONE_MIGRATE_X. */
  dcId: number;
  /** Server time (ms). */
  expiresAt: number;
  /** Wrong codes tried so far. */
  attempts: number;
  /** Used, replaced, cancelled, expired or out of attempts. */
  dead: boolean;
}

/** Wrong codes a phone_code_hash takes before it dies (PHONE_CODE_EXPIRED after). */
export const MAX_CODE_ATTEMPTS = 5;
/** How long a code lives (ms). */
export const CODE_TTL_MS = 5 * 60_000;

/** How a key lost its authorization, for the 401 it gets. */
type Lost = 'SESSION_REVOKED';

/** A phone as the directory keys it: digits only, or undefined when it cannot be one (5..15 digits). */
export function normalizePhone(phone: string): string | undefined {
  const digits = phone.replace(/[\s()+-]/g, '');
  return /^\d{5,15}$/.test(digits) ? digits : undefined;
}

export class AccountDirectory {
  readonly srp: SrpServer;
  private readonly users = new Map<bigint, TestAccount>();
  private readonly byPhone = new Map<string, TestAccount>();
  private readonly byUsername = new Map<string, TestAccount>();
  private readonly codesByHash = new Map<string, SentCode>();
  /** The last code sent to each phone. */
  private readonly codesByPhone = new Map<string, SentCode>();
  /** Keys logged in by a login method here (not by importAuthorization): dc:key -> user. */
  private readonly primary = new Map<string, bigint>();
  /** Keys past auth.signIn's code, waiting for the 2FA password: dc:key -> user. */
  private readonly awaitingPassword = new Map<string, bigint>();
  private readonly lost = new Map<string, Lost>();
  private readonly dcKeys = new Map<number, ReadonlyMap<bigint, AuthKeyRecord>>();
  private nextId = 1_000_000_001n;
  private passwordEpoch = 0;
  /** Called with every code sent (a test's "SMS"). */
  onCode: ((sent: Readonly<SentCode>) => void) | undefined;

  constructor(
    /** The DC new accounts live on when not told. */
    private readonly defaultDc: () => number,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.srp = new SrpServer(random);
  }

  /** @internal A DC's keys, so that revocation reaches every DC of the world. */
  attachDc(dcId: number, keys: ReadonlyMap<bigint, AuthKeyRecord>): void {
    this.dcKeys.set(dcId, keys);
  }

  // --- accounts -------------------------------------------------------------

  addUser(o: AddUserOptions): TestAccount {
    const phone = normalizePhone(o.phone);
    if (!phone) throw new RangeError(`not a phone number: ${o.phone}`);
    if (this.byPhone.has(phone)) throw new RangeError(`phone ${phone} is taken`);
    const a = this.account(o.id, {
      phone,
      firstName: o.firstName ?? 'Test',
      lastName: o.lastName,
      username: o.username,
      bot: false,
      homeDcId: o.homeDcId ?? this.defaultDc(),
      token: undefined,
    });
    this.byPhone.set(phone, a);
    if (o.password !== undefined) this.setPassword(a.id, o.password, o.hint);
    return a;
  }

  addBot(o: AddBotOptions = {}): TestAccount {
    const id = o.id === undefined ? this.nextId++ : BigInt(o.id);
    const token = o.token ?? `${id}:${this.random(27).toString('base64url').slice(0, 35)}`;
    if (!token.startsWith(`${id}:`)) throw new RangeError('a bot token starts with "<botId>:"');
    return this.account(id, {
      phone: undefined,
      firstName: o.firstName ?? 'Test bot',
      lastName: undefined,
      username: o.username ?? `test${id}_bot`,
      bot: true,
      homeDcId: o.homeDcId ?? this.defaultDc(),
      token,
    });
  }

  private account(
    id: bigint | number | undefined,
    fields: Omit<TestAccount, 'id' | 'accessHash' | 'deactivated' | 'password'>,
  ): TestAccount {
    const userId = id === undefined ? this.nextId++ : BigInt(id);
    if (this.users.has(userId)) throw new RangeError(`user ${userId} exists`);
    const username = fields.username?.toLowerCase();
    if (username !== undefined && this.byUsername.has(username))
      throw new RangeError(`username ${username} is taken`);
    const a: TestAccount = {
      ...fields,
      id: userId,
      accessHash: this.random(8).readBigInt64LE(0),
      deactivated: false,
      password: undefined,
    };
    this.users.set(userId, a);
    if (username !== undefined) this.byUsername.set(username, a);
    return a;
  }

  user(id: bigint | number): TestAccount | undefined {
    return this.users.get(BigInt(id));
  }

  /** The account with this username (any case, no '@'). */
  byUsernameOf(username: string): TestAccount | undefined {
    return this.byUsername.get(username.toLowerCase());
  }

  byPhoneNumber(phone: string): TestAccount | undefined {
    const p = normalizePhone(phone);
    return p === undefined ? undefined : this.byPhone.get(p);
  }

  /** Sets (or with null removes) a user's 2FA password; srp_ids issued before get SRP_PASSWORD_CHANGED. */
  setPassword(userId: bigint | number, password: string | null, hint?: string): void {
    const a = this.mustUser(userId);
    this.passwordEpoch++;
    a.password = password === null ? undefined : this.srp.store(password, hint, this.passwordEpoch);
  }

  /** The account moves to another DC: its logins elsewhere get USER_MIGRATE_X. */
  moveUser(userId: bigint | number, homeDcId: number): void {
    this.mustUser(userId).homeDcId = homeDcId;
  }

  /** Deactivates the account: its keys get 401 USER_DEACTIVATED, its phone PHONE_NUMBER_BANNED. */
  deactivate(userId: bigint | number): void {
    this.mustUser(userId).deactivated = true;
  }

  private mustUser(id: bigint | number): TestAccount {
    const a = this.users.get(BigInt(id));
    if (!a) throw new RangeError(`no user ${id}`);
    return a;
  }

  /**
   * The user object as `viewer` sees it (self when it is the viewer). `min`: as a member of
   * a group sees a sender it may not address (api/min): no phone, and a hash that is not
   * the real one (PEER_ID_INVALID if used).
   */
  userObject(a: TestAccount, viewer: bigint | undefined, min = false): TL.Objects['user'] {
    if (min)
      return {
        _: 'user',
        min: true,
        bot: a.bot ? true : undefined,
        id: a.id,
        accessHash: ~a.accessHash,
        firstName: a.firstName,
        username: a.username,
      };
    return {
      _: 'user',
      self: viewer === a.id ? true : undefined,
      bot: a.bot ? true : undefined,
      id: a.id,
      accessHash: a.accessHash,
      firstName: a.firstName,
      lastName: a.lastName,
      username: a.username,
      phone: a.phone,
      botInfoVersion: a.bot ? 1 : undefined,
    };
  }

  // --- codes ----------------------------------------------------------------

  /** Sends a new code to `phone` from DC `dcId` (the previous one dies). */
  sendCode(phone: string, dcId: number, nowMs: number): SentCode {
    const old = this.codesByPhone.get(phone);
    if (old) old.dead = true;
    const code = String(this.random(4).readUInt32LE(0) % 100_000).padStart(5, '0');
    const sent: SentCode = {
      phone,
      code,
      phoneCodeHash: this.random(9).toString('hex'),
      dcId,
      expiresAt: nowMs + CODE_TTL_MS,
      attempts: 0,
      dead: false,
    };
    this.codesByHash.set(sent.phoneCodeHash, sent);
    this.codesByPhone.set(phone, sent);
    this.onCode?.(sent);
    return sent;
  }

  /** The code sent by phone_code_hash (dead ones too). */
  codeByHash(hash: string): SentCode | undefined {
    return this.codesByHash.get(hash);
  }

  /** The last code sent to `phone` (what the user would read in the SMS). */
  lastCode(phone: string): string | undefined {
    const p = normalizePhone(phone);
    return p === undefined ? undefined : this.codesByPhone.get(p)?.code;
  }

  /** Expires the codes sent to `phone` (as if their time ran out). */
  expireCodes(phone: string): void {
    const p = normalizePhone(phone);
    const c = p === undefined ? undefined : this.codesByPhone.get(p);
    if (c) c.expiresAt = 0;
  }

  // --- authorizations --------------------------------------------------------

  /**
   * Whose authorization a key carries: a temporary key bound with auth.bindTempAuthKey acts
   * for its permanent key (api/pfs), so a login survives the temporary key's renewal.
   */
  private keyOf(dcId: number, authKeyId: bigint): string {
    const rec = this.dcKeys.get(dcId)?.get(authKeyId);
    return `${dcId}:${rec?.boundTo?.authKeyId ?? authKeyId}`;
  }

  /** Logs key `authKeyId` of DC `dcId` in as `userId` (a login method did). */
  authorized(dcId: number, authKeyId: bigint, userId: bigint): void {
    const k = this.keyOf(dcId, authKeyId);
    this.primary.set(k, userId);
    this.awaitingPassword.delete(k);
    this.lost.delete(k);
  }

  /** The key logged out (or was logged out): nothing remembered about it. */
  forget(dcId: number, authKeyId: bigint): void {
    const k = this.keyOf(dcId, authKeyId);
    this.primary.delete(k);
    this.awaitingPassword.delete(k);
    this.lost.delete(k);
  }

  /** The user a key logged in as by a login method on this DC (not an imported authorization). */
  primaryUser(dcId: number, authKeyId: bigint): bigint | undefined {
    return this.primary.get(this.keyOf(dcId, authKeyId));
  }

  awaitPassword(dcId: number, authKeyId: bigint, userId: bigint): void {
    this.awaitingPassword.set(this.keyOf(dcId, authKeyId), userId);
  }

  passwordPending(dcId: number, authKeyId: bigint): bigint | undefined {
    return this.awaitingPassword.get(this.keyOf(dcId, authKeyId));
  }

  /** Why an unauthorized key is: SESSION_REVOKED after `revoke`, else AUTH_KEY_UNREGISTERED. */
  unauthorizedReason(dcId: number, authKeyId: bigint): 'SESSION_REVOKED' | 'AUTH_KEY_UNREGISTERED' {
    return this.lost.get(this.keyOf(dcId, authKeyId)) ?? 'AUTH_KEY_UNREGISTERED';
  }

  /**
   * "Terminate all sessions" from another device: every key of every DC logged in as
   * `userId` is logged out; their next calls get 401 SESSION_REVOKED. Returns how many keys.
   */
  revoke(userId: bigint | number): number {
    const id = BigInt(userId);
    // First find them all: logging out a bound temporary key logs out its permanent one.
    const found: Array<[number, AuthKeyRecord]> = [];
    for (const [dcId, keys] of this.dcKeys)
      for (const key of keys.values()) if (key.userId === id) found.push([dcId, key]);
    for (const [dcId, key] of found) {
      const k = this.keyOf(dcId, key.authKeyId);
      key.userId = undefined;
      this.primary.delete(k);
      this.lost.set(k, 'SESSION_REVOKED');
    }
    for (const [k, u] of this.awaitingPassword) if (u === id) this.awaitingPassword.delete(k);
    return found.length;
  }

  /** Whether any key of the world is logged in as `userId` (the code then goes to the app). */
  hasAuthorizations(userId: bigint): boolean {
    for (const keys of this.dcKeys.values())
      for (const key of keys.values()) if (key.userId === userId) return true;
    return false;
  }
}
