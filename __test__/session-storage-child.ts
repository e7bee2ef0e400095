// A second process for session-storage-processes.spec.ts: opens a stored
// session against the parent's TestWorld.
//   hold    <kind> <where> <config>   open, print "open <authKeyId> <mtpSessionId>", stay
//   traffic <kind> <where> <config>   open, print it, then call in a loop printing "call <i>";
//                                     on LEASE_LOST print "lost <how>" and exit
//   try     <kind> <where> <config>   open and close ("open ..."), or print "refused <code>"
// config: { name, host, port, pem, ttlMs }
import { SessionError, type SessionEvent, SessionRegistry } from '../bindings';
import { PostgresStorage, RedisStorage, type SessionStorage, SqliteStorage } from '../bindings/storage';

const [mode, kind, whereJson, configJson] = process.argv.slice(2);
const where = JSON.parse(whereJson) as { path?: string; table?: string; prefix?: string };
const config = JSON.parse(configJson) as {
  name: string;
  host: string;
  port: number;
  pem: string;
  ttlMs: number;
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
  let lost: ((how: string) => void) | null = null;
  const onEvent = (e: SessionEvent) => {
    if (e.kind === 'leaseLost') lost?.('event');
  };
  let id: string;
  try {
    id = await reg.open(2, onEvent, {
      address: { host: config.host, port: config.port },
      rsaKeys: [config.pem],
      init: { apiId: 1 },
      storage: storage(),
      name: config.name,
      persist: { leaseTtlMs: config.ttlMs, saveDelayMs: 10 },
    });
  } catch (e) {
    if (mode === 'try' && e instanceof SessionError) {
      await say(`refused ${e.code}`);
      process.exit(0);
    }
    throw e;
  }
  const st = reg.state(id);
  await say(`open ${st.authKeyId} ${st.mtpSessionId}`);
  if (mode === 'try') {
    await reg.close(id);
    process.exit(0);
  }
  if (mode === 'hold') {
    setInterval(() => {}, 1 << 30);
    return;
  }
  // traffic
  const done = new Promise<string>((resolve) => {
    lost = resolve;
  });
  void done.then(async (how) => {
    await say(`lost ${how}`);
    process.exit(0);
  });
  for (let i = 0; ; i++) {
    try {
      await reg.call(id, 'help.getNearestDc', {});
    } catch (e) {
      if (e instanceof SessionError && e.code === 'LEASE_LOST') return lost?.('call');
      throw e;
    }
    await say(`call ${i}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
