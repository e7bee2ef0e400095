// The flood controller of one session (issue #14), sans-IO: calls and the time go in,
// the calls that may go now and the next deadline come out.
//
// - Sends (FloodLimits.methods) take a token from the session's bucket and one from
//   their chat's (one message a second in a private chat, 20 a minute in a group: the
//   Bot FAQ's numbers, limits.ts).
// - A FLOOD_WAIT_X the server gave is remembered by method and chat (by method alone for
//   calls without a chat, or once two chats of one method got one: then the limit is the
//   account's): later calls of that method to that chat wait it out instead of drawing it.
// - Calls wait in lanes, one per chat (and per method and chat for other calls): a chat
//   that must wait holds up only its own lane; the lanes that may go are taken by
//   priority ('high' before 'normal' before 'low'), then in the order they were made.
// - Bounded: `maxQueued` calls in all, `maxPerChat` per lane; past that submit() refuses.
import { type RateLimit, TokenBucket } from './bucket';
import { MinHeap } from './heap';
import { BOT_FLOOD_LIMITS, DEFAULT_QUEUE_LIMITS, type FloodLimits, type FloodQueueLimits } from './limits';

export type FloodPriority = 'high' | 'normal' | 'low';
const PRIORITY: Record<FloodPriority, number> = { high: 0, normal: 1, low: 2 };

export interface FloodJob {
  readonly id: number;
  readonly method: string;
  /** The chat's marked id (bindings/storage/peer-codec.ts), if the call names one. */
  readonly chat: bigint | undefined;
  readonly priority: number;
  /** Order of submission (kept when a call comes back after a FLOOD_WAIT: it keeps its place). */
  readonly seq: number;
  readonly send: boolean;
}

export interface FloodControllerOptions {
  limits?: Partial<FloodLimits>;
  queue?: Partial<FloodQueueLimits>;
}

export interface FloodStats {
  submitted: number;
  released: number;
  rejected: number;
  /** FLOOD_WAITs learned from the server. */
  floodWaits: number;
  queued: number;
}

class Lane {
  /** One FIFO per priority. */
  readonly queues: FloodJob[][] = [[], [], []];
  count = 0;
  /** Bumped whenever the lane's heap entry goes stale. */
  version = 0;
  constructor(
    readonly key: string,
    readonly chat: bigint | undefined,
    readonly bucket: TokenBucket | undefined,
  ) {}

  head(): FloodJob | undefined {
    for (const q of this.queues) if (q.length > 0) return q[0];
    return undefined;
  }
}

interface HeapEntry {
  lane: Lane;
  version: number;
  /** Ready heaps: the head's priority and seq; the timed heap: when it may go. */
  priority: number;
  seq: number;
  at: number;
}

const byOrder = (a: HeapEntry, b: HeapEntry) =>
  a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq);
const byTime = (a: HeapEntry, b: HeapEntry) => a.at < b.at;

export class FloodController {
  readonly stats: FloodStats = { submitted: 0, released: 0, rejected: 0, floodWaits: 0, queued: 0 };
  readonly limits: FloodLimits;
  readonly queueLimits: FloodQueueLimits;
  private readonly sending: Set<string>;
  private readonly global: TokenBucket;
  /** Each chat's bucket, kept while not full (a full bucket is a new one: forgotten). */
  private readonly buckets = new Map<bigint, TokenBucket>();
  private readonly lanes = new Map<string, Lane>();
  /** Lanes of sends that may go once the session's bucket has a token; lanes of other calls. */
  private readonly sendReady = new MinHeap<HeapEntry>(byOrder);
  private readonly otherReady = new MinHeap<HeapEntry>(byOrder);
  private readonly timed = new MinHeap<HeapEntry>(byTime);
  /** FLOOD_WAITs: `${method}|${chat}` or `${method}|*` -> until (ms). */
  private readonly waits = new Map<string, number>();
  /** The last chat of each method that got a FLOOD_WAIT, and until when. */
  private readonly lastWait = new Map<string, { chat: bigint | undefined; until: number }>();
  private nextId = 1;
  private nextSeq = 1;
  private sinceprune = 0;

  constructor(options: FloodControllerOptions = {}, now = 0) {
    this.limits = { ...BOT_FLOOD_LIMITS, ...options.limits };
    this.queueLimits = { ...DEFAULT_QUEUE_LIMITS, ...options.queue };
    this.sending = new Set(this.limits.methods);
    this.global = new TokenBucket(this.limits.global, now);
  }

  isSend(method: string): boolean {
    return this.sending.has(method);
  }

  /** Until when a remembered FLOOD_WAIT holds `method` to `chat` back (0: it does not). */
  blockedUntil(method: string, chat: bigint | undefined, now: number): number {
    if (this.waits.size === 0) return 0;
    const a = this.waits.get(`${method}|*`) ?? 0;
    const b = chat === undefined ? 0 : (this.waits.get(`${method}|${chat}`) ?? 0);
    const until = Math.max(a, b);
    return until > now ? until : 0;
  }

  /** Whether a call may skip the queue: no bucket applies and no FLOOD_WAIT holds it. */
  mayBypass(method: string, chat: bigint | undefined, now: number): boolean {
    return !this.sending.has(method) && this.blockedUntil(method, chat, now) === 0;
  }

  /**
   * Queues a call; it comes out of `take` when it may go. `seq` keeps the place of a call
   * coming back after a FLOOD_WAIT. Returns the job, or why it was refused.
   */
  submit(
    method: string,
    chat: bigint | undefined,
    priority: FloodPriority,
    now: number,
    seq?: number,
  ): FloodJob | 'FLOOD_QUEUE_FULL' {
    const send = this.sending.has(method);
    const key = send ? `c:${chat ?? ''}` : `m:${method}|${chat ?? ''}`;
    let lane = this.lanes.get(key);
    if (
      this.stats.queued >= this.queueLimits.maxQueued ||
      (lane && lane.count >= this.queueLimits.maxPerChat)
    ) {
      this.stats.rejected++;
      return 'FLOOD_QUEUE_FULL';
    }
    if (!lane) {
      lane = new Lane(key, chat, send && chat !== undefined ? this.bucketOf(chat, now) : undefined);
      this.lanes.set(key, lane);
    }
    const job: FloodJob = {
      id: this.nextId++,
      method,
      chat,
      priority: PRIORITY[priority] ?? 1,
      seq: seq ?? this.nextSeq++,
      send,
    };
    const q = lane.queues[job.priority];
    // A returning job keeps its place (by seq) among the others of its priority.
    let i = q.length;
    while (i > 0 && q[i - 1].seq > job.seq) i--;
    q.splice(i, 0, job);
    lane.count++;
    this.stats.queued++;
    this.stats.submitted++;
    // The head may have changed: place the lane again (older heap entries go stale).
    if (lane.head() === job) this.place(lane, now);
    return job;
  }

  /** Takes a queued job out (its caller gave up: aborted, timed out). */
  cancel(job: FloodJob, now: number): boolean {
    const key = job.send ? `c:${job.chat ?? ''}` : `m:${job.method}|${job.chat ?? ''}`;
    const lane = this.lanes.get(key);
    if (!lane) return false;
    const q = lane.queues[job.priority];
    const i = q.indexOf(job);
    if (i < 0) return false;
    const wasHead = lane.head() === job;
    q.splice(i, 1);
    lane.count--;
    this.stats.queued--;
    if (wasHead) this.place(lane, now);
    return true;
  }

  /**
   * A released job's call was answered (or given up on): its tokens are spent now (the
   * server counted it at some point until then; bucket.ts). Call it once per released job.
   */
  settle(job: FloodJob, now: number): void {
    if (!job.send) return;
    this.global.commit(now);
    if (job.chat === undefined) return;
    this.bucketOf(job.chat, now).commit(now);
    // Its lane may have been waiting for this answer (a bucket of one in flight): placed anew.
    const lane = this.lanes.get(`c:${job.chat}`);
    if (lane) this.place(lane, now);
  }

  /** A FLOOD_WAIT_`seconds` answered `method` to `chat`: later calls wait it out. */
  learn(method: string, chat: bigint | undefined, seconds: number, now: number): void {
    this.stats.floodWaits++;
    const until = now + Math.max(0, seconds) * 1000;
    const last = this.lastWait.get(method);
    // No chat, or a second chat while the first still waits: the account's limit.
    const wide = chat === undefined || (last !== undefined && last.until > now && last.chat !== chat);
    const key = wide ? `${method}|*` : `${method}|${chat}`;
    this.waits.set(key, Math.max(this.waits.get(key) ?? 0, until));
    this.lastWait.set(method, { chat, until });
  }

  /** The jobs that may go now, best first (at most `max`: the rest stay ready, their tokens untaken). */
  take(now: number, max = Number.POSITIVE_INFINITY): FloodJob[] {
    const out: FloodJob[] = [];
    for (let e = this.timed.peek(); e !== undefined && e.at <= now; e = this.timed.peek()) {
      this.timed.pop();
      if (e.version === e.lane.version) this.place(e.lane, now);
    }
    this.drain(this.otherReady, now, out, false, max);
    this.drain(this.sendReady, now, out, true, max);
    if (++this.sinceprune >= 256) this.prune(now);
    return out;
  }

  private drain(heap: MinHeap<HeapEntry>, now: number, out: FloodJob[], send: boolean, max: number): void {
    for (let e = heap.peek(); e !== undefined && out.length < max; e = heap.peek()) {
      const lane = e.lane;
      if (e.version !== lane.version) {
        heap.pop();
        continue;
      }
      // A FLOOD_WAIT learned since it was placed: back to waiting.
      if (this.readyAt(lane, now) > now) {
        heap.pop();
        this.place(lane, now);
        continue;
      }
      if (send && !this.global.reserve(now)) return;
      heap.pop();
      if (send) lane.bucket?.reserve(now);
      const job = lane.head() as FloodJob;
      lane.queues[job.priority].shift();
      lane.count--;
      this.stats.queued--;
      this.stats.released++;
      out.push(job);
      this.place(lane, now);
    }
  }

  /** When `take` should be called next (Infinity: nothing waits). */
  nextDeadline(now: number): number {
    let at = Number.POSITIVE_INFINITY;
    for (let e = this.timed.peek(); e !== undefined; e = this.timed.peek()) {
      if (e.version === e.lane.version) {
        at = e.at;
        break;
      }
      this.timed.pop();
    }
    if (this.otherReady.size > 0) return now;
    if (this.sendReady.size > 0) at = Math.min(at, this.global.readyAt(now));
    return at;
  }

  /** When the lane's head may go. */
  private readyAt(lane: Lane, now: number): number {
    const head = lane.head();
    if (head === undefined) return Number.POSITIVE_INFINITY;
    let at = this.blockedUntil(head.method, lane.chat, now);
    if (head.send && lane.bucket) at = Math.max(at, lane.bucket.readyAt(now));
    return Math.max(at, now);
  }

  /** Puts the lane in the ready or timed heap by its head (or drops an empty lane). */
  private place(lane: Lane, now: number): void {
    lane.version++;
    const head = lane.head();
    if (head === undefined) {
      this.lanes.delete(lane.key);
      return;
    }
    const at = this.readyAt(lane, now);
    const entry: HeapEntry = { lane, version: lane.version, priority: head.priority, seq: head.seq, at };
    if (at > now) this.timed.push(entry);
    else (head.send ? this.sendReady : this.otherReady).push(entry);
  }

  private bucketOf(chat: bigint, now: number): TokenBucket {
    let b = this.buckets.get(chat);
    if (!b) {
      const limit: RateLimit = chat > 0n ? this.limits.user : this.limits.group;
      b = new TokenBucket(limit, now);
      this.buckets.set(chat, b);
    }
    return b;
  }

  /** Forgets full buckets of idle chats and FLOOD_WAITs that are over. */
  private prune(now: number): void {
    this.sinceprune = 0;
    for (const [chat, b] of this.buckets)
      if (!this.lanes.has(`c:${chat}`) && b.full(now)) this.buckets.delete(chat);
    for (const [k, until] of this.waits) if (until <= now) this.waits.delete(k);
    for (const [m, w] of this.lastWait) if (w.until <= now) this.lastWait.delete(m);
  }
}
