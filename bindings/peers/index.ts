// Peers and flood control (issue #14): the access-hash store, its merge rule, LRU and
// resolver; the client-side flood controller. See README.md.

export { DEFAULT_CACHE_ENTRIES, PeerCache, processPeerCache } from './cache';
export { type FloodErrorCode, FloodQueueError, PeerError, type PeerErrorCode } from './errors';
export type { RateLimit } from './flood/bucket';
export { TokenBucket } from './flood/bucket';
export {
  FloodController,
  type FloodControllerOptions,
  type FloodJob,
  type FloodPriority,
  type FloodStats,
} from './flood/controller';
export { FloodGate, type GateCallOptions, type GateErrors } from './flood/gate';
export {
  BOT_FLOOD_LIMITS,
  DEFAULT_QUEUE_LIMITS,
  type FloodLimits,
  type FloodQueueLimits,
  SENDING_METHODS,
} from './flood/limits';
export { harvest, keyOfObject, keyOfPeer, type PeerObject, type PeerSink, type SeenIn } from './harvest';
export { isFull, mergePeer } from './merge';
export { type PeerRef, PeerResolver, type ResolverPort } from './resolve';
export { chatOf, SessionPeers } from './session-port';
export { type PeerStorage, PeerStore, type PeerStoreOptions, type PeerStoreStats, storedOf } from './store';
export { substitutePeers, wantsPeers } from './substitute';
export type { PeerCallOptions, SessionFloodOptions, SessionPeersOptions } from './types';
