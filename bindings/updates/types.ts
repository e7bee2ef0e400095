// Public types of the update engine: what goes in (options, the stored state), what comes
// out (updates to deliver, requests to make, gaps, errors), and the budgets.

import type * as TL from '../tl';

/** Where an update sits: the account-wide sequences, or one channel's pts. */
export type UpdateBox = 'common' | bigint;

/** Where a delivered update came from. */
export type UpdateSource = 'push' | 'result' | 'difference';

/**
 * One update, delivered once and in order within its box (the common box by pts, qts and
 * seq; each channel by its own pts). `token` goes back to `acknowledge()` once the
 * application has taken it (and everything delivered before it).
 */
export interface DeliveredUpdate {
  kind: 'update';
  update: TL.Types['Update'];
  box: UpdateBox;
  /**
   * The position, for consumers that de-duplicate: the box's pts after this update and its
   * pts_count, or its qts (common box). Absent for an update that has none (updateUserStatus,
   * ...) and for a message of a difference whose own pts the server did not say.
   */
  pts?: number;
  ptsCount?: number;
  qts?: number;
  /** The seq of the `updates`/`updatesCombined` it came in, when not 0. */
  seq?: number;
  /** The container's date (a difference's state date for its updates), 0 when unknown. */
  date: number;
  /** Users and chats of the container or difference (the entities the update refers to). */
  users: TL.Types['User'][];
  chats: TL.Types['Chat'][];
  source: UpdateSource;
  token: number;
}

/** The requests the engine asks its driver to make. */
export type EngineMethod =
  | 'updates.getState'
  | 'updates.getDifference'
  | 'updates.getChannelDifference'
  | 'channels.getFullChannel';

/** A request to make; its answer goes back through `answer(id, result)` or `fail(id, error)`. */
export type EngineRequest = {
  [M in EngineMethod]: { kind: 'request'; id: number; method: M; params: TL.Params<M> };
}[EngineMethod];

/**
 * The server could not give every update of a range (differenceTooLong,
 * channelDifferenceTooLong): the application refetches what it shows (dialogs, history)
 * from `toPts` on. For a channel, `messages` are its latest messages. Acknowledge `token`
 * like an update: until then the jump is not committed.
 */
export interface UpdateGap {
  kind: 'gap';
  box: UpdateBox;
  fromPts: number;
  toPts: number;
  messages: TL.Types['Message'][];
  users: TL.Types['User'][];
  chats: TL.Types['Chat'][];
  token: number;
}

export type UpdateErrorCode =
  /** A difference answer broke the rules (state going back, wrong shapes): ignored, retried later. */
  | 'MALFORMED_DIFFERENCE'
  /** A differenceSlice did not advance the state: fetching stopped at the last good point. */
  | 'DIFFERENCE_NO_PROGRESS'
  /** More slices than `maxDifferencePages` in one run: fetching stopped at the last good point. */
  | 'DIFFERENCE_PAGE_LIMIT'
  /** A request failed (rpc error, timeout): retried after a backoff. */
  | 'REQUEST_FAILED'
  /** The channel is gone for this account (CHANNEL_PRIVATE, CHANNEL_INVALID...): its box is dropped. */
  | 'CHANNEL_CLOSED'
  /** A channel's difference is needed but its access hash is unknown: it waits for one. */
  | 'CHANNEL_UNRESOLVED'
  /** More channels than `maxChannels`: updates of this one are delivered without order checks. */
  | 'CHANNEL_LIMIT';

export interface UpdateError {
  kind: 'error';
  code: UpdateErrorCode;
  message: string;
  box: UpdateBox;
}

export type EngineOutput = DeliveredUpdate | EngineRequest | UpdateGap | UpdateError;

/** The budgets: every one bounds memory or work. */
export interface UpdateBudgets {
  /** Early updates held per box while a gap may still fill (default 1000). */
  maxHeldPerBox: number;
  /** Slices of one difference run before it is cut off (default 100). */
  maxDifferencePages: number;
  /** Channels with their own pts (default 100 000). */
  maxChannels: number;
  /** Channel differences in flight at once (default 8). */
  maxChannelRequests: number;
  /**
   * Delivered updates not yet acknowledged: past it the engine delivers no more pushed
   * updates (they wait for a difference) and asks for no difference (default 10 000).
   */
  maxUnacknowledged: number;
}

export interface UpdateEngineOptions {
  /** The committed state from a previous run (`committedState()`); absent: updates.getState. */
  state?: unknown;
  /** Bots get larger channel differences (api/updates: up to 100 000; users 10-100). */
  isBot?: boolean;
  /** The logged-in user's id, to turn updateShortSentMessage to inputPeerSelf into a message. */
  selfId?: bigint;
  /** How long an early update waits for the gap to fill before a difference (default 500 ms). */
  gapWaitMs?: number;
  /** Silence after which a difference is fetched anyway (default 15 min). */
  idleMs?: number;
  /** getChannelDifference's limit (default 100 for users, 1000 for bots; at most 100 000). */
  channelDifferenceLimit?: number;
  /** Sent as getDifference's pts_total_limit when set (users' "fast updating"). */
  ptsTotalLimit?: number;
  /** First retry delay after a failure (default 1 s, doubling up to `retryMaxMs`, 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  budgets?: Partial<UpdateBudgets>;
}

/** Counters (a live object). */
export interface UpdateEngineStats {
  delivered: number;
  /** Updates dropped because they were applied already. */
  duplicates: number;
  /** Early updates held, and those let go because a budget was full (a difference refetches them). */
  held: number;
  overflowed: number;
  differences: number;
  channelDifferences: number;
  gaps: number;
  errors: number;
}

export const DEFAULT_BUDGETS: Readonly<UpdateBudgets> = Object.freeze({
  maxHeldPerBox: 1000,
  maxDifferencePages: 1000,
  maxChannels: 100_000,
  maxChannelRequests: 8,
  maxUnacknowledged: 10_000,
});
