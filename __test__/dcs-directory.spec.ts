// The living DC table (bindings/dcs/directory.ts): address order and fallback, the
// config's flags, expiry and refresh; then over sockets: the shared table is refreshed
// from TestDc's help.getConfig at first use and again after `expires`, and an IPv6
// address that cannot be reached falls back to IPv4.

import test from 'ava';
import { SessionRegistry } from '../bindings';
import { DcDirectory, dcDirectory } from '../bindings/dcs';
import { TestDc } from '../bindings/testing';

const opt = (id: number, ipAddress: string, port: number, flags: Record<string, boolean> = {}) => ({
  id,
  ipAddress,
  port,
  ...flags,
});
/** Waits for `done` (10 s at most, then fails naming `what`). */
async function until(done: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hosts = (d: DcDirectory, id: number, q = {}) => d.candidates(id, q).map((e) => `${e.host}:${e.port}`);

test('order: given, then the config, then the built-in table; the preferred family first within each', (t) => {
  const d = new DcDirectory('production');
  d.give(2, { host: '10.0.0.2', port: 1 });
  d.apply({
    dcOptions: [opt(2, '2001:db8::2', 443, { ipv6: true }), opt(2, '192.0.2.2', 443)],
    expires: 2e9,
  });
  t.deepEqual(hosts(d, 2).slice(0, 3), ['10.0.0.2:1', '192.0.2.2:443', '2001:db8::2:443']);
  t.deepEqual(hosts(d, 2, { preferIpv6: true }).slice(0, 3), [
    '10.0.0.2:1',
    '2001:db8::2:443',
    '192.0.2.2:443',
  ]);
  // Given addresses are the truth about their DC: no built-in fallback for DC 2 ...
  t.false(hosts(d, 2).includes('149.154.167.51:443'));
  // ... while a DC known only from the config keeps the built-in ones as a fallback.
  d.apply({ dcOptions: [opt(3, '192.0.2.3', 443)], expires: 2e9 });
  t.deepEqual(hosts(d, 3), ['192.0.2.3:443', '149.154.175.100:443', '2001:b28:f23d:f003::a:443']);
});

test('media-only addresses serve files only and come first for them; CDN entries only for CDN; tcpo_only needs obfuscation', (t) => {
  const d = new DcDirectory('production');
  d.apply(
    {
      dcOptions: [
        opt(4, '192.0.2.4', 443),
        opt(4, '192.0.2.40', 443, { mediaOnly: true }),
        opt(4, '192.0.2.41', 443, { tcpoOnly: true }),
        opt(203, '192.0.2.203', 443, { cdn: true }),
      ],
      expires: 2e9,
    },
    0,
  );
  t.false(hosts(d, 4).includes('192.0.2.40:443'));
  t.is(hosts(d, 4, { media: true })[0], '192.0.2.40:443');
  t.false(hosts(d, 4).includes('192.0.2.41:443'));
  t.true(hosts(d, 4, { obfuscated: true }).includes('192.0.2.41:443'));
  t.deepEqual(hosts(d, 203, { cdn: true }), ['192.0.2.203:443']);
  t.throws(() => d.candidates(203), { instanceOf: RangeError });
  t.true(d.knows(4));
  t.false(d.knows(203), 'a CDN DC is not a DC to live on');
});

test('static addresses first through a proxy', (t) => {
  const d = new DcDirectory('production');
  d.apply({
    dcOptions: [opt(1, '192.0.2.1', 443), opt(1, '192.0.2.11', 443, { static: true })],
    expires: 2e9,
  });
  t.is(hosts(d, 1)[0], '192.0.2.1:443');
  t.is(hosts(d, 1, { proxied: true })[0], '192.0.2.11:443');
});

test('expiry: stale until fetched, fresh until expires (server clock), one refresh at a time, failures retried later', async (t) => {
  const d = new DcDirectory('test');
  d.minRefreshMs = 0;
  t.true(d.stale(1000));
  let fetched = 0;
  const config = { dcOptions: [opt(1, '192.0.2.1', 443)], expires: 100 };
  const fetch = async () => {
    fetched++;
    return config;
  };
  await Promise.all([d.refresh(fetch), d.refresh(fetch), d.refresh(fetch)]);
  t.is(fetched, 1, 'shared by concurrent callers');
  // expires = 100 s on a server clock 50 s ahead: 50 s local.
  d.apply(config, 0, 50_000);
  t.false(d.stale(49_999));
  t.true(d.stale(50_000));
  const failing = new DcDirectory('test');
  await failing.refresh(async () => {
    throw new Error('down');
  });
  t.false(failing.stale(Date.now() + 1000), 'a failed fetch is not retried at once');
  t.true(failing.stale(Date.now() + 31_000));
  t.deepEqual(hosts(failing, 1).slice(0, 1), ['149.154.175.10:443'], 'the built-in table still serves');
});

test.serial(
  'the shared table is refreshed from help.getConfig at first use, and again after expires',
  async (t) => {
    const dc = await TestDc.start({
      rsaKey: 'shared',
      dcId: 2,
      configTtlSec: 3,
      extraDcOptions: [
        { dcId: 2, host: '2001:db8::99', port: 443, ipv6: true },
        { dcId: 4, host: '192.0.2.44', port: 443, mediaOnly: true },
        { dcId: 201, host: '192.0.2.201', port: 443, cdn: true },
      ],
    });
    t.teardown(() => dc.stop());
    const table = dcDirectory('production');
    table.minRefreshMs = 0;
    table.give(2, { host: dc.host, port: dc.port });
    const reg = new SessionRegistry();
    const o = { rsaKeys: [dc.rsaPublicKey.pem], init: { apiId: 1 } };
    const configs = () => dc.executions('help.getConfig').length;
    const a = await reg.open(2, undefined, o);
    await until(() => table.refreshes >= 1, 'the first refresh');
    const firstAt = Date.now();
    t.is(configs(), 1);
    t.true(table.entries().some((e) => e.host === '2001:db8::99' && e.ipv6 && e.origin === 'config'));
    t.true(table.entries().some((e) => e.host === '192.0.2.44' && e.mediaOnly));
    t.true(table.entries().some((e) => e.dcId === 201 && e.cdn));
    // A second session within `expires` (3 s; checked only if this machine got there in
    // time, as a loaded one may not): no second config.
    const b = await reg.open(2, undefined, o);
    await new Promise((r) => setTimeout(r, 100));
    if (Date.now() - firstAt < 2500) t.is(configs(), 1);
    // Past `expires` (the server's, on the clock the session learned: on a loaded machine a
    // late first answer can put that a second or two later than this test's own 3 s), the
    // next session refreshes it.
    await until(() => table.stale(), 'the config to expire');
    const c = await reg.open(2, undefined, o);
    await until(() => table.refreshes >= 2, 'the refresh after expires');
    t.is(configs(), table.refreshes, 'one help.getConfig per refresh');
    for (const id of [a, b, c]) await reg.close(id);
  },
);

test.serial(
  'IPv6 preferred but unreachable: the IPv4 address is tried next and the session opens',
  async (t) => {
    const dc = await TestDc.start({ rsaKey: 'shared', dcId: 2, testMode: true });
    t.teardown(() => dc.stop());
    const table = dcDirectory('test');
    // 100::/64 is the discard prefix (RFC 6666): nothing answers there.
    table.apply({
      dcOptions: [opt(2, '100::1', dc.port, { ipv6: true }), opt(2, dc.host, dc.port)],
      expires: Math.floor(Date.now() / 1000) + 3600,
    });
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, {
      environment: 'test',
      ipv6: true,
      rsaKeys: [dc.rsaPublicKey.pem],
      connectTimeoutMs: 8000,
    });
    t.is((await reg.call(id, 'help.getNearestDc', {})).thisDc, 2);
    await reg.close(id);
  },
);
