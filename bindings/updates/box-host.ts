// What the boxes (common-box.ts, channel-boxes.ts) need of their engine: the clock and
// budgets, delivery (each delivered update gets a position in the delivery log, committed
// once acknowledged), outputs, and routing of the updates a container or difference holds.

import type * as TL from '../tl';
import type {
  EngineOutput,
  UpdateBox,
  UpdateBudgets,
  UpdateEngineStats,
  UpdateErrorCode,
  UpdateSource,
} from './types';

/** What an update came with: its container's entities, date and seq, and its source. */
export interface Context {
  users: TL.Types['User'][];
  chats: TL.Types['Chat'][];
  date: number;
  seq: number;
  source: UpdateSource;
}

/** A held update, or a bare position (`update` undefined: messages.affectedMessages...). */
export interface Item {
  update: TL.Types['Update'] | undefined;
  ctx: Context;
}

export interface BoxHost {
  readonly now: number;
  readonly budgets: UpdateBudgets;
  readonly stats: UpdateEngineStats;
  readonly gapWaitMs: number;
  /** False while the delivery log is at its budget: updates then wait (or go, for a difference). */
  canDeliver(): boolean;
  /** Delivers `update`; `logBox` -1 for one without a position. */
  emit(
    update: TL.Types['Update'],
    box: UpdateBox,
    logBox: number,
    position: number,
    pts: number | undefined,
    ptsCount: number | undefined,
    qts: number | undefined,
    ctx: Context,
  ): void;
  /** A position with nothing delivered, committed in its turn. */
  silent(logBox: number, position: number): void;
  /** A position the application acknowledges (a gap); returns its token. */
  marked(logBox: number, position: number): number;
  output(o: EngineOutput): void;
  error(code: UpdateErrorCode, message: string, box: UpdateBox): void;
  /** Access hashes of known channels, from the chats of a container or difference. */
  learnHashes(chats: readonly TL.Types['Chat'][]): void;
  /**
   * Routes one update of a container or difference to its box; with `sequencedOnly`,
   * updates without pts or qts are dropped (a container seen before).
   */
  offer(u: TL.Types['Update'], ctx: Context, sequencedOnly?: boolean): void;
  /** Retry delay after `failures` failures in a row. */
  backoff(failures: number): number;
  /** The longest retry delay (also the pause after a run is cut off). */
  readonly retryMaxMs: number;
}

export const NO_ENTITIES: never[] = [];
