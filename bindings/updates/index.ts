// The update engine: a sans-IO pts/qts/seq state machine with gap recovery through
// differences, commits after acknowledgement, and a driver that runs it over any `call`.
// See README.md.
export { CHANNEL_LIMIT_BOT, CHANNEL_LIMIT_USER } from './channel-boxes';
export { UpdateDriver, type UpdateDriverOptions } from './driver';
export { UpdateEngine } from './engine';
export {
  type PersistedChannel,
  type PersistedUpdatesState,
  parseUpdatesState,
  UpdateStateError,
} from './persisted';
export {
  DEFAULT_BUDGETS,
  type DeliveredUpdate,
  type EngineMethod,
  type EngineOutput,
  type EngineRequest,
  type UpdateBox,
  type UpdateBudgets,
  type UpdateEngineOptions,
  type UpdateEngineStats,
  type UpdateError,
  type UpdateErrorCode,
  type UpdateGap,
  type UpdateSource,
} from './types';
