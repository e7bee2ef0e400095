// A second process for session-updates-processes.spec.ts: a stored bot session with the
// update engine, against the parent's TestDc. It logs in when given a token, then prints
// each ordered update it takes ("got <box> <pts> <messageId>"), acknowledging as it goes,
// until it is killed.
//   <kind> <where> <config>   config: { name, host, port, pem, ttlMs, token? }
import { SessionRegistry } from '../bindings';
import { PostgresStorage, RedisStorage, type SessionStorage, SqliteStorage } from '../bindings/storage';

const [kind, whereJson, configJson] = process.argv.slice(2);
const where = JSON.parse(whereJson) as { path?: string; table?: string; prefix?: string };
const config = JSON.parse(configJson) as {
  name: string;
  host: string;
  port: number;
  pem: string;
  ttlMs: number;
  token?: string;
};

function storage(): SessionStorage {
  if (kind === 'sqlite') return new SqliteStorage({ path: where.path! });
  if (kind === 'postgres')
    return new PostgresStorage({ connectionString: process.env.TMT_PG_URL, table: where.table });
  if (kind === 'redis') return new RedisStorage({ url: process.env.TMT_REDIS_URL, prefix: where.prefix });
  throw new Error(`no adapter ${kind}`);
}

const say = (line: string) => new Promise<void>((r) => process.stdout.write(`${line}\n`, () => r()));

async function main(): Promise<void> {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, {
    address: { host: config.host, port: config.port },
    rsaKeys: [config.pem],
    init: { apiId: 1 },
    storage: storage(),
    name: config.name,
    // Commits are written as they come (no coalescing delay): what a crash loses is then
    // only what was taken after the last write.
    persist: { leaseTtlMs: config.ttlMs, saveDelayMs: 0 },
    updates: { catchUp: true, isBot: true },
  });
  if (config.token)
    await reg.loginBot(id, config.token, { apiId: 1, apiHash: '0123456789abcdef0123456789abcdef' });
  await say('ready');
  for await (const u of reg.ordered(id)) {
    if (u.kind !== 'update') continue;
    const m = (u.update as { message?: { id?: number } }).message;
    await say(`got ${u.box} ${u.pts ?? 0} ${m?.id ?? 0}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
