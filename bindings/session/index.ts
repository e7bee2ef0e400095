// Sessions: the registry (see README.md).
export { AttemptLimiter, backoffDelay, connectionAttempts } from './reconnect';
export { Session, SessionRegistry } from './registry';
export * from './types';
export type { OrderedUpdate } from './update-feed';
