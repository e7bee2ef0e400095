// telegram-mt: the public entry point.
export * from './native';
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
