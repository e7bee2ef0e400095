// telegram-mt: the public entry point.

export {
  AuthKeyError,
  type AuthKeyErrorCode,
  AuthKeyExchange,
  type AuthKeyExchangeOptions,
  type AuthKeyResult,
  type AuthKeyStep,
  type CreateAuthKeyOptions,
  createAuthKey,
  type ExchangeStep,
  parseRsaKey,
  type RsaKeyInput,
  RsaKeyring,
  type RsaPublicKey,
  TELEGRAM_RSA_KEYS,
  type TelegramKeySet,
} from './auth';
export * from './native';
export * from './storage';
export * as TL from './tl';
export {
  createCodec,
  FloodWaitError,
  MigrateError,
  RpcError,
  readError,
  TlBadValueError,
  TlError,
  TlGzipError,
  TlReader,
  TlSerializeError,
  TlTooDeepError,
  TlTrailingBytesError,
  TlTruncatedError,
  TlUnexpectedConstructorError,
  TlUnknownConstructorError,
  TlWriter,
} from './tl';
export {
  TransportConnection,
  TransportConnectionError,
  type TransportConnectionErrorCode,
  type TransportConnectOptions,
  type TransportHandlers,
  type TransportKind,
} from './transport';
