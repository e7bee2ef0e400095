// Updates out: each session's ordered updates appended to Redis Streams, one stream per
// shard (<prefix>fleet:u:<shard>, the shard a hash of the session's name), read by
// consumer groups (XREADGROUP / XACK). The worker appends an update, waits for Redis to
// confirm the XADD, and only then acknowledges it to the session, whose update engine
// commits (stores) its state only up to what was acknowledged: after a failover the new
// owner resumes from the committed state with getDifference, so nothing is lost. An
// update appended but not yet committed when its worker died comes again: delivery is at
// least once, and each entry names its session and position so consumers de-duplicate.
//
// An entry's fields: s (session), k (u: update, g: gap), b (box: 'common' or a channel
// id), p (pts after it, or a gap's toPts), c (pts_count), q (qts), f (a gap's fromPts),
// sq (seq), d (date), tl (TL bytes: `updates` holding the one update with its users and
// chats; for a gap `messages.messages` with its messages, chats and users).

import type { OrderedUpdate } from '../session/update-feed';
import * as TL from '../tl';
import { FleetError } from './types';

/** The part of ioredis used here (an ioredis `Redis` instance fits). */
export interface StreamRedis {
  xadd(key: string, ...args: Array<string | Buffer | number>): Promise<string | null>;
  xgroup(...args: Array<string | number>): Promise<unknown>;
  xreadgroupBuffer?(...args: Array<string | number>): Promise<unknown>;
  xack(key: string, group: string, ...ids: string[]): Promise<number>;
  xautoclaimBuffer?(...args: Array<string | number>): Promise<unknown>;
  quit(): Promise<unknown>;
}

export interface UpdateStreamOptions {
  client: StreamRedis;
  /** Key prefix (default 'tmt:'). */
  prefix?: string;
  /** Streams the sessions are spread over (default 16). Every writer and reader must agree. */
  shards?: number;
  /**
   * Entries kept per stream at most (XADD MAXLEN ~, default 1,000,000): the memory bound.
   * Entries past it are trimmed whether or not a group read them: size it above what
   * consumers may fall behind by.
   */
  maxLen?: number;
}

/** FNV-1a over the name's UTF-8 bytes: a stable shard for a session in every language. */
export function shardOf(name: string, shards: number): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

export class RedisUpdateStream {
  readonly shards: number;
  private readonly client: StreamRedis;
  private readonly prefix: string;
  private readonly maxLen: number;

  constructor(options: UpdateStreamOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? 'tmt:';
    this.shards = Math.max(1, Math.floor(options.shards ?? 16));
    this.maxLen = Math.max(1, Math.floor(options.maxLen ?? 1_000_000));
  }

  /** The stream of shard `i`. */
  key(i: number): string {
    return `${this.prefix}fleet:u:${i}`;
  }

  keyOf(session: string): string {
    return this.key(shardOf(session, this.shards));
  }

  /** Appends one ordered update of `session`; resolves with its entry id once Redis has it. */
  async append(session: string, item: OrderedUpdate): Promise<string> {
    const fields: Array<string | Buffer | number> = ['s', session, 'k', item.kind === 'update' ? 'u' : 'g'];
    fields.push('b', item.box === 'common' ? 'common' : item.box.toString());
    if (item.kind === 'update') {
      if (item.pts !== undefined) fields.push('p', item.pts, 'c', item.ptsCount ?? 0);
      if (item.qts !== undefined) fields.push('q', item.qts);
      if (item.seq !== undefined) fields.push('sq', item.seq);
      fields.push('d', item.date);
      const tl = TL.serialize({
        _: 'updates',
        updates: [item.update],
        users: item.users,
        chats: item.chats,
        date: item.date,
        seq: item.seq ?? 0,
      } as TL.TlObject);
      fields.push('tl', tl);
    } else {
      fields.push('f', item.fromPts, 'p', item.toPts);
      const tl = TL.serialize({
        _: 'messages.messages',
        messages: item.messages,
        topics: [],
        chats: item.chats,
        users: item.users,
      } as TL.TlObject);
      fields.push('tl', tl);
    }
    const id = await this.client.xadd(this.keyOf(session), 'MAXLEN', '~', this.maxLen, '*', ...fields);
    if (!id) throw new FleetError('FLEET_STORAGE_FAILED', 'XADD returned no id');
    return id;
  }
}

/** One entry read back from a stream. */
export interface StreamEntry {
  /** The stream key and entry id (for XACK). */
  stream: string;
  id: string;
  session: string;
  kind: 'update' | 'gap';
  box: 'common' | bigint;
  pts?: number;
  ptsCount?: number;
  qts?: number;
  seq?: number;
  fromPts?: number;
  date?: number;
  /** The update with its users and chats (`updates`), or a gap's `messages.messages`. */
  body: TL.TlObject;
}

/** Reads an entry's field list ([name, value, ...], values as Buffers). */
export function decodeEntry(stream: string, id: string, raw: Buffer[]): StreamEntry {
  const f = new Map<string, Buffer>();
  for (let i = 0; i + 1 < raw.length; i += 2) f.set(raw[i].toString(), raw[i + 1]);
  const num = (k: string) => (f.has(k) ? Number(f.get(k)!.toString()) : undefined);
  const s = f.get('s');
  const tl = f.get('tl');
  if (!s || !tl) throw new FleetError('BAD_MESSAGE', `stream entry ${id} lacks its session or body`);
  const box = f.get('b')?.toString() ?? 'common';
  return {
    stream,
    id,
    session: s.toString(),
    kind: f.get('k')?.toString() === 'g' ? 'gap' : 'update',
    box: box === 'common' ? 'common' : BigInt(box),
    pts: num('p'),
    ptsCount: num('c'),
    qts: num('q'),
    seq: num('sq'),
    fromPts: num('f'),
    date: num('d'),
    body: TL.deserialize(tl) as TL.TlObject,
  };
}

export interface UpdateReaderOptions extends UpdateStreamOptions {
  /** The consumer group (made on the streams if missing, reading from their start). */
  group: string;
  /** This consumer's name within the group. */
  consumer: string;
}

/**
 * A consumer of a group over every shard: `read()` gives new entries (XREADGROUP >),
 * `ack()` confirms them (XACK), `reclaim()` takes over entries another consumer read but
 * never acknowledged for `minIdleMs` (XAUTOCLAIM), for consumers that died. Use a
 * connection of its own: XREADGROUP with BLOCK holds it.
 */
export class UpdateReader {
  private readonly stream: RedisUpdateStream;
  private readonly client: StreamRedis;
  private grouped = false;

  constructor(private readonly options: UpdateReaderOptions) {
    this.stream = new RedisUpdateStream(options);
    this.client = options.client;
  }

  private keys(): string[] {
    return Array.from({ length: this.stream.shards }, (_, i) => this.stream.key(i));
  }

  private async ensureGroups(): Promise<void> {
    if (this.grouped) return;
    for (const key of this.keys()) {
      try {
        await this.client.xgroup('CREATE', key, this.options.group, '0', 'MKSTREAM');
      } catch (e) {
        if (!String((e as Error).message).includes('BUSYGROUP')) throw e;
      }
    }
    this.grouped = true;
  }

  /** Up to `count` new entries per stream, waiting up to `blockMs` when there are none. */
  async read(count = 500, blockMs = 1000): Promise<StreamEntry[]> {
    await this.ensureGroups();
    const keys = this.keys();
    const reply = (await this.client.xreadgroupBuffer!(
      'GROUP',
      this.options.group,
      this.options.consumer,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...keys,
      ...keys.map(() => '>'),
    )) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
    return flatten(reply);
  }

  /** Entries idle for `minIdleMs` in other consumers' pending lists, now this consumer's. */
  async reclaim(minIdleMs: number, count = 500): Promise<StreamEntry[]> {
    await this.ensureGroups();
    const out: StreamEntry[] = [];
    for (const key of this.keys()) {
      const r = (await this.client.xautoclaimBuffer!(
        key,
        this.options.group,
        this.options.consumer,
        minIdleMs,
        '0-0',
        'COUNT',
        count,
      )) as [Buffer, Array<[Buffer, Buffer[]] | null>];
      for (const e of r[1]) if (e?.[1]) out.push(decodeEntry(key, e[0].toString(), e[1]));
    }
    return out;
  }

  async ack(entries: readonly StreamEntry[]): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const e of entries) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.id]);
    for (const [key, ids] of byStream) await this.client.xack(key, this.options.group, ...ids);
  }
}

function flatten(reply: Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [key, entries] of reply ?? []) {
    const stream = key.toString();
    for (const [id, raw] of entries) out.push(decodeEntry(stream, id.toString(), raw));
  }
  return out;
}
