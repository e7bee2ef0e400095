// npm run demo -- --fleet [--sessions 1000]: the fleet end to end on loopback. Starts
// PostgreSQL and Redis as the tests do (scripts/services.sh: installed with apt if
// missing, stopped afterwards if this run started them), an embedded TestDc, and 3
// worker processes (demo/fleet-worker.ts) sharing the sessions: the roster and leases in
// PostgreSQL, routed calls and the update streams in Redis. It spreads the sessions (and
// waits until the workers evened out their shares),
// has TestDc push updates to every account, SIGKILLs a worker, shows the failover and
// the update stream carrying on, and prints a summary.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  connectFleet,
  FleetClient,
  type FleetConfig,
  type FleetConnection,
  fleetStatus,
  UpdateReader,
} from '../bindings';
import { TestDc } from '../bindings/testing';

const ROOT = join(__dirname, '..');
const WORKER = join(__dirname, 'fleet-worker.ts');
const TTL = 5000;
const INTERVAL = 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line: string) => console.log(line);

interface Worker {
  id: string;
  p: ChildProcess;
  held: Set<string>;
  dead: boolean;
}

function services(): { pg: string; redis: string; started: string } {
  say('starting PostgreSQL and Redis (scripts/services.sh) ...');
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'services.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = new Map<string, string>();
  for (const m of out.matchAll(/^export (\w+)=['"]?([^'"\n]*)['"]?$/gm)) env.set(m[1], m[2]);
  const pg = env.get('TMT_PG_URL');
  const redis = env.get('TMT_REDIS_URL');
  if (!pg || !redis) throw new Error(`scripts/services.sh printed no addresses:\n${out}`);
  return { pg, redis, started: env.get('TMT_SERVICES_STARTED') ?? '' };
}

function startWorker(fleet: FleetConfig, dc: TestDc, id: string): Worker {
  const config = {
    fleet,
    id,
    leaseTtlMs: TTL,
    claimIntervalMs: INTERVAL,
    dc: { host: dc.host, port: dc.port, pem: dc.rsaPublicKey.pem },
  };
  const p = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const w: Worker = { id, p, held: new Set(), dead: false };
  createInterface({ input: p.stdout! }).on('line', (line) => {
    const [what, name] = line.split(' ');
    if (what === 'open') w.held.add(name);
    else if (what === 'closed' || what === 'lost') w.held.delete(name);
  });
  return w;
}

async function until(done: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error('the demo timed out');
    await sleep(50);
  }
  return Date.now() - start;
}

async function seed(conn: FleetConnection, dc: TestDc, n: number) {
  const names: string[] = [];
  const users = new Map<string, bigint>();
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < n; i++) {
    const name = `demo-${tag}-${i}`;
    const bot = dc.accounts.addBot();
    const authKey = randomBytes(256);
    const { salt } = dc.addAuthKey(authKey, { userId: bot.id });
    await conn.storage.save({
      name,
      dcId: dc.dcId,
      authKeys: { [dc.dcId]: { authKey, serverSalt: salt, timeOffset: 0 } },
      userId: bot.id,
      isBot: true,
      updatedAt: Date.now(),
    });
    names.push(name);
    users.set(name, bot.id);
  }
  await conn.roster.add(names.map((name) => ({ name, dcId: dc.dcId, options: { isBot: true } })));
  return { names, users };
}

export async function runFleetDemo(sessions: number): Promise<void> {
  const svc = services();
  const table = `demo_${randomBytes(3).toString('hex')}`;
  const fleet: FleetConfig = {
    kind: 'postgres',
    connectionString: svc.pg,
    table,
    redisUrl: svc.redis,
    prefix: `${table}:`,
  };
  const dc = await TestDc.start({ rsaKey: 'shared' });
  const conn = await connectFleet(fleet);
  const workers: Worker[] = [];
  const Redis = require('ioredis') as typeof import('ioredis').Redis;
  const readerRedis = new Redis(svc.redis);
  let reading = true;
  try {
    say(
      `TestDc on ${dc.host}:${dc.port}; roster and leases in PostgreSQL (table ${table}), streams in Redis`,
    );
    const { names, users } = await seed(conn, dc, sessions);
    say(`${sessions} sessions stored and put in the roster`);
    for (const id of ['w1', 'w2', 'w3']) workers.push(startWorker(fleet, dc, `${id}-${process.pid}`));
    const held = () => workers.reduce((a, w) => a + (w.dead ? 0 : w.held.size), 0);
    const spreadMs = await until(() => held() === sessions, 120_000);
    say(
      `all claimed in ${spreadMs} ms: ${workers.map((w) => `${w.id} ${w.held.size}`).join(', ')} (the first worker up took the most)`,
    );
    // The workers shed down to their fair share a bounded number of sessions per tick.
    const fair = sessions / workers.length;
    const evenMs = await until(
      () => held() === sessions && workers.every((w) => Math.abs(w.held.size - fair) <= fair * 0.1 + 1),
      180_000,
    );
    say(
      `evened out (each within 10% of ${Math.round(fair)}) ${evenMs} ms later: ${workers.map((w) => `${w.id} ${w.held.size}`).join(', ')}`,
    );

    // Updates out: a consumer group reading every shard.
    const reader = new UpdateReader({
      client: readerRedis as never,
      prefix: fleet.prefix,
      group: 'demo',
      consumer: 'c',
    });
    const seen = new Set<string>();
    let entries = 0;
    const reading$ = (async () => {
      while (reading) {
        const batch = await reader.read(1000, 200);
        for (const e of batch) {
          entries++;
          seen.add(`${e.session}:${e.pts}`);
        }
        if (batch.length) await reader.ack(batch);
      }
    })();
    let pushed = 0;
    const push = () => {
      for (const name of names) {
        const e = dc.updates.newMessage(users.get(name)!, { text: `hello ${pushed}` });
        void e;
        pushed++;
      }
    };
    const expected = () => pushed;
    push();
    await until(() => seen.size >= expected(), 60_000);
    say(`${pushed} updates pushed by TestDc, all in the streams`);

    const client = new FleetClient({ storage: conn.storage, bus: conn.bus!, timeoutMs: 30_000 });
    const t0 = Date.now();
    await Promise.all(names.slice(0, 100).map((n) => client.call(n, 'help.getNearestDc', {})));
    say(`100 routed calls from this process answered in ${Date.now() - t0} ms`);

    const victim = workers[0];
    const lost = [...victim.held];
    say(`SIGKILL ${victim.id} (${lost.length} sessions) while TestDc keeps pushing ...`);
    victim.p.kill('SIGKILL');
    victim.dead = true;
    const killedAt = Date.now();
    const pushing = (async () => {
      for (let i = 0; i < 5; i++) {
        push();
        await sleep(1000);
      }
    })();
    const moved = await until(() => lost.every((n) => workers.slice(1).some((w) => w.held.has(n))), 120_000);
    say(
      `failover: all ${lost.length} open on the other workers ${moved} ms after SIGKILL (lease TTL ${TTL} ms)`,
    );
    const t1 = Date.now();
    await Promise.all(lost.slice(0, 100).map((n) => client.call(n, 'help.getNearestDc', {})));
    say(`100 routed calls to moved sessions answered in ${Date.now() - t1} ms`);
    await pushing;
    const caughtUp = await until(() => seen.size >= expected(), 120_000);
    say(`the stream carried on: every one of ${pushed} updates read (${caughtUp} ms after the last push)`);

    const status = await fleetStatus(conn.roster, TTL);
    say('\nsummary');
    say(`  sessions             ${sessions} (unowned now: ${status.unowned})`);
    for (const w of status.workers)
      say(`  worker ${w.id.padEnd(14)} ${w.sessions} sessions, capacity ${w.capacity}`);
    say(
      `  failover             ${moved} ms for ${lost.length} sessions (killed at ${new Date(killedAt).toISOString()})`,
    );
    say(
      `  updates              ${pushed} pushed, ${seen.size} distinct in the streams, ${entries - seen.size} read twice (at least once)`,
    );
    say(`  routed calls         200 answered (${client.retries.undelivered} re-sent after the owner died)`);
    reading = false;
    await reading$;
    await client.close();
  } finally {
    reading = false;
    for (const w of workers) if (!w.dead) w.p.stdin!.write('stop\n');
    await Promise.all(
      workers.map((w) =>
        w.dead ? Promise.resolve() : Promise.race([new Promise((r) => w.p.on('close', r)), sleep(20_000)]),
      ),
    );
    for (const w of workers) if (!w.dead) w.p.kill('SIGKILL');
    readerRedis.disconnect();
    // The demo's tables and keys go; the services stop if this run started them.
    const { Client } = require('pg') as typeof import('pg');
    const c = new Client({ connectionString: svc.pg });
    await c.connect();
    for (const s of ['', '_leases', '_schema', '_roster', '_workers'])
      await c.query(`DROP TABLE IF EXISTS "${table}${s}"`);
    await c.end();
    const r = new Redis(svc.redis);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${table}:*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await r.quit();
    await conn.close();
    await dc.stop();
    if (svc.started)
      execFileSync('bash', [join(ROOT, 'scripts', 'services.sh'), 'stop', ...svc.started.split(' ')]);
  }
}
