// A fleet worker process, as the demo (`npm run demo -- --fleet`), the fleet tests
// (__test__/fleet-*.spec.ts) and bench/fleet.bench.ts run it against an embedded TestDc:
//
//   node --import tsx demo/fleet-worker.ts '<config json>'
//
// config: { fleet: FleetConfig, id, capacity?, leaseTtlMs?, claimIntervalMs?,
//           maxMovesPerTick?, openConcurrency?, dc: { host, port, pem }, pfs? }
// stdout, one line each: "ready <id>", "open|closed|lost <name> <owner> <ms>", and on
// stdin commands: "status" -> "status <json>", "stats" -> "stats <json>" (ticks,
// renewals, memory), "stop" -> graceful stop, "stopped", exit 0.
import { createInterface } from 'node:readline';
import { connectFleet, type FleetConfig, FleetWorker, LeaseRenewer, TelegramMetrics } from '../bindings';

interface Config {
  fleet: FleetConfig;
  id: string;
  capacity?: number;
  leaseTtlMs?: number;
  claimIntervalMs?: number;
  maxMovesPerTick?: number;
  openConcurrency?: number;
  dc: { host: string; port: number; pem: string };
}

const config = JSON.parse(process.argv[2]) as Config;
const out: string[] = [];
let flushing = false;
/** Lines go out in order, batched (2,000 "open" lines must not cost 2,000 writes). */
function say(line: string): void {
  out.push(line);
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    process.stdout.write(`${out.splice(0).join('\n')}\n`);
  });
}

/** Counts every call this process makes to the storage and the roster (the bench reads it). */
const storageCalls: Record<string, number> = {};
function counted<T extends object>(target: T, what: string): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const key = `${what}.${String(prop)}`;
        storageCalls[key] = (storageCalls[key] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

async function main(): Promise<void> {
  const connected = await connectFleet(config.fleet);
  const conn = {
    ...connected,
    storage: counted(connected.storage, 'storage'),
    roster: counted(connected.roster, 'roster'),
  };
  const metrics = new TelegramMetrics();
  const worker = new FleetWorker({
    id: config.id,
    roster: conn.roster,
    storage: conn.storage,
    bus: conn.bus,
    updates: conn.updates,
    capacity: config.capacity,
    leaseTtlMs: config.leaseTtlMs,
    claimIntervalMs: config.claimIntervalMs,
    maxMovesPerTick: config.maxMovesPerTick,
    openConcurrency: config.openConcurrency,
    metrics,
    // Warnings go to stderr (the tests show it when something fails); nothing else is written.
    logger: {
      warn: (message, fields) => process.stderr.write(`${Date.now()} ${message} ${JSON.stringify(fields)}\n`),
      error: (message, fields) =>
        process.stderr.write(`${Date.now()} ${message} ${JSON.stringify(fields)}\n`),
    },
    sessionOptions: {
      address: { host: config.dc.host, port: config.dc.port },
      rsaKeys: [config.dc.pem],
      init: { apiId: 1 },
      // Sessions opened together must not all reconnect at once after a DC hiccup.
      reconnect: { baseMs: 200, capMs: 2000 },
    },
    onSession: (name, owner, what) => say(`${what} ${name} ${owner} ${Date.now()}`),
  });
  await worker.start();
  say(`ready ${worker.id}`);
  const renewer = LeaseRenewer.for(conn.storage);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (cmd) => {
    if (cmd === 'status') say(`status ${JSON.stringify(worker.status())}`);
    else if (cmd === 'stats') {
      const m = process.memoryUsage();
      say(
        `stats ${JSON.stringify({
          sessions: worker.sessions().length,
          renewBatches: renewer.stats.batches,
          renewed: renewer.stats.renewed,
          storageCalls,
          rss: m.rss,
          heapUsed: m.heapUsed,
          external: m.external,
        })}`,
      );
    } else if (cmd === 'metrics') say(`metrics ${JSON.stringify(await metrics.text())}`);
    else if (cmd === 'stop') {
      await worker.stop();
      await connected.close();
      say('stopped');
      setTimeout(() => process.exit(0), 50);
    }
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
