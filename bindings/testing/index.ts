// telegram-mt/testing: TestDc, an embedded loopback Telegram data center for tests,
// demos, benchmarks and offline integration tests. See README.md.

export {
  AccountDirectory,
  type AddBotOptions,
  type AddUserOptions,
  CODE_TTL_MS,
  MAX_CODE_ATTEMPTS,
  normalizePhone,
  type SentCode,
  type TestAccount,
} from './accounts';
export { AuthorizationRegistry } from './authorizations';
export { TELEGRAM_DH_G, TELEGRAM_DH_PRIME } from './dh';
export type { InjectedRpcError, MigrateKind } from './faults';
export { FloodLimiter, type FloodRule, type FloodScope, telegramBotLimits } from './flood-limits';
export {
  type HostileQuery,
  type HostileSendOptions,
  HostileServer,
  type HostileServerOptions,
  hostileBodies,
  type TlObjectLike,
} from './hostile-server';
export { type CheckedPeer, checkInputPeer } from './peer-rules';
export {
  HttpConnectProxyServer,
  type ProxyServerOptions,
  type ProxyServerStats,
  Socks5ProxyServer,
} from './proxy-servers';
export { rpcError, TestRpcError } from './rpc';
export {
  generateTestRsaKey,
  type RsaPublicKeyInfo,
  rsaFingerprint,
  sharedTestRsaKey,
  type TestRsaKey,
  testRsaKeyFromPem,
} from './rsa-key';
export {
  type CreatedKey,
  HANDSHAKE_FAULTS,
  type HandshakeFault,
  HandshakeServer,
  type HandshakeServerOptions,
  type HandshakeStep,
} from './server-handshake';
export { SrpServer, type SrpVerdict, type StoredPassword } from './srp-server';
export { TestDc } from './test-dc';
export {
  type GeneratedUpdate,
  type GenerateOptions,
  TestUpdates,
  type UpdateFaults,
  type UpdatePushHost,
} from './test-updates';
export type {
  AuthKeyInfo,
  Execution,
  Handler,
  HandlerContext,
  InitConnectionInfo,
  SessionInfo,
  SessionSelector,
  TestDcOptions,
  TestDcStats,
} from './types';
export {
  type AccountUpdates,
  type LoggedEvent,
  TestChannel,
  UpdateLog,
  type UpdateLogOptions,
} from './update-log';
export {
  channelPush,
  combinedPush,
  commonPush,
  FaultyPusher,
  NO_PUSH_FAULTS,
  type PushFaults,
  type PushShape,
  type PushStats,
} from './update-pushes';
export { TestWorld, type TestWorldOptions } from './world';
