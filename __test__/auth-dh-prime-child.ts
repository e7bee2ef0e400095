// A client process for auth-dh-prime.spec.ts: runs `count` key exchanges at once against
// the parent's TestDc while sampling its own event-loop delay, and prints one JSON line:
// { keys, failures, maxDelayMs, primeTests }. In its own process so that the delay is
// the client's alone (the parent's TestDc does the server's DH work).
//   argv: host port pem count
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createAuthKey, dhPrimeTests } from '../bindings';

async function main(): Promise<void> {
  const [host, port, pem, count] = process.argv.slice(2);
  const testsBefore = dhPrimeTests();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const results = await Promise.allSettled(
    Array.from({ length: Number(count) }, () =>
      createAuthKey({ host, port: Number(port), dcId: 2, rsaKeys: [pem], timeoutMs: 30_000 }),
    ),
  );
  delay.disable();
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  const line = {
    keys: results.length - failures.length,
    failures,
    maxDelayMs: delay.max / 1e6,
    primeTests: dhPrimeTests() - testsBefore,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

void main();
