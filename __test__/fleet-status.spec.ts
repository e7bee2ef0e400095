// Operating a fleet, in one process: a worker on a SQLite roster (no Redis: claims,
// balance and the status view need none) shows in fleetStatus with its sessions, their
// lease ages and owners; a session that cannot open is deferred with its error; the
// logger hears warnings and nothing goes to the console; and TelegramMetrics, fed by
// session events and `metrics.call`, counts open and connected sessions, calls, FLOOD_WAITs,
// handshakes, reconnects, delivered updates and lease renewals in the Prometheus format.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  connectFleet,
  FleetWorker,
  fleetStatus,
  LeaseRenewer,
  SessionRegistry,
  SqliteStorage,
  TelegramMetrics,
} from '../bindings';
import { TestDc } from '../bindings/testing';
import { until } from './fleet-support';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

const metricValue = (text: string, line: string) => {
  const m = text.split('\n').find((l) => l.startsWith(`${line} `));
  return m === undefined ? undefined : Number(m.slice(line.length + 1));
};

test.serial(
  'status view and logger: a SQLite worker, its sessions, lease ages, a deferred session',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tmt-fleet-status-'));
    const conn = await connectFleet({ kind: 'sqlite', path: join(dir, 'f.db') });
    const warnings: string[] = [];
    const worker = new FleetWorker({
      roster: conn.roster,
      storage: conn.storage,
      id: 'solo',
      leaseTtlMs: 3000,
      claimIntervalMs: 200,
      sessionOptions: {
        address: { host: dc.host, port: dc.port },
        rsaKeys: [dc.rsaPublicKey.pem],
        init: { apiId: 1 },
      },
      logger: { warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`) },
    });
    const printed: unknown[] = [];
    const log = console.log;
    const error = console.error;
    console.log = (...a: unknown[]) => printed.push(a);
    console.error = (...a: unknown[]) => printed.push(a);
    try {
      const names: string[] = [];
      for (let i = 0; i < 5; i++) {
        const authKey = randomBytes(256);
        const { salt } = dc.addAuthKey(authKey);
        const name = `s${i}`;
        await conn.storage.save({
          name,
          dcId: dc.dcId,
          authKeys: { [dc.dcId]: { authKey, serverSalt: salt, timeOffset: 0 } },
          updatedAt: Date.now(),
        });
        names.push(name);
      }
      // One whose key the DC does not know: it fails to open and is deferred.
      await conn.storage.save({
        name: 'broken',
        dcId: dc.dcId,
        authKeys: { [dc.dcId]: { authKey: randomBytes(256), serverSalt: 1n, timeOffset: 0 } },
        updatedAt: Date.now(),
      });
      await conn.roster.add(
        [...names, 'broken'].map((name) => ({ name, dcId: dc.dcId, options: { updates: false } })),
      );
      await worker.start();
      await until(
        () => worker.sessions().length === 5 && warnings.length > 0,
        'five open, one failed',
        20_000,
      );
      const status = await fleetStatus(conn.roster, 3000);
      t.is(status.workers.length, 1);
      t.is(status.workers[0].id, 'solo');
      t.is(status.workers[0].sessions, 5);
      const byName = new Map(status.sessions.map((s) => [s.name, s]));
      for (const n of names) {
        const s = byName.get(n)!;
        t.is(s.worker, 'solo');
        t.true(s.owner!.startsWith('solo/'));
        t.true(s.leaseAgeMs! >= 0 && s.leaseAgeMs! <= 3000, `lease age ${s.leaseAgeMs}`);
      }
      const broken = byName.get('broken')!;
      t.is(broken.worker, undefined);
      t.regex(broken.lastError ?? '', /AUTH_KEY_UNKNOWN|unknown|-404/i);
      t.true((broken.notBefore ?? 0) > Date.now() - 1000);
      t.is(status.unowned, 1);
      t.true(warnings.some((w) => w.startsWith('open failed')));
      // Removed from the roster: closed within ten ticks, the lease given back.
      await conn.roster.remove(['s0']);
      await until(() => !worker.sessions().includes('s0'), 's0 closed', 10_000);
      t.is(await conn.storage.lease('s0'), undefined);
    } finally {
      console.log = log;
      console.error = error;
      await worker.stop();
      await conn.close();
      rmSync(dir, { recursive: true, force: true });
    }
    t.deepEqual(printed, [], 'nothing written to the console');
  },
);

test.serial('metrics: sessions, calls, FLOOD_WAITs, handshakes, reconnects, updates, renewals', async (t) => {
  const metrics = new TelegramMetrics();
  const dir = mkdtempSync(join(tmpdir(), 'tmt-metrics-'));
  const storage = new SqliteStorage({ path: join(dir, 'm.db') });
  metrics.watchRenewer(LeaseRenewer.for(storage));
  const reg = new SessionRegistry();
  const bot = dc.accounts.addBot();
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      ids.push(
        await reg.open(dc.dcId, metrics.client('r'), {
          address: { host: dc.host, port: dc.port },
          rsaKeys: [dc.rsaPublicKey.pem],
          init: { apiId: 1 },
          name: `m${i}`,
          storage,
          persist: { leaseTtlMs: 600, renewEveryMs: 200 },
          updates: i === 0 ? { catchUp: true, isBot: true } : undefined,
        }),
      );
    }
    await reg.loginBot(ids[0], bot.token!, { apiId: 1, apiHash: 'x' });
    for (let i = 0; i < 4; i++)
      await metrics.call('help.getNearestDc', () => reg.call(ids[1], 'help.getNearestDc', {}));
    dc.floodWait('help.getConfig', 7);
    await t.throwsAsync(metrics.call('help.getConfig', () => reg.call(ids[2], 'help.getConfig', {})));
    dc.updates.newMessage(bot.id, { text: 'm' });
    dc.dropConnections();
    let text = '';
    await until(
      () => {
        void metrics.text().then((x) => {
          text = x;
        });
        return (
          (metricValue(text, 'tmt_reconnects_total') ?? 0) >= 3 &&
          (metricValue(text, 'tmt_updates_delivered_total') ?? 0) >= 1 &&
          (metricValue(text, 'tmt_lease_renewals_total') ?? 0) > 0
        );
      },
      'reconnects, a delivery and renewals counted',
      10_000,
    );
    t.is(metricValue(text, 'tmt_sessions_open'), 3);
    t.is(metricValue(text, 'tmt_handshakes_total{kind="permanent"}'), 3);
    t.is(metricValue(text, 'tmt_rpc_duration_seconds_count{method="help.getNearestDc"}'), 4);
    t.is(metricValue(text, 'tmt_flood_waits_total'), 1);
    t.is(metricValue(text, 'tmt_rpc_errors_total{code="420"}'), 1);
    t.true((metricValue(text, 'tmt_update_lag_seconds_count') ?? 0) >= 1);
    await reg.close(ids[2]);
    text = await metrics.text();
    t.is(metricValue(text, 'tmt_sessions_open'), 2);
    t.regex(metrics.contentType, /text\/plain/);
  } finally {
    dc.clearFaults();
    for (const id of ids) await reg.close(id).catch(() => {});
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
