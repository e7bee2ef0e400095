// npm run bench [-- filter]: runs every bench/*.bench.ts (or those whose name
// contains the filter). Each exports `run(): Promise<void>` and prints its own
// ratios. Benchmarks never gate CI.
//
// The benches load the library as it ships: the compiled JS in dist/ (prebench builds
// it), not the TypeScript sources through tsx, whose compiled code and source maps
// made the heap 2.6 times larger (9.9 MiB against 25.5 MiB after loading) and every
// full GC that much longer. tsx compiles only the bench files themselves.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
    .sort();
  for (const file of files) {
    console.log(`\n=== ${file}`);
    const mod = (await import(join(__dirname, file))) as { run: () => Promise<void> };
    await mod.run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
