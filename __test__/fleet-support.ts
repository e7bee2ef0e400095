// Shared by the fleet suites: worker processes (demo/fleet-worker.ts) against a TestDc in
// this process, sessions seeded into storage and the roster (keys logged in as bots on the
// DC, so the update engine runs), the workers' ownership log, and a reader of the streams.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connectFleet,
  type FleetConfig,
  type FleetConnection,
  type StreamEntry,
  UpdateReader,
} from '../bindings';
import type { TestDc } from '../bindings/testing';
import { sleep } from './session-storage-support';
import { unique } from './storage-support';

export const WORKER = join(__dirname, '..', 'demo', 'fleet-worker.ts');

export interface WorkerProcess {
  id: string;
  p: ChildProcess;
  lines: string[];
  /** Resolves with the first line from `from` on matching `re`. */
  line(re: RegExp, ms?: number, from?: number): Promise<RegExpMatchArray>;
  send(cmd: string): void;
  exited: Promise<void>;
  stderr(): string;
  /** When the test killed or froze it (ms), for the ownership log. */
  killedAt?: number;
}

export interface WorkerSettings {
  capacity?: number;
  leaseTtlMs: number;
  claimIntervalMs: number;
  maxMovesPerTick?: number;
}

export function startWorker(fleet: FleetConfig, dc: TestDc, id: string, s: WorkerSettings): WorkerProcess {
  const config = { fleet, id, ...s, dc: { host: dc.host, port: dc.port, pem: dc.rsaPublicKey.pem } };
  const p = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let err = '';
  p.stderr!.on('data', (d) => (err += d));
  p.stdout!.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((r) =>
    p.on('close', () => {
      for (const w of waiters.splice(0)) w();
      r();
    }),
  );
  const line = (re: RegExp, ms = 30_000, from = 0) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${id}: no line ${re}: ${err}`)), ms);
      const check = () => {
        for (let i = from; i < lines.length; i++) {
          const m = lines[i].match(re);
          if (m) {
            clearTimeout(timer);
            return resolve(m);
          }
        }
        if (p.exitCode !== null || p.signalCode !== null) {
          clearTimeout(timer);
          return reject(new Error(`worker ${id} ended without ${re}: ${err}`));
        }
        waiters.push(check);
      };
      check();
    });
  return {
    id,
    p,
    lines,
    line,
    send: (cmd) => p.stdin!.write(`${cmd}\n`),
    exited,
    stderr: () => err,
  };
}

/** What a worker reports as JSON after `cmd` ("status", "stats"). */
export async function ask<T>(w: WorkerProcess, cmd: 'status' | 'stats'): Promise<T> {
  const from = w.lines.length;
  w.send(cmd);
  const m = await w.line(new RegExp(`^${cmd} (.*)$`), 20_000, from);
  return JSON.parse(m[1]) as T;
}

/** Sessions each worker holds now, from the ownership log. */
export function holdings(workers: readonly WorkerProcess[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const w of workers) {
    const held = new Set<string>();
    for (const l of w.lines) {
      const m = l.match(/^(open|closed|lost) (\S+) /);
      if (!m) continue;
      if (m[1] === 'open') held.add(m[2]);
      else held.delete(m[2]);
    }
    out.set(w.id, w.killedAt === undefined ? held : new Set());
  }
  return out;
}

/** Whether every live worker holds its fair share of `n`, within `tolerance` (a fraction of n). */
export function balanced(workers: readonly WorkerProcess[], n: number, tolerance = 0.05): boolean {
  const live = workers.filter((w) => w.killedAt === undefined);
  const held = holdings(live);
  return live.every((w) => Math.abs(held.get(w.id)!.size - n / live.length) <= n * tolerance);
}

/**
 * The ownership log checked: per session, the spans [open, closed/lost/killed) of the
 * claims of different workers never overlap. Returns the violations.
 */
export function overlaps(workers: readonly WorkerProcess[]): string[] {
  const spans = new Map<string, Array<{ w: string; from: number; to: number }>>();
  for (const w of workers) {
    const open = new Map<string, number>();
    for (const l of w.lines) {
      const m = l.match(/^(open|closed|lost) (\S+) \S+ (\d+)$/);
      if (!m) continue;
      const [, what, name, at] = m;
      if (what === 'open') open.set(name, Number(at));
      else if (open.has(name)) {
        const list = spans.get(name) ?? [];
        list.push({ w: w.id, from: open.get(name)!, to: Number(at) });
        spans.set(name, list);
        open.delete(name);
      }
    }
    for (const [name, from] of open) {
      const list = spans.get(name) ?? [];
      list.push({ w: w.id, from, to: w.killedAt ?? Number.POSITIVE_INFINITY });
      spans.set(name, list);
    }
  }
  const bad: string[] = [];
  for (const [name, list] of spans) {
    list.sort((a, b) => a.from - b.from);
    for (let i = 1; i < list.length; i++) {
      if (list[i].from < list[i - 1].to && list[i].w !== list[i - 1].w)
        bad.push(`${name}: ${list[i - 1].w} until ${list[i - 1].to}, ${list[i].w} from ${list[i].from}`);
    }
  }
  return bad;
}

export interface Seeded {
  names: string[];
  /** The bot account of each session. */
  userOf: Map<string, bigint>;
  /** The permanent auth key id of each session (unsigned). */
  keyOf: Map<string, bigint>;
}

/** `n` sessions: a bot account and a logged-in key on `dc` each, stored and put in the roster. */
export async function seed(
  conn: FleetConnection,
  dc: TestDc,
  n: number,
  tag = 'f',
  options: { pfs?: boolean } = {},
): Promise<Seeded> {
  const names: string[] = [];
  const userOf = new Map<string, bigint>();
  const keyOf = new Map<string, bigint>();
  const base = unique(tag);
  const records = [];
  for (let i = 0; i < n; i++) {
    const name = `${base}_${i}`;
    const bot = dc.accounts.addBot();
    const authKey = randomBytes(256);
    const { authKeyId, salt } = dc.addAuthKey(authKey, { userId: bot.id });
    names.push(name);
    userOf.set(name, bot.id);
    keyOf.set(name, authKeyId);
    records.push({
      name,
      dcId: dc.dcId,
      authKeys: { [dc.dcId]: { authKey, serverSalt: salt, timeOffset: 0 } },
      userId: bot.id,
      isBot: true,
      updatedAt: Date.now(),
    });
  }
  for (let i = 0; i < records.length; i += 200)
    await Promise.all(records.slice(i, i + 200).map((r) => conn.storage.save(r)));
  await conn.roster.add(names.map((name) => ({ name, dcId: dc.dcId, options: { isBot: true, ...options } })));
  return { names, userOf, keyOf };
}

/** Reads every stream of the fleet (a group of its own) into `got`: session -> pts seen. */
export async function readStreams(
  fleet: FleetConfig & { prefix?: string },
  redisUrl: string,
  got: Map<string, Set<number>>,
  stop: () => boolean,
): Promise<number> {
  const Redis = require('ioredis') as typeof import('ioredis').Redis;
  const client = new Redis(redisUrl);
  const reader = new UpdateReader({
    client: client as never,
    prefix: fleet.prefix,
    group: 'test',
    consumer: 'c1',
  });
  let entries = 0;
  try {
    while (!stop()) {
      const batch: StreamEntry[] = await reader.read(1000, 200);
      for (const e of batch) {
        entries++;
        if (e.kind !== 'update' || e.pts === undefined) continue;
        const set = got.get(e.session) ?? new Set<number>();
        set.add(e.pts);
        got.set(e.session, set);
      }
      if (batch.length) await reader.ack(batch);
    }
  } finally {
    await client.quit();
  }
  return entries;
}

export async function until(done: () => boolean, what: string, ms: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - start;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A throwaway redis-server (the one scripts/services.sh installs) on a port of its own. */
export async function ownRedis(): Promise<{ url: string; p: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tmt-redis-'));
  const p = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const Redis = require('ioredis') as typeof import('ioredis').Redis;
  const url = `redis://127.0.0.1:${port}/0`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect().catch(() => {});
      if ((await probe.ping()) === 'PONG') break;
    } catch {}
    await sleep(100);
  }
  probe.disconnect();
  return { url, p, dir };
}

const LOCK = join(tmpdir(), 'tmt-fleet-tests.lock');

/**
 * Runs `fn` while no other fleet scenario of this machine runs (ava runs test files in
 * parallel processes; several fleets of worker processes at once on two cores would
 * measure the machine, not the fleet). A lock file holding the owner's pid; a dead
 * owner's lock is taken over.
 */
export async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const { openSync, writeSync, closeSync, readFileSync, unlinkSync } =
    require('node:fs') as typeof import('node:fs');
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      let pid = 0;
      try {
        pid = Number(readFileSync(LOCK, 'utf8'));
        process.kill(pid, 0);
      } catch {
        // No such process (or no readable lock): the lock is stale.
        if (pid) {
          try {
            unlinkSync(LOCK);
          } catch {}
        }
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
    } catch {}
  }
}

export { connectFleet, sleep };
