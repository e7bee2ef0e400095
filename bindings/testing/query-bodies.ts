// Memory where a DC's sessions have their large query bodies (file parts) copied by
// MtpLink.receive, reused once the queries read from it finished, instead of a Buffer
// per body (transport/lent-memory.ts says why). A 512 KiB body per uploaded part,
// alive across the handler's await, was promoted often enough to keep TestDc in full
// collections (a dozen per 64 MiB after a slow client).
//
// Only the methods the caller names run from it (`runsInPlace`: handlers that read the
// request and keep a copy if anything). Any other body found there is copied out at
// once, so that a handler keeping a view of its request never sees the memory change
// under it.

import * as TL from '../tl';
import { LentMemory } from '../transport/lent-memory';
import { FILE_FRAME_ROOM } from '../transport/write-scratch';

/** Packets shorter than this hold no body the link would copy (MtpLink.receive: 64 KiB). */
const BODY_MIN = 64 * 1024;
/** Free scratches kept for reuse. */
const KEEP_FREE = 4;
/** A wrapper of no fields of its own, seen through (clients send file parts in it). */
const WITHOUT_UPDATES = TL.idOf('invokeWithoutUpdates');

/** The method the query in `body` calls, bare or in invokeWithoutUpdates. */
function methodOf(body: Buffer): string | undefined {
  const at = body.length >= 8 && body.readUInt32LE(0) === WITHOUT_UPDATES ? 4 : 0;
  return body.length >= at + 4 ? TL.nameOf(body.readUInt32LE(at)) : undefined;
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
  /** Where the next receive copies bodies; another once a query runs on it. */
  private current: Buffer | null = null;
  private readonly memory = new LentMemory(KEEP_FREE);
  /** The scratches queries run on, by ArrayBuffer, with how many do. */
  private readonly lent = new Map<ArrayBufferLike, Lent>();

  /** `runsInPlace(method)`: whether a query of `method` may run on a body in a scratch. */
  constructor(private readonly runsInPlace: (method: string) => boolean) {}

  /**
   * The memory for the large bodies of a packet of `length` bytes (none when it cannot
   * hold one): as long as the packet, so that all of them fit, and at least a file
   * frame's room (two 512 KiB parts).
   */
  next(length: number): Buffer | undefined {
    if (length < BODY_MIN) return undefined;
    if (this.current !== null && this.current.length >= length) return this.current;
    if (this.current !== null) this.memory.giveBack(this.current);
    this.current = this.memory.lend(Math.max(FILE_FRAME_ROOM, length));
    return this.current;
  }

  /**
   * The bodies of the queries of one receive given `next`'s memory, as they may run: in
   * the scratch for the methods above (each `release` called once its query finished),
   * else their own.
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
    const method = methodOf(body);
    if (method === undefined || !this.runsInPlace(method)) return { body: Buffer.from(body), release: null };
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
    if (entry.memory !== this.current) this.memory.giveBack(entry.memory);
  }
}
