// What a login fails with: LoginError and its stable codes (DESIGN.md "typed reasons").

/** Why a login (or logOut) failed. */
export type LoginErrorCode =
  | 'SIGN_UP_REQUIRED' // the phone has no account; telegram-mt does not create one
  | 'PHONE_NUMBER_INVALID' // the server refused the phone number
  | 'PHONE_NUMBER_BANNED' // the account of that phone is banned or deactivated
  | 'API_ID_INVALID' // apiId / apiHash refused
  | 'PHONE_CODE_INVALID' // every attempt (maxAttempts) had a wrong code
  | 'PHONE_CODE_EXPIRED' // the code expired (or died after too many wrong ones)
  | 'PASSWORD_REQUIRED' // the account has 2FA and no `password` callback was given
  | 'PASSWORD_INVALID' // every attempt (maxAttempts) had a wrong password
  | 'SRP_CHECK_FAILED' // the server's SRP parameters failed the checks of core.telegram.org/api/srp
  | 'UNSUPPORTED_PASSWORD_ALGO' // a 2FA algorithm other than SHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
  | 'BOT_TOKEN_INVALID' // not a bot token, or refused (ACCESS_TOKEN_INVALID / _EXPIRED)
  | 'CANCELLED' // the code or password callback threw (the error is the cause)
  | 'UNEXPECTED_ANSWER' // an answer a login cannot go on from (e.g. auth.sentCodePaymentRequired)
  | 'RPC_ERROR'; // any other RPC error (the RpcError is the cause)

export class LoginError extends Error {
  override readonly name = 'LoginError';
  constructor(
    readonly code: LoginErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
