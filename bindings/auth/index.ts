// Authorization keys, client side (see README.md).
export { type CreateAuthKeyOptions, createAuthKey } from './create-auth-key';
export { AuthKeyError, type AuthKeyErrorCode, type AuthKeyStep } from './errors';
export {
  AuthKeyExchange,
  type AuthKeyExchangeOptions,
  type AuthKeyResult,
  type ExchangeStep,
} from './exchange';
export { msgIdAt, PlainMsgIds, unwrapPlain, wrapPlain } from './plain';
export {
  fingerprintOf,
  parseRsaKey,
  type RsaKeyInput,
  RsaKeyring,
  type RsaPublicKey,
  type TelegramKeySet,
} from './rsa-keys';
export { TELEGRAM_RSA_KEYS, type TelegramRsaKey } from './telegram-keys';
