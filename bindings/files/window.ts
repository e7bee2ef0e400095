// The bounded window both directions run in (api/files: "X pieces of the file are being
// saved at any given moment"): at most `size` tasks in flight, each started when one
// ends. Ordered (downloads): results are handed over in task order, so a finished part
// waits for the ones before it, and no task starts more than `size` past the oldest
// unfinished one: memory is the window, not the file. Unordered (uploads): each result
// as it comes. The first failure (or the caller's abort) stops everything: the tasks in
// flight are aborted and awaited before the promise rejects, so nothing is left running.

import { setMaxListeners } from 'node:events';
import type { PartBudget } from './budget';
import { abortedBy, FileError } from './errors';

const DEFAULT_WINDOW = 8;
const MAX_WINDOW = 64;

/** The window of a transfer's options: parts in flight, 1 to 64 (default 8). */
export function windowOf(window: number | undefined): number {
  const w = window ?? DEFAULT_WINDOW;
  if (!Number.isInteger(w) || w < 1 || w > MAX_WINDOW)
    throw new FileError('BAD_OPTIONS', `window ${w}: 1 to ${MAX_WINDOW}`);
  return w;
}

/** What `next` returns for "no task now": it is asked again once a task ends. */
export const NOT_YET: unique symbol = Symbol('not yet');

export interface WindowJob<T, R> {
  /** The next task, in order; null when there is no more, NOT_YET when there is none for now. */
  next(): T | null | typeof NOT_YET | Promise<T | null | typeof NOT_YET>;
  /** Runs a task; `signal` aborts when the window stops. */
  run(task: T, signal: AbortSignal): Promise<R>;
  /** A task's result (in task order when ordered); a throw stops the window. */
  take(task: T, result: R): void | Promise<void>;
}

interface Slot<T, R> {
  task: T;
  done: Promise<void>;
  settled: boolean;
  result?: R;
}

/** Runs `job` in a window of `size`; rejects with the first failure, or FileError ABORTED. */
export async function runWindow<T, R>(
  size: number,
  job: WindowJob<T, R>,
  options: { ordered: boolean; signal?: AbortSignal; budget?: PartBudget },
): Promise<void> {
  const budget = options.budget;
  const outer = options.signal;
  if (outer?.aborted) throw abortedBy(outer);
  const inner = new AbortController();
  // Every call in flight listens to it (a CDN part makes up to three): not a leak.
  setMaxListeners(size * 4 + 16, inner.signal);
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    inner.abort(error);
  };
  const onAbort = () => fail(abortedBy(outer as AbortSignal));
  outer?.addEventListener('abort', onAbort, { once: true });
  const stopped = new Promise<void>((resolve) => inner.signal.addEventListener('abort', () => resolve()));
  const slots: Array<Slot<T, R>> = [];
  let changed: () => void = () => {};
  const start = (task: T) => {
    const slot: Slot<T, R> = { task, settled: false, done: Promise.resolve() };
    slot.done = job.run(task, inner.signal).then(
      (r) => {
        slot.result = r;
        slot.settled = true;
        changed();
      },
      (e) => {
        slot.settled = true;
        fail(e);
      },
    );
    slots.push(slot);
  };
  // Units of the budget held: one per slot, and one taken for the next task while it is read.
  let held = 0;
  const giveBack = () => {
    held--;
    budget?.give();
  };
  try {
    let exhausted = false;
    while (!failure) {
      while (!exhausted && slots.length < size && !failure) {
        if (budget) {
          // Holding parts: only a free unit (see budget.ts); holding none: wait in line.
          if (slots.length > 0 && !budget.tryTake()) break;
          if (slots.length === 0) await budget.take(inner.signal);
          held++;
        }
        const task = await job.next();
        if (task === NOT_YET || task === null) {
          if (budget) giveBack();
          // Only while tasks run: one of them ending is what makes the next one possible.
          if (task === NOT_YET && slots.length === 0)
            throw new Error('the window has nothing running and no task to start');
          if (task === null) exhausted = true;
          break;
        }
        start(task);
      }
      if (failure || slots.length === 0) break;
      // Ordered: the oldest task; unordered: whichever ends first.
      let slot = options.ordered ? slots[0] : slots.find((s) => s.settled);
      if (!slot?.settled) {
        const some = new Promise<void>((resolve) => {
          changed = resolve;
        });
        await Promise.race([options.ordered ? slots[0].done : some, stopped]);
        changed = () => {};
        if (failure) break;
        slot = options.ordered ? slots[0] : slots.find((s) => s.settled);
        if (!slot?.settled) continue;
      }
      slots.splice(slots.indexOf(slot), 1);
      try {
        await job.take(slot.task, slot.result as R);
      } finally {
        if (budget) giveBack();
      }
    }
  } catch (e) {
    fail(e);
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
  if (failure) {
    // Nothing keeps running once the caller hears of the failure.
    await Promise.all(slots.map((s) => s.done));
    while (held > 0) giveBack();
    throw (failure as { error: unknown }).error;
  }
}
