// Public types of the login flows.

import type * as TL from '../tl';

/** The application's credentials (my.telegram.org), sent with auth.sendCode / importBotAuthorization. */
export interface LoginApiOptions {
  apiId: number;
  apiHash: string;
}

/** What `code()` is told when a code is due. */
export interface CodeRequest {
  /** The phone as given. */
  phone: string;
  /** How the code was sent: 'auth.sentCodeTypeApp', 'auth.sentCodeTypeSms', ... */
  type: TL.Types['auth.SentCodeType']['_'];
  /** Its length, when the server says. */
  length: number | undefined;
  /** 1 for the first code asked, 2 after a wrong one, ... */
  attempt: number;
  /** Why it is asked again. */
  error?: 'PHONE_CODE_INVALID' | 'PHONE_CODE_EMPTY';
}

/** What `password()` is told when the 2FA password is due. */
export interface PasswordRequest {
  hint: string | undefined;
  /** 1 for the first password asked, 2 after a wrong one, ... */
  attempt: number;
  /** Why it is asked again. */
  error?: 'PASSWORD_HASH_INVALID';
}

export interface UserLoginOptions extends LoginApiOptions {
  phone: string;
  /** The code the user received. */
  code(info: CodeRequest): Promise<string> | string;
  /** The 2FA password, when the account has one. */
  password?(info: PasswordRequest): Promise<string> | string;
  /** Codes and passwords asked at most this many times each (default 3). */
  maxAttempts?: number;
  /** auth.sendCode's settings (default: none set). */
  codeSettings?: TL.Objects['codeSettings'];
}

/** The logged-in account. */
export type LoggedInUser = TL.Objects['user'];

/** What a login flow needs of its session (the registry provides it). */
export interface LoginCalls {
  call<M extends TL.MethodName>(method: M, params: TL.Params<M>): Promise<TL.Result<M>>;
  /** Drops the session's phone_code_hash (a login that will not go on). */
  dropPhoneCodeHash(): void;
}
