// Many sessions in one SQLite file (better-sqlite3@12, an optional peer).
//
// One connection per file per process, shared by every SqliteStorage on that
// file, in WAL mode with a busy timeout. Writes are serialized through one
// queue: the writes issued in the same tick run in one BEGIN IMMEDIATE
// transaction (a group commit), each inside its own savepoint so a refused
// write does not undo its neighbours, and each promise resolves after COMMIT.
// JS never holds a transaction open across an await, so async writers in one
// process cannot meet SQLITE_BUSY; other processes on the same file wait up to
// the busy timeout. A read first runs the queued writes, so program order holds.
import { resolve } from 'node:path';
import { loadDriver } from './drivers';
import { StorageError } from './errors';
import {
  checkClaims,
  checkFence,
  checkOwner,
  checkTtl,
  decideAcquire,
  decideRenew,
  type LeaseRow,
  notRenewed,
} from './lease';
import { applyPatch } from './merge';
import { checkPeer, peerKey } from './peer-codec';
import { type CodecOptions, decodeRecord, encodeRecord } from './record-codec';
import { identifier } from './sql';
import type {
  Lease,
  LeaseClaim,
  RenewResult,
  SaveOptions,
  SessionPatch,
  SessionRecord,
  SessionStorage,
  StoredPeer,
} from './types';

/** The part of better-sqlite3's API used here. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** 64-bit integers read as BigInt (better-sqlite3's `safeIntegers`). */
  safeIntegers(on?: boolean): SqliteStatement;
}
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(sql: string): unknown;
  transaction<A extends unknown[], R>(
    fn: (...args: A) => R,
  ): ((...args: A) => R) & { immediate(...args: A): R };
  close(): unknown;
}
export type SqliteDriver = new (path: string, options?: { timeout?: number }) => SqliteDatabase;

export interface SqliteStorageOptions extends CodecOptions {
  /** The database file (created if missing), or ':memory:'. */
  path: string;
  /** Table name (default tmt_sessions; leases go to <table>_leases). */
  table?: string;
  /**
   * PRAGMA synchronous: 'full' (default) also survives power loss; 'normal' is
   * faster and survives a crash of the process, not of the machine.
   * The first storage to open a file decides it for that file.
   */
  synchronous?: 'full' | 'normal';
  /** How long to wait for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** The better-sqlite3 constructor (default: require('better-sqlite3')). */
  driver?: SqliteDriver;
}

interface Queued {
  op: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** One file's connection and write queue, shared in this process. */
class Connection {
  refs = 0;
  private queue: Queued[] = [];
  private scheduled = false;
  private readonly batchTx: { immediate(batch: Queued[]): unknown[] };
  private readonly itemTx: (op: () => unknown) => unknown;

  constructor(
    readonly db: SqliteDatabase,
    readonly key: string,
  ) {
    this.itemTx = db.transaction((op: () => unknown) => op());
    this.batchTx = db.transaction((batch: Queued[]) =>
      batch.map((q) => {
        try {
          return { ok: true, value: this.itemTx(q.op) };
        } catch (err) {
          return { ok: false, err };
        }
      }),
    );
  }

  write<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs every queued write now, in one transaction. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: Array<{ ok: boolean; value?: unknown; err?: unknown }>;
    try {
      results = this.batchTx.immediate(batch) as typeof results;
    } catch (err) {
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => {
      if (results[i].ok) q.resolve(results[i].value);
      else q.reject(results[i].err);
    });
  }
}

const open = new Map<string, Connection>();

function connect(options: SqliteStorageOptions): Connection {
  const key = options.path === ':memory:' ? `:memory:${Math.random()}` : resolve(options.path);
  let conn = open.get(key);
  if (!conn) {
    const Driver = options.driver ?? loadDriver<SqliteDriver>('better-sqlite3');
    const db = new Driver(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    conn = new Connection(db, key);
    open.set(key, conn);
  }
  conn.refs++;
  return conn;
}

/** Schema steps, applied in order once each; the version lives in <table>_schema. */
const MIGRATIONS: ReadonlyArray<(t: string, l: string, p: string) => string> = [
  (t, l) => `
    CREATE TABLE ${t} (
      name TEXT PRIMARY KEY,
      dc_id INTEGER NOT NULL,
      user_id INTEGER,
      is_bot INTEGER,
      updated_at INTEGER NOT NULL,
      data BLOB NOT NULL
    );
    CREATE TABLE ${l} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);`,
  // Peers (issue #14): one row per (session, marked id); usernames indexed per session.
  (_t, _l, p) => `
    CREATE TABLE ${p} (
      name TEXT NOT NULL,
      key INTEGER NOT NULL,
      kind INTEGER NOT NULL,
      id INTEGER NOT NULL,
      access_hash INTEGER,
      min INTEGER NOT NULL,
      username TEXT,
      phone TEXT,
      bot INTEGER,
      seen_key INTEGER,
      seen_msg INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (name, key)
    ) WITHOUT ROWID;
    CREATE INDEX ${p.slice(0, -1)}_username" ON ${p} (name, username) WHERE username IS NOT NULL;`,
];

const KINDS = ['user', 'chat', 'channel'] as const;

interface PeerRow {
  kind: bigint;
  id: bigint;
  access_hash: bigint | null;
  min: bigint;
  username: string | null;
  phone: string | null;
  bot: bigint | null;
  seen_key: bigint | null;
  seen_msg: bigint | null;
  updated_at: bigint;
}

function peerOfRow(r: PeerRow): StoredPeer {
  const p: StoredPeer = {
    kind: KINDS[Number(r.kind)],
    id: r.id,
    min: r.min === 1n,
    updatedAt: Number(r.updated_at),
  };
  if (r.access_hash !== null) p.accessHash = r.access_hash;
  if (r.username !== null) p.username = r.username;
  if (r.phone !== null) p.phone = r.phone;
  if (r.bot !== null) p.bot = r.bot === 1n;
  if (r.seen_key !== null && r.seen_msg !== null) p.seenIn = { key: r.seen_key, msgId: Number(r.seen_msg) };
  return p;
}

interface Row {
  name: string;
  data: Buffer;
}

export class SqliteStorage implements SessionStorage {
  private readonly conn: Connection;
  private readonly s: Record<
    | 'load'
    | 'upsert'
    | 'del'
    | 'list'
    | 'leaseGet'
    | 'leaseSet'
    | 'leaseDel'
    | 'leaseRenewMany'
    | 'peerUpsert'
    | 'peerByUsername'
    | 'peerCount'
    | 'peerDelete',
    SqliteStatement
  >;
  private readonly many: (names: readonly string[]) => Row[];
  private readonly peersOf: (name: string, keys: readonly bigint[]) => PeerRow[];
  private closed = false;

  constructor(private readonly options: SqliteStorageOptions) {
    this.conn = connect(options);
    const db = this.conn.db;
    const base = options.table ?? 'tmt_sessions';
    const t = identifier(base);
    const l = identifier(`${base}_leases`);
    const v = identifier(`${base}_schema`);
    const p = identifier(`${base}_peers`);
    try {
      db.transaction(() => {
        db.exec(`CREATE TABLE IF NOT EXISTS ${v} (version INTEGER NOT NULL)`);
        const row = db.prepare(`SELECT version FROM ${v}`).get() as { version: number } | undefined;
        if (!row) db.prepare(`INSERT INTO ${v} (version) VALUES (0)`).run();
        const from = row?.version ?? 0;
        for (let i = from; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i](t, l, p));
        if (from < MIGRATIONS.length) db.prepare(`UPDATE ${v} SET version = ?`).run(MIGRATIONS.length);
      }).immediate();
      const peerCols = 'kind, id, access_hash, min, username, phone, bot, seen_key, seen_msg, updated_at';
      this.s = {
        load: db.prepare(`SELECT name, data FROM ${t} WHERE name = ?`),
        upsert: db.prepare(
          `INSERT INTO ${t} (name, dc_id, user_id, is_bot, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET dc_id = excluded.dc_id, user_id = excluded.user_id,
             is_bot = excluded.is_bot, updated_at = excluded.updated_at, data = excluded.data`,
        ),
        del: db.prepare(`DELETE FROM ${t} WHERE name = ?`),
        list: db.prepare(`SELECT name FROM ${t} WHERE name >= ? ORDER BY name`),
        leaseGet: db.prepare(`SELECT owner, expires_at AS expiresAt FROM ${l} WHERE name = ?`),
        leaseSet: db.prepare(
          `INSERT INTO ${l} (name, owner, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
        ),
        leaseDel: db.prepare(`DELETE FROM ${l} WHERE name = ? AND owner = ?`),
        // A batch renewal in one statement: the claims come as one JSON array of
        // [name, owner] pairs; only rows still held by the claimed owner change.
        leaseRenewMany: db.prepare(
          `UPDATE ${l} SET expires_at = ?
           FROM (SELECT value ->> 0 AS n, value ->> 1 AS o FROM json_each(?)) AS c
           WHERE ${l}.name = c.n AND ${l}.owner = c.o
           RETURNING name, owner`,
        ),
        peerUpsert: db.prepare(
          `INSERT OR REPLACE INTO ${p} (name, key, ${peerCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        peerByUsername: db
          .prepare(`SELECT ${peerCols} FROM ${p} WHERE name = ? AND username = ? LIMIT 1`)
          .safeIntegers(true),
        peerCount: db.prepare(`SELECT count(*) AS n FROM ${p} WHERE name = ?`),
        peerDelete: db.prepare(`DELETE FROM ${p} WHERE name = ?`),
      };
      // Keys as one JSON array of decimal strings (64-bit values do not fit JSON numbers).
      const peerMany = db
        .prepare(
          `SELECT ${peerCols} FROM ${p} WHERE name = ? AND key IN (SELECT CAST(value AS INTEGER) FROM json_each(?))`,
        )
        .safeIntegers(true);
      this.peersOf = (name, keys) =>
        peerMany.all(name, JSON.stringify(keys.map((k) => k.toString()))) as PeerRow[];
      // json_each binds the whole name list as one parameter: one statement for any count.
      const manyStmt = db.prepare(
        `SELECT name, data FROM ${t} WHERE name IN (SELECT value FROM json_each(?))`,
      );
      this.many = (names) => manyStmt.all(JSON.stringify(names)) as Row[];
    } catch (err) {
      this.unref();
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('ERR_STORAGE_CLOSED', 'this SqliteStorage is closed');
  }

  /** Before a read: the queued writes first, so a read sees every write issued before it. */
  private ready(): void {
    this.assertOpen();
    this.conn.flush();
  }

  private write(record: SessionRecord, data: Buffer, owner: string | undefined): void {
    if (owner !== undefined) checkFence(record.name, this.leaseRow(record.name), owner);
    this.s.upsert.run(
      record.name,
      record.dcId,
      record.userId ?? null,
      record.isBot === undefined ? null : Number(record.isBot),
      Math.trunc(record.updatedAt),
      data,
    );
  }

  private leaseRow(name: string): LeaseRow | undefined {
    return this.s.leaseGet.get(name) as LeaseRow | undefined;
  }

  async load(name: string): Promise<SessionRecord | undefined> {
    this.ready();
    const row = this.s.load.get(name) as Row | undefined;
    return row && decodeRecord(name, row.data, this.options);
  }

  async loadMany(names: readonly string[]): Promise<Map<string, SessionRecord>> {
    this.ready();
    const out = new Map<string, SessionRecord>();
    for (const row of this.many(names)) out.set(row.name, decodeRecord(row.name, row.data, this.options));
    return out;
  }

  async save(record: SessionRecord, options: SaveOptions = {}): Promise<void> {
    if (options.owner !== undefined) checkOwner(options.owner);
    this.assertOpen();
    const full = Number.isFinite(record.updatedAt) ? record : { ...record, updatedAt: Date.now() };
    const data = encodeRecord(full, this.options);
    await this.conn.write(() => this.write(full, data, options.owner));
  }

  async update(
    name: string,
    patch: SessionPatch,
    options: SaveOptions = {},
  ): Promise<SessionRecord | undefined> {
    if (options.owner !== undefined) checkOwner(options.owner);
    this.assertOpen();
    return this.conn.write(() => {
      const row = this.s.load.get(name) as Row | undefined;
      if (!row) return undefined;
      const next = applyPatch(decodeRecord(name, row.data, this.options), patch);
      this.write(next, encodeRecord(next, this.options), options.owner);
      return next;
    });
  }

  async delete(name: string): Promise<boolean> {
    this.assertOpen();
    return this.conn.write(() => this.s.del.run(name).changes > 0);
  }

  async list(prefix = ''): Promise<string[]> {
    this.ready();
    const rows = this.s.list.all(prefix) as Array<{ name: string }>;
    const names: string[] = [];
    for (const { name } of rows) {
      if (!name.startsWith(prefix)) break;
      names.push(name);
    }
    return names.sort();
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    this.ready();
    const ttl = checkTtl(ttlMs);
    return this.conn.db
      .transaction(() => {
        const lease = decideAcquire(name, this.leaseRow(name), owner, ttl, Date.now());
        this.s.leaseSet.run(name, owner, lease.expiresAt);
        return lease;
      })
      .immediate();
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    this.ready();
    const ttl = checkTtl(ttlMs);
    return this.conn.db
      .transaction(() => {
        const lease = decideRenew(name, this.leaseRow(name), owner, ttl, Date.now());
        this.s.leaseSet.run(name, owner, lease.expiresAt);
        return lease;
      })
      .immediate();
  }

  async renewMany(claims: readonly LeaseClaim[], ttlMs: number): Promise<RenewResult[]> {
    checkClaims(claims);
    this.ready();
    const ttl = checkTtl(ttlMs);
    if (claims.length === 0) return [];
    return this.conn.db
      .transaction(() => {
        const now = Date.now();
        const expiresAt = now + ttl;
        const pairs = JSON.stringify(claims.map((c) => [c.name, c.owner]));
        const rows = this.s.leaseRenewMany.all(expiresAt, pairs) as LeaseClaim[];
        const renewed = new Set(rows.map((r) => JSON.stringify([r.name, r.owner])));
        return claims.map((c): RenewResult => {
          if (renewed.has(JSON.stringify([c.name, c.owner]))) {
            return { kind: 'renewed', lease: { name: c.name, owner: c.owner, expiresAt } };
          }
          return notRenewed(c, this.leaseRow(c.name));
        });
      })
      .immediate();
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    this.ready();
    return this.s.leaseDel.run(name, owner).changes > 0;
  }

  async lease(name: string): Promise<Lease | undefined> {
    this.ready();
    const row = this.leaseRow(name);
    return row && row.expiresAt > Date.now() ? { name, ...row } : undefined;
  }

  async savePeers(name: string, peers: readonly StoredPeer[], options: SaveOptions = {}): Promise<void> {
    for (const peer of peers) checkPeer(peer);
    const owner = options.owner;
    if (owner !== undefined) checkOwner(owner);
    this.assertOpen();
    if (peers.length === 0) return;
    await this.conn.write(() => {
      // In the write transaction: no other owner can take the lease between check and write.
      if (owner !== undefined) checkFence(name, this.leaseRow(name), owner);
      for (const x of peers) {
        this.s.peerUpsert.run(
          name,
          peerKey(x.kind, x.id),
          KINDS.indexOf(x.kind),
          x.id,
          x.accessHash ?? null,
          x.min ? 1 : 0,
          x.username ?? null,
          x.phone ?? null,
          x.bot === undefined ? null : Number(x.bot),
          x.seenIn?.key ?? null,
          x.seenIn?.msgId ?? null,
          Math.trunc(x.updatedAt),
        );
      }
    });
  }

  async loadPeers(name: string, keys: readonly bigint[]): Promise<Map<bigint, StoredPeer>> {
    this.ready();
    const out = new Map<bigint, StoredPeer>();
    for (let i = 0; i < keys.length; i += 10_000) {
      for (const r of this.peersOf(name, keys.slice(i, i + 10_000))) {
        const peer = peerOfRow(r);
        out.set(peerKey(peer.kind, peer.id), peer);
      }
    }
    return out;
  }

  async peerByUsername(name: string, username: string): Promise<StoredPeer | undefined> {
    this.ready();
    const r = this.s.peerByUsername.get(name, username) as PeerRow | undefined;
    return r && peerOfRow(r);
  }

  async countPeers(name: string): Promise<number> {
    this.ready();
    return Number((this.s.peerCount.get(name) as { n: number }).n);
  }

  async deletePeers(name: string): Promise<number> {
    this.assertOpen();
    return this.conn.write(() => this.s.peerDelete.run(name).changes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.conn.flush();
    this.closed = true;
    this.unref();
  }

  private unref(): void {
    if (--this.conn.refs > 0) return;
    open.delete(this.conn.key);
    this.conn.db.close();
  }
}
