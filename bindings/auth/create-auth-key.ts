// createAuthKey: runs the sans-IO AuthKeyExchange over a TransportConnection,
// with a timeout on every step, bounded attempts, and nothing left behind
// (socket, timer, abort listener) once the promise settles.
import { type DcEnvironment, dcAddresses, handshakeDcId } from '../dcs';
import {
  type ProxyOptions,
  proxyFailureCode,
  secretTransportKind,
  TransportConnection,
  TransportConnectionError,
  type TransportKind,
} from '../transport';
import { testDhPrimeShared } from './dh-prime';
import { AuthKeyError, type AuthKeyStep } from './errors';
import {
  AuthKeyExchange,
  type AuthKeyExchangeOptions,
  type AuthKeyResult,
  type ExchangeStep,
} from './exchange';
import { PlainMsgIds, unwrapPlain, wrapPlain } from './plain';
import { type RsaKeyInput, RsaKeyring, type TelegramKeySet } from './rsa-keys';

export interface CreateAuthKeyOptions {
  /** Address to connect to; by default the first bootstrap address of `dcId` in `environment`. */
  host?: string;
  port?: number;
  /**
   * Addresses to try in turn instead of `host`/`port` (fallback: one that fails to
   * connect gives its turn to the next; retries go round the list).
   */
  addresses?: ReadonlyArray<{ host: string; port: number }>;
  /** The DC (1..5), used for p_q_inner_data_dc's dc and the obfuscated2 header. Default 2. */
  dcId?: number;
  /** 'production' (default) or 'test' (dc + 10000). */
  environment?: DcEnvironment;
  /** A media DC (negative dc). */
  media?: boolean;

  /** Transport framing (default 'intermediate'). */
  transport?: TransportKind;
  /** Wrap in obfuscated2 (implied by `secret`). */
  obfuscated?: boolean;
  /** MTProxy secret (16 bytes, 0xdd + 16 bytes, or 0xee + 16 bytes + domain; Buffer or hex); host/port are then the proxy's. */
  secret?: Buffer | string;
  /** A SOCKS5 or HTTP CONNECT proxy to connect through. */
  proxy?: ProxyOptions;
  /** Server time minus local time (ms) if known: the fake-TLS hello of an `ee` secret is stamped with it. */
  timeOffsetMs?: number;

  /** Extra server keys (PEM, or modulus/exponent), beside Telegram's. */
  rsaKeys?: readonly RsaKeyInput[];
  /** Which built-in Telegram keys to know: 'current' (default: production + test), 'all' (with older ones), 'none'. */
  telegramKeys?: TelegramKeySet;
  /** Ready-made keyring (overrides rsaKeys/telegramKeys). */
  keyring?: RsaKeyring;

  /** Make a temporary key (p_q_inner_data_temp_dc) valid for `expiresIn` seconds. */
  temp?: { expiresIn: number };
  /** Time allowed to connect and for each answer, in ms (default 10000). */
  timeoutMs?: number;
  /**
   * Extra attempts, each on a fresh connection, after a transient failure: a
   * timeout or a lost connection (default 2). Failed checks are not retried.
   */
  retries?: number;
  /** dh_gen_retry answers accepted within one attempt (default 3). */
  maxDhGenRetries?: number;
  /** Cancels the exchange (rejects with ERR_AUTH_ABORTED). */
  signal?: AbortSignal;

  /** For tests: the randomness and RSA encryption of AuthKeyExchange. */
  random?: AuthKeyExchangeOptions['random'];
  rsaEncrypt?: AuthKeyExchangeOptions['rsaEncrypt'];
}

const TRANSIENT = new Set(['ERR_AUTH_TIMEOUT', 'ERR_AUTH_CONNECTION_CLOSED', 'ERR_AUTH_CONNECT']);

/**
 * Creates an authorization key with a DC. Resolves with the key, its id, the
 * first server salt and the clock offset; rejects with AuthKeyError.
 */
export async function createAuthKey(options: CreateAuthKeyOptions = {}): Promise<AuthKeyResult> {
  const dcId = options.dcId ?? 2;
  const environment = options.environment ?? 'production';
  let host = options.host;
  let port = options.port;
  // Given addresses win; the built-in table only serves when there are none (a CDN DC
  // such as 203 is in no built-in table).
  const given = options.addresses?.length ? options.addresses : null;
  if (host === undefined && !given) {
    let addr: ReturnType<typeof dcAddresses>[number];
    try {
      addr = dcAddresses(dcId, environment)[0];
    } catch (err) {
      throw new AuthKeyError('ERR_AUTH_BAD_OPTIONS', 'connect', (err as Error).message, { cause: err });
    }
    host = addr.host;
    port ??= addr.port;
  }
  if (port === undefined && !given)
    throw new AuthKeyError('ERR_AUTH_BAD_OPTIONS', 'connect', 'a host needs a port');

  let keyring: RsaKeyring;
  try {
    keyring = options.keyring ?? RsaKeyring.create(options.rsaKeys, options.telegramKeys);
  } catch (err) {
    throw new AuthKeyError('ERR_AUTH_BAD_OPTIONS', 'connect', `bad RSA key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const dc = handshakeDcId(dcId, environment, options.media ?? false);
  const addresses = given ?? [{ host: host as string, port: port as number }];
  const attempt: AttemptOptions = {
    host: addresses[0].host,
    port: addresses[0].port,
    dc,
    transport: options.transport ?? secretTransportKind(options.secret) ?? 'intermediate',
    obfuscated: options.obfuscated,
    secret: options.secret,
    proxy: options.proxy,
    timeOffsetMs: options.timeOffsetMs,
    timeoutMs: options.timeoutMs ?? 10_000,
    signal: options.signal,
    exchange: {
      dc,
      keys: keyring,
      expiresIn: options.temp?.expiresIn,
      maxDhGenRetries: options.maxDhGenRetries,
      random: options.random,
      rsaEncrypt: options.rsaEncrypt,
      // A new dh_prime's safe-prime test runs off the event loop (see advance below).
      deferPrimeTest: true,
    },
  };
  const retries = options.retries ?? Math.max(2, addresses.length - 1);
  for (let i = 0; ; i++) {
    const at = addresses[i % addresses.length];
    try {
      return await runAttempt({ ...attempt, host: at.host, port: at.port });
    } catch (err) {
      if (!(err instanceof AuthKeyError) || !TRANSIENT.has(err.code) || i >= retries) throw err;
      // Wrong proxy credentials or an MTProxy that refuses the secret do not get better.
      if (proxyFailureCode(err) === 'PROXY_AUTH_FAILED' || proxyFailureCode(err) === 'MTPROXY_REJECTED')
        throw err;
    }
  }
}

interface AttemptOptions {
  host: string;
  port: number;
  dc: number;
  transport: TransportKind;
  obfuscated?: boolean;
  secret?: Buffer | string;
  proxy?: ProxyOptions;
  timeOffsetMs?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  exchange: AuthKeyExchangeOptions;
}

function connectionError(err: TransportConnectionError | Error, step: AuthKeyStep): AuthKeyError {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_TRANSPORT_CONNECT_TIMEOUT':
      return new AuthKeyError('ERR_AUTH_TIMEOUT', step, 'no connection in time', { cause: err });
    case 'ERR_TRANSPORT_CONNECT':
    case 'ERR_TRANSPORT_PROXY':
      return new AuthKeyError('ERR_AUTH_CONNECT', step, err.message, { cause: err });
    case 'ERR_TRANSPORT_ABORTED':
      return new AuthKeyError('ERR_AUTH_ABORTED', step, 'aborted', { cause: err });
    case 'ERR_TRANSPORT_SERVER_CODE':
      return new AuthKeyError('ERR_AUTH_TRANSPORT_ERROR', step, err.message, {
        cause: err,
        transportCode: (err as TransportConnectionError).transportCode,
      });
    case 'ERR_TRANSPORT_PROTOCOL':
      return new AuthKeyError('ERR_AUTH_BAD_RESPONSE', step, err.message, { cause: err });
    case 'ERR_TRANSPORT_CLOSED':
    case 'ERR_TRANSPORT_SOCKET':
      return new AuthKeyError('ERR_AUTH_CONNECTION_CLOSED', step, err.message, { cause: err });
    default:
      // Bad transport options (kind, secret) from the codec.
      return new AuthKeyError('ERR_AUTH_BAD_OPTIONS', step, err.message, { cause: err });
  }
}

function failure(err: unknown, step: AuthKeyStep): AuthKeyError {
  if (err instanceof AuthKeyError) return err;
  if (err instanceof TransportConnectionError) return connectionError(err, step);
  return new AuthKeyError('ERR_AUTH_BAD_RESPONSE', step, 'unexpected failure', { cause: err });
}

/** One attempt on one connection. */
async function runAttempt(o: AttemptOptions): Promise<AuthKeyResult> {
  if (o.signal?.aborted) throw new AuthKeyError('ERR_AUTH_ABORTED', 'connect', 'aborted');
  const exchange = new AuthKeyExchange(o.exchange);
  const msgIds = new PlainMsgIds();

  let settle!: (err: AuthKeyError | null, result?: AuthKeyResult) => void;
  const done = new Promise<AuthKeyResult>((resolve, reject) => {
    settle = (err, result) => (err ? reject(err) : resolve(result!));
  });
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  let conn: TransportConnection | undefined;

  const finish = (err: AuthKeyError | null, result?: AuthKeyResult) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    conn?.close();
    settle(err, result);
  };
  const onAbort = () => finish(new AuthKeyError('ERR_AUTH_ABORTED', exchange.step, 'aborted'));
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => finish(new AuthKeyError('ERR_AUTH_TIMEOUT', exchange.step, `no answer within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
  };
  const send = (body: Buffer) => {
    conn!.send(wrapPlain(msgIds.next(Date.now()), body));
    arm();
  };
  const advance = (next: ExchangeStep) => {
    if (next.kind === 'done') {
      finish(null, next.result);
    } else if (next.kind === 'testPrime') {
      // The step's timeout keeps running while the pool tests the prime.
      arm();
      const resume = () => {
        if (finished) return;
        clearTimeout(timer);
        try {
          advance(exchange.primeTested());
        } catch (err) {
          finish(failure(err, exchange.step));
        }
      };
      testDhPrimeShared(next.dhPrime).then(resume, (err) => finish(failure(err, exchange.step)));
    } else {
      msgIds.offsetMs = exchange.timeOffset * 1000;
      send(next.body);
    }
  };

  try {
    conn = await TransportConnection.connect(
      {
        host: o.host,
        port: o.port,
        kind: o.transport,
        obfuscated: o.obfuscated,
        secret: o.secret,
        proxy: o.proxy,
        timeOffsetMs: o.timeOffsetMs,
        dcId: o.dc,
        connectTimeoutMs: o.timeoutMs,
        signal: o.signal,
      },
      {
        onPacket(packet) {
          if (finished) return;
          clearTimeout(timer);
          try {
            const { body } = unwrapPlain(packet, exchange.step);
            advance(exchange.receive(body, Date.now()));
          } catch (err) {
            finish(failure(err, exchange.step));
          }
        },
        onClose(err) {
          if (err) finish(connectionError(err, exchange.step));
        },
      },
    );
  } catch (err) {
    throw connectionError(err as Error, 'connect');
  }
  if (o.signal?.aborted) {
    conn.close();
    throw new AuthKeyError('ERR_AUTH_ABORTED', 'connect', 'aborted');
  }
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    send(exchange.start());
  } catch (err) {
    finish(failure(err, exchange.step));
  }
  return done;
}
