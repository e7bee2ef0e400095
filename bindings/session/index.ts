// Sessions: the registry (see README.md).
export { type DcAddress, type DcEnvironment, dcAddresses, handshakeDcId } from './dcs';
export { holdBatched, LeaseRenewer, RENEW_BATCH, type RenewerStats } from './lease-renewer';
export { AttemptLimiter, backoffDelay, connectionAttempts } from './reconnect';
export { Session, SessionRegistry } from './registry';
export * from './types';
