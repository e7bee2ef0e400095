// The typed error of the auth-key exchange: one class, a stable `code` naming
// the check that failed, the step it failed in, and the underlying error (a
// native DH/PQ/RSA error, a TL error, a transport error) as `cause`.
// Messages never carry key material or nonces.

export type AuthKeyErrorCode =
  /** An answer's nonce is not the one this client sent. */
  | 'ERR_AUTH_NONCE_MISMATCH'
  /** An answer's server_nonce is not the one resPQ gave. */
  | 'ERR_AUTH_SERVER_NONCE_MISMATCH'
  /** None of resPQ's fingerprints names a key this client knows. */
  | 'ERR_AUTH_NO_KNOWN_RSA_KEY'
  /** resPQ's pq is not a product of two primes below 2^64. */
  | 'ERR_AUTH_BAD_PQ'
  /** The decrypted server_DH_params_ok answer fails its SHA1 (or cannot be decoded to check it). */
  | 'ERR_AUTH_ANSWER_HASH'
  /** dh_prime is not a 2048-bit safe prime. */
  | 'ERR_AUTH_DH_PRIME'
  /** g is not in 2..7 or does not generate the subgroup of order (p-1)/2. */
  | 'ERR_AUTH_DH_G'
  /** g_a is out of the mandatory range. */
  | 'ERR_AUTH_DH_GA'
  /** Our g_b was out of range for every b tried (a broken random source). */
  | 'ERR_AUTH_DH_GB'
  /** A new_nonce_hash (of server_DH_params_fail or dh_gen_*) does not match. */
  | 'ERR_AUTH_NEW_NONCE_HASH'
  /** The server refused the DH parameters request (server_DH_params_fail, hash checked). */
  | 'ERR_AUTH_DH_PARAMS_FAIL'
  /** The server answered dh_gen_fail (hash checked). */
  | 'ERR_AUTH_DH_GEN_FAIL'
  /** The server answered dh_gen_retry more often than allowed. */
  | 'ERR_AUTH_RETRY_LIMIT'
  /** A step got no answer in time (or the connection was not made in time). */
  | 'ERR_AUTH_TIMEOUT'
  /** The connection closed or failed before the exchange finished. */
  | 'ERR_AUTH_CONNECTION_CLOSED'
  /** The connection could not be made. */
  | 'ERR_AUTH_CONNECT'
  /** The server sent a transport error code (see `transportCode`). */
  | 'ERR_AUTH_TRANSPORT_ERROR'
  /** An answer that is not what the step expects: garbage, a corrupt stream, the wrong constructor. */
  | 'ERR_AUTH_BAD_RESPONSE'
  /** The caller's AbortSignal fired. */
  | 'ERR_AUTH_ABORTED'
  /** Bad options (no address, unusable RSA key...). */
  | 'ERR_AUTH_BAD_OPTIONS';

/** Where the exchange was when it failed. */
export type AuthKeyStep = 'connect' | 'req_pq' | 'req_DH_params' | 'set_client_DH_params' | 'done';

export class AuthKeyError extends Error {
  override name = 'AuthKeyError';
  readonly code: AuthKeyErrorCode;
  readonly step: AuthKeyStep;
  /** For ERR_AUTH_TRANSPORT_ERROR: the server's negative transport code (-404, -429, -444). */
  readonly transportCode?: number;

  constructor(
    code: AuthKeyErrorCode,
    step: AuthKeyStep,
    message: string,
    extra: { cause?: unknown; transportCode?: number } = {},
  ) {
    super(`${message} (${step})`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.step = step;
    if (extra.transportCode !== undefined) this.transportCode = extra.transportCode;
  }
}
