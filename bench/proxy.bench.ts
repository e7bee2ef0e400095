// Round-trip latency of one call (help.getNearestDc, a few dozen bytes each way)
// through the public Session API on loopback: direct, through a SOCKS5 and an
// HTTP CONNECT proxy (bindings/testing/proxy-servers.ts: a relay hop in this
// process), and with MTProxy secrets (plain obfuscated2, dd = padded intermediate,
// ee = fake TLS: TestDc itself plays the MTProxy, so these measure the transport's
// own cost, not an extra hop). Reported as the median and p99 round trip and what
// each kind adds to direct's, measured in the same run, kinds interleaved.

import { SessionRegistry } from '../dist';
import { HttpConnectProxyServer, Socks5ProxyServer, TestDc } from '../dist/testing';
import type { ProxyOptions } from '../dist/transport';

const CALLS = 4000;
const ROUNDS = 10;
const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

interface Kind {
  name: string;
  dc: TestDc;
  kind: 'intermediate' | 'padded';
  secret?: Buffer;
  proxy?: () => ProxyOptions;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function run(): Promise<void> {
  const ee = Buffer.concat([Buffer.of(0xee), KEY, Buffer.from('example.com')]);
  const dd = Buffer.concat([Buffer.of(0xdd), KEY]);
  const start = (secret?: Buffer) => TestDc.start({ rsaKey: 'shared', dcId: 2, secret });
  const [plainDc, keyDc, ddDc, eeDc] = await Promise.all([start(), start(KEY), start(dd), start(ee)]);
  const socks = await new Socks5ProxyServer({ username: 'u', password: 'p' }).start();
  const http = await new HttpConnectProxyServer({ username: 'u', password: 'p' }).start();
  const kinds: Kind[] = [
    { name: 'direct', dc: plainDc, kind: 'intermediate' },
    {
      name: 'SOCKS5 (auth)',
      dc: plainDc,
      kind: 'intermediate',
      proxy: () => ({ type: 'socks5', host: socks.host, port: socks.port, username: 'u', password: 'p' }),
    },
    {
      name: 'HTTP CONNECT (auth)',
      dc: plainDc,
      kind: 'intermediate',
      proxy: () => ({ type: 'http', host: http.host, port: http.port, username: 'u', password: 'p' }),
    },
    { name: 'MTProxy plain secret', dc: keyDc, kind: 'intermediate', secret: KEY },
    { name: 'MTProxy dd secret', dc: ddDc, kind: 'padded', secret: dd },
    { name: 'MTProxy ee secret (fake TLS)', dc: eeDc, kind: 'padded', secret: ee },
  ];
  const reg = new SessionRegistry();
  const ids: string[] = [];
  try {
    for (const k of kinds) {
      ids.push(
        await reg.open(2, undefined, {
          address: { host: k.dc.host, port: k.dc.port },
          rsaKeys: [k.dc.rsaPublicKey.pem],
          init: { apiId: 1 },
          transport: { kind: k.kind, secret: k.secret },
          proxy: k.proxy?.(),
          keepalive: { intervalMs: 0 },
        }),
      );
    }
    // Per round and kind: the median and p99 of its calls. Reported: the median of
    // those over the rounds, so one burst of load from elsewhere skews one round only.
    const perRound: Array<Array<{ median: number; p99: number }>> = kinds.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < kinds.length; i++) {
        const id = ids[i];
        for (let w = 0; w < 50; w++) await reg.call(id, 'help.getNearestDc', {});
        const samples: number[] = [];
        for (let c = 0; c < CALLS / ROUNDS; c++) {
          const t0 = performance.now();
          await reg.call(id, 'help.getNearestDc', {});
          samples.push((performance.now() - t0) * 1000);
        }
        samples.sort((a, b) => a - b);
        perRound[i].push({ median: quantile(samples, 0.5), p99: quantile(samples, 0.99) });
      }
    }
    const mid = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.5,
      );
    const stats = perRound.map((r) => ({
      median: mid(r.map((x) => x.median)),
      p99: mid(r.map((x) => x.p99)),
    }));
    const base = stats[0];
    console.log(
      `\nCall round trip on loopback, µs: ${CALLS} sequential calls per kind in ${ROUNDS} interleaved rounds (median of the rounds' median and p99)`,
    );
    console.log(
      `  ${'kind'.padEnd(30)} ${'median'.padStart(8)} ${'p99'.padStart(8)} ${'+median'.padStart(9)} ${'+p99'.padStart(8)}`,
    );
    kinds.forEach((k, i) => {
      const s = stats[i];
      const f = (n: number) => n.toFixed(0).padStart(8);
      const d = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(0)}`.padStart(9);
      console.log(
        `  ${k.name.padEnd(30)} ${f(s.median)} ${f(s.p99)} ${d(s.median - base.median)} ${d(s.p99 - base.p99)}`,
      );
    });
  } finally {
    await Promise.all(ids.map((id) => reg.close(id).catch(() => {})));
    await Promise.all([socks.stop(), http.stop()]);
    await Promise.all([plainDc, keyDc, ddDc, eeDc].map((d) => d.stop()));
  }
}
