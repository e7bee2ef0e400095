// Memory where a DC's sessions have their large query bodies (file parts) copied by
// MtpLink.receive, reused once the queries read from it finished, instead of a Buffer
// per body. V8 counts the bytes of every new ArrayBuffer against the heap's limit: a
// 512 KiB body per uploaded part, alive across the handler's await, was promoted often
// enough to keep TestDc in full collections (a dozen per 64 MiB after a slow client).
//
// Only the methods below run from it, and only with TestDc's own handlers: they read the
// part and keep a copy if anything (file-store.ts). Any other body found there (a method
// a test registered its own handler for, too) is copied out at once, so that a handler
// keeping a view of its request never sees the memory change under it.

import * as TL from '../tl';

/** Scratches are made this long at least: two 512 KiB parts with their envelopes. */
const SCRATCH_BYTES = 1024 * 1024 + 64 * 1024;
/** Packets shorter than this hold no body the link would copy (MtpLink.receive: 64 KiB). */
const BODY_MIN = 64 * 1024;
/** Free scratches kept for reuse; more are left to the GC. */
const KEEP_FREE = 4;
/** Methods whose built-in handlers may run on a body in a scratch, by constructor id. */
const READ_ONLY = new Map<number | undefined, string>(
  (['upload.saveFilePart', 'upload.saveBigFilePart'] as const).map((m) => [TL.idOf(m), m]),
);
/** A wrapper of no fields of its own, seen through (clients send file parts in it). */
const WITHOUT_UPDATES = TL.idOf('invokeWithoutUpdates');

/** The READ_ONLY method the query in `body` calls, bare or in invokeWithoutUpdates. */
function readOnlyMethod(body: Buffer): string | undefined {
  const at = body.length >= 8 && body.readUInt32LE(0) === WITHOUT_UPDATES ? 4 : 0;
  return body.length >= at + 4 ? READ_ONLY.get(body.readUInt32LE(at)) : undefined;
}

interface Lent {
  readonly memory: Buffer;
  /** Queries still running on a body in it. */
  users: number;
}

/** A query's body as it may run, and what to call once it finished (null: nothing). */
export interface Claimed {
  body: Buffer;
  release: (() => void) | null;
}

export class QueryBodies {
  /** `builtIn(method)`: whether TestDc's own handler runs it (no test registered one). */
  constructor(private readonly builtIn: (method: string) => boolean = () => true) {}

  /** Where the next receive copies bodies; another once a query runs on it. */
  private current: Buffer | null = null;
  private readonly free: Buffer[] = [];
  private readonly lent = new Map<ArrayBufferLike, Lent>();

  /**
   * The memory for the large bodies of a packet of `length` bytes (none when it cannot
   * hold one): as long as the packet, so that all of them fit.
   */
  next(length: number): Buffer | undefined {
    if (length < BODY_MIN) return undefined;
    if (this.current !== null && this.current.length >= length) return this.current;
    if (this.current !== null) this.keep(this.current);
    const i = this.free.findIndex((b) => b.length >= length);
    this.current =
      i >= 0 ? this.free.splice(i, 1)[0] : Buffer.allocUnsafeSlow(Math.max(SCRATCH_BYTES, length));
    return this.current;
  }

  /**
   * The bodies of one receive's queries as they may run: in the scratch for the
   * methods above (each `release` called once its query finished), else their own.
   */
  claim(bodies: Buffer[]): Claimed[] {
    const claimed = bodies.map((b) => this.take(b));
    // A scratch a query runs on is not written again until every such query finished.
    if (this.current !== null && this.lent.has(this.current.buffer)) this.current = null;
    return claimed;
  }

  /** Queries running on scratches now (tests). */
  get inUse(): number {
    let n = 0;
    for (const e of this.lent.values()) n += e.users;
    return n;
  }

  private take(body: Buffer): Claimed {
    const scratch = this.current;
    if (scratch === null || body.buffer !== scratch.buffer) return { body, release: null };
    const method = readOnlyMethod(body);
    if (method === undefined || !this.builtIn(method)) return { body: Buffer.from(body), release: null };
    let entry = this.lent.get(scratch.buffer);
    if (entry === undefined) {
      entry = { memory: scratch, users: 0 };
      this.lent.set(scratch.buffer, entry);
    }
    const lent = entry;
    lent.users++;
    let released = false;
    return {
      body,
      release: () => {
        if (released) return;
        released = true;
        this.done(lent);
      },
    };
  }

  private done(entry: Lent): void {
    if (--entry.users > 0) return;
    this.lent.delete(entry.memory.buffer);
    if (entry.memory !== this.current) this.keep(entry.memory);
  }

  private keep(memory: Buffer): void {
    if (this.free.length < KEEP_FREE) this.free.push(memory);
  }
}
