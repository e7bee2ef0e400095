// Early updates of one box, held while the gap before them may still fill
// (core.telegram.org/api/updates, "Recovering gaps": wait up to 0.5 s, then getDifference),
// and while a difference for the box is in flight. Sorted by the position they start from;
// bounded: past the budget the caller lets them all go and fetches a difference, which
// brings them again (the box's state never moves past an update it did not deliver).

export interface HeldItem<T> {
  /** The box's position this item applies on (pts - pts_count, qts - 1, seq_start - 1). */
  start: number;
  /** The position after it. */
  end: number;
  value: T;
}

export class HeldQueue<T> {
  readonly items: HeldItem<T>[] = [];
  /** When the gap is given up on and a difference fetched (ms; Infinity: not waiting). */
  deadline = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.items.length;
  }

  /**
   * Inserts in order of `start`; an item with the same start and end as one held is a
   * duplicate and dropped. False when the queue is full (nothing inserted).
   */
  insert(start: number, end: number, value: T, limit: number): boolean {
    const items = this.items;
    let i = items.length;
    while (i > 0 && (items[i - 1].start > start || (items[i - 1].start === start && items[i - 1].end > end)))
      i--;
    if (i > 0 && items[i - 1].start === start && items[i - 1].end === end) return true;
    if (items.length >= limit) return false;
    items.splice(i, 0, { start, end, value });
    return true;
  }

  clear(): void {
    this.items.length = 0;
    this.deadline = Number.POSITIVE_INFINITY;
  }
}
