// The client process of hostile-server.spec.ts's crash cases, run under
// `ulimit -s 8192; ulimit -v 4194304`: opens a session on the parent's HostileServer
// with the key it was given, waits for the badData event `expect` (the hostile
// input the parent sends once the session is open), then makes one call and prints
// one JSON line: { badData: [codes], details: [messages], call: result | error code,
// openRssKiB, maxRssKiB }.
// It prints "open" once the session is open (the parent sends then) and records its
// peak RSS at that moment, so that `maxRssKiB - openRssKiB` is what the input cost.
//   argv: port authKeyHex serverSalt expect
import { SessionRegistry } from '../bindings';

const [port, keyHex, salt, expect] = process.argv.slice(2);

async function main(): Promise<void> {
  const badData: string[] = [];
  const details: string[] = [];
  let seen: () => void = () => {};
  const expected = new Promise<void>((resolve) => {
    seen = resolve;
  });
  const reg = new SessionRegistry();
  const id = await reg.open(
    2,
    (e) => {
      if (e.kind !== 'badData') return;
      badData.push(e.code);
      details.push(e.message);
      if (e.code === expect) seen();
    },
    {
      address: { host: '127.0.0.1', port: Number(port) },
      import: { authKey: Buffer.from(keyHex, 'hex'), serverSalt: BigInt(salt) },
      connectTimeoutMs: 5_000,
    },
  );
  const openRssKiB = Math.round(process.memoryUsage().rss / 1024);
  await new Promise<void>((resolve) => process.stdout.write('open\n', () => resolve()));
  const timeout = setTimeout(() => seen(), 20_000);
  await expected;
  clearTimeout(timeout);
  let call: unknown;
  try {
    call = await reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 10_000 });
  } catch (e) {
    call = { error: (e as { code?: string }).code ?? String(e) };
  }
  await reg.close(id);
  const line = JSON.stringify({
    badData,
    details,
    call,
    openRssKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
  });
  await new Promise<void>((resolve) => process.stdout.write(`${line}\n`, () => resolve()));
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stdout.write(`${JSON.stringify({ failed: String((e as Error)?.stack ?? e) })}\n`);
    process.exit(3);
  },
);
