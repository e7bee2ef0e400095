// What separates the applied state from the committed one: every position the engine has
// moved to but the application has not yet acknowledged, in delivery order. Entry n (from 1)
// is token n. `acknowledge(t)` takes entries up to t, then any "silent" entries right after
// (positions that carry no update: a difference's final state, messages.affectedMessages),
// and hands each to the commit callback. A ring of two Int32Arrays that grows by doubling
// and is dropped when empty, so an idle session holds none.

/** Box codes of an entry. Channels are CHANNEL_BASE + their slot. */
export const BOX_PTS = 0;
export const BOX_QTS = 1;
export const BOX_SEQ = 2;
/** The date sent with getDifference, advanced by differences (see engine.ts). */
export const BOX_DATE = 3;
export const CHANNEL_BASE = 4;

const SILENT = 0x40000000;
const FIRST_CAPACITY = 64;

export class DeliveryLog {
  private boxes: Int32Array | null = null;
  private positions: Int32Array | null = null;
  /** Ring index of the oldest entry. */
  private first = 0;
  private count = 0;
  /** Token of the last entry appended (0: none yet). */
  private lastToken = 0;

  constructor(private readonly target: { commit(box: number, position: number): void }) {}

  /** Entries not yet acknowledged. */
  get size(): number {
    return this.count;
  }

  /** The token of the last entry (what an update without a position of its own acknowledges). */
  get token(): number {
    return this.lastToken;
  }

  /** Appends a position; returns its token. A silent entry with nothing before it commits at once. */
  append(box: number, position: number, silent: boolean): number {
    this.lastToken++;
    if (silent && this.count === 0) {
      this.target.commit(box, position);
      return this.lastToken;
    }
    if (!this.boxes || this.count === this.boxes.length) this.grow();
    const cap = this.boxes!.length;
    const at = (this.first + this.count) % cap;
    this.boxes![at] = silent ? box | SILENT : box;
    this.positions![at] = position;
    this.count++;
    return this.lastToken;
  }

  /** Everything delivered up to `token` is taken: commits those entries and the silent ones after. */
  acknowledge(token: number): void {
    const boxes = this.boxes;
    const positions = this.positions;
    if (!boxes || !positions) return;
    const cap = boxes.length;
    let firstToken = this.lastToken - this.count + 1;
    while (this.count > 0) {
      const b = boxes[this.first];
      if (firstToken > token && (b & SILENT) === 0) break;
      this.target.commit(b & ~SILENT, positions[this.first]);
      this.first = (this.first + 1) % cap;
      this.count--;
      firstToken++;
    }
    if (this.count === 0) {
      this.boxes = null;
      this.positions = null;
      this.first = 0;
    }
  }

  private grow(): void {
    const old = this.boxes;
    const oldPos = this.positions;
    const cap = old ? old.length * 2 : FIRST_CAPACITY;
    const boxes = new Int32Array(cap);
    const positions = new Int32Array(cap);
    if (old && oldPos) {
      for (let i = 0; i < this.count; i++) {
        const j = (this.first + i) % old.length;
        boxes[i] = old[j];
        positions[i] = oldPos[j];
      }
    }
    this.boxes = boxes;
    this.positions = positions;
    this.first = 0;
  }
}
