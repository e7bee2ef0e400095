// How many file parts the transfers of a process hold at once. A window bounds one
// transfer (8 parts of up to 512 KiB by default); a bot platform runs thousands of
// sessions, and a thousand downloads at once would hold 4 GiB. Every transfer takes a
// unit of its budget before it reads or asks for a part and gives it back once the part
// was handed over: memory is the budget, whatever the number of transfers.
//
// No deadlock: a transfer waits in the queue only while it holds no unit. One that holds
// some only takes a free unit when nobody is queued; otherwise it goes on with what it
// holds, and each part it hands over frees a unit for the queue (first come, first
// served).

import { abortedBy, FileError } from './errors';

/** Parts held at once by default, process-wide: 512 parts of 512 KiB are 256 MiB. */
export const DEFAULT_BUDGET_PARTS = 512;

export class PartBudget {
  /** The budget every transfer shares unless its options name another. */
  static readonly shared = new PartBudget(DEFAULT_BUDGET_PARTS);

  private used = 0;
  private readonly queue: Array<{ resolve(): void; reject(e: unknown): void }> = [];

  constructor(readonly parts: number) {
    if (!Number.isInteger(parts) || parts < 1) throw new FileError('BAD_OPTIONS', `budget of ${parts} parts`);
  }

  /** Units held now. */
  get inUse(): number {
    return this.used;
  }

  /** Transfers waiting for a unit. */
  get waiting(): number {
    return this.queue.length;
  }

  /** A unit when one is free and nobody is queued for it; false otherwise (never waits). */
  tryTake(): boolean {
    if (this.used >= this.parts || this.queue.length > 0) return false;
    this.used++;
    return true;
  }

  /** A unit, waiting in line for it; rejects with FileError ABORTED when `signal` aborts first. */
  take(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortedBy(signal));
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortedBy(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Gives a unit back: to the first in line, or to the pool. */
  give(): void {
    const next = this.queue.shift();
    if (next) next.resolve();
    else this.used--;
  }
}
