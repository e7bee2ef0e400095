// A second process for storage-processes.spec.ts:
//   write   <kind> <where>              save sessions in a loop, print "ok <i>" after each awaited
//                                       save, until killed (bounded: 60 s or 200,000 writes)
//   batch   <kind> <where> <tag> <n>    save n sessions <tag>-<i>, then print "done"
//   contend <kind> <where> <id> <ms>    take the lease "contended" again and again for <ms>; while
//                                       holding it, write a marker and check no one else wrote;
//                                       print one JSON line: { held, locked, violations }
import { PostgresStorage, RedisStorage, type SessionStorage, SqliteStorage } from '../bindings/storage';
import { recordFor } from './storage-support';

const [mode, kind, whereJson, ...rest] = process.argv.slice(2);
const where = JSON.parse(whereJson) as { path?: string; table?: string; prefix?: string };

function open(): SessionStorage {
  if (kind === 'sqlite') return new SqliteStorage({ path: where.path! });
  if (kind === 'postgres')
    return new PostgresStorage({ connectionString: process.env.TMT_PG_URL, table: where.table });
  if (kind === 'redis') return new RedisStorage({ url: process.env.TMT_REDIS_URL, prefix: where.prefix });
  throw new Error(`no adapter ${kind}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `line` is flushed to the pipe, so the parent never sees a write we did not finish. */
const say = (line: string) => new Promise<void>((r) => process.stdout.write(`${line}\n`, () => r()));

async function main(): Promise<void> {
  const s = open();
  if (mode === 'write') {
    const end = Date.now() + 60_000;
    for (let i = 0; i < 200_000 && Date.now() < end; i++) {
      await s.save(recordFor(`crash-${i}`));
      // The counter is rewritten on every round: after a crash it must hold the last reported round or the next.
      await s.save({ ...recordFor('counter'), userId: BigInt(i) });
      await say(`ok ${i}`);
    }
  } else if (mode === 'batch') {
    const [tag, n] = rest;
    await Promise.all(Array.from({ length: Number(n) }, (_, i) => s.save(recordFor(`${tag}-${i}`))));
    await say('done');
  } else if (mode === 'contend') {
    const [id, ms] = rest;
    const marker = BigInt(`0x${Buffer.from(id).toString('hex').slice(0, 12)}`);
    const stats = { held: 0, locked: 0, violations: 0 };
    const end = Date.now() + Number(ms);
    while (Date.now() < end) {
      try {
        await s.acquire('contended', id, 5_000);
      } catch (err) {
        if ((err as { code?: string }).code !== 'ERR_SESSION_LOCKED') throw err;
        stats.locked++;
        await sleep(2 + Math.random() * 8);
        continue;
      }
      stats.held++;
      // Unfenced on purpose: only the lease keeps the other process out.
      await s.save({ ...recordFor('contended'), userId: marker });
      await sleep(15);
      if ((await s.load('contended'))?.userId !== marker) stats.violations++;
      await s.release('contended', id);
      await sleep(Math.random() * 5);
    }
    await say(JSON.stringify(stats));
  }
  await s.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
