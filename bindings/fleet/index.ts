// The fleet: workers sharing sessions through PostgreSQL, Redis or SQLite (see README.md).

export { type BusRedis, RedisBus, type RedisBusOptions } from './bus';
export { type FleetCallOptions, FleetClient, type FleetClientOptions, hasRandomId } from './client';
export { connectFleet, type FleetConfig, type FleetConnection } from './connect';
export { type MetricsOptions, TelegramMetrics } from './metrics';
export type { ClaimedSession, ClaimRequest, Roster, TickResult, WorkerBeat } from './roster';
export { PostgresRoster, type PostgresRosterOptions } from './roster-postgres';
export { RedisRoster, type RedisRosterClient, type RedisRosterOptions } from './roster-redis';
export { SqliteRoster, type SqliteRosterOptions } from './roster-sqlite';
export { type FleetStatus, fleetStatus } from './status';
export {
  decodeEntry as decodeStreamEntry,
  RedisUpdateStream,
  type StreamEntry,
  type StreamRedis,
  shardOf,
  UpdateReader,
  type UpdateReaderOptions,
  type UpdateStreamOptions,
} from './stream';
export {
  FleetError,
  type FleetErrorCode,
  type FleetLogger,
  type RosterEntry,
  type RosterOpenOptions,
  type SessionPlacement,
  type WorkerInfo,
  workerOfOwner,
} from './types';
export { FleetWorker, type FleetWorkerOptions, type WorkerStatus } from './worker';
