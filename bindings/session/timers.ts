// One process-wide timer for every session's wake-ups (the link's deadline and
// the keepalive), instead of a Node Timeout (and its closure) per session: a
// thousand idle sessions then cost a thousand small heap entries and one timer.
// Entries sit in a binary min-heap by due time; a cancelled or superseded entry
// is left in place with no owner and skipped when it comes up.

export interface Wakeable {
  /** Called once its entry is due (ms since the epoch, Date.now()). */
  wake(now: number): void;
}

export interface Alarm {
  at: number;
  owner: Wakeable | null;
}

export class TimerWheel {
  private readonly heap: Alarm[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  /** Wakes `owner` at `at`; cancel the returned alarm with `cancel`. */
  add(owner: Wakeable, at: number): Alarm {
    const alarm: Alarm = { at, owner };
    this.push(alarm);
    if (at < this.timerAt) this.arm(at);
    return alarm;
  }

  cancel(alarm: Alarm | null): void {
    if (alarm) alarm.owner = null;
    // The heap head may now be dead: drop such heads so that they keep nothing alive.
    while (this.heap.length > 0 && this.heap[0].owner === null) this.pop();
    if (this.heap.length === 0) this.disarm();
  }

  /** Live and dead entries (for tests). */
  get size(): number {
    return this.heap.length;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
    // The sessions' sockets keep the process alive; a deadline alone need not.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const due: Wakeable[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const owner = this.pop().owner;
      if (owner) due.push(owner);
    }
    // Wake after collecting: an owner that re-schedules at once lands in the heap
    // for the next round, not in this loop.
    for (const owner of due) {
      try {
        owner.wake(now);
      } catch {
        // A session's own error handling reports; the other sessions still wake.
      }
    }
    while (this.heap.length > 0 && this.heap[0].owner === null) this.pop();
    if (this.heap.length > 0 && this.heap[0].at < this.timerAt) this.arm(this.heap[0].at);
  }

  private push(a: Alarm): void {
    const h = this.heap;
    let i = h.push(a) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= a.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = a;
  }

  private pop(): Alarm {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Alarm;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && h[r].at < h[l].at ? r : l;
        if (h[c].at >= last.at) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** The wheel every Driver of this process uses. */
export const timers = new TimerWheel();
