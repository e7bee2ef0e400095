// Connections with a flush due, in two process-wide queues: one microtask or one
// setImmediate runs them all, not one (and a closure) each. See Driver.scheduleFlush
// for which queue a flush goes to.

/** A connection whose flush was promised. */
export interface Flushable {
  flushScheduledNow(): void;
}

let soonQueue: Flushable[] = [];
let turnQueue: Flushable[] = [];

function flushEach(due: Flushable[]): void {
  for (const d of due) {
    try {
      d.flushScheduledNow();
    } catch {
      // A flush reports its own failures; one connection must not starve the others.
    }
  }
}

function flushSoon(): void {
  const due = soonQueue;
  soonQueue = [];
  flushEach(due);
}

function flushTurn(): void {
  const due = turnQueue;
  turnQueue = [];
  flushEach(due);
}

/** Flushes `d` before the event loop turns (after this burst of microtasks). */
export function flushSoonAfter(d: Flushable): void {
  soonQueue.push(d);
  if (soonQueue.length === 1) queueMicrotask(flushSoon);
}

/** Flushes `d` at the end of this turn, after the reads already due (setImmediate). */
export function flushAtTurnEnd(d: Flushable): void {
  turnQueue.push(d);
  if (turnQueue.length === 1) setImmediate(flushTurn);
}
