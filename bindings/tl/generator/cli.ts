// Command line of the TL generator.
//
//   (no arguments)   the bundled layer: @mtcute/tl's JSON schema and error
//                    catalog -> bindings/tl/generated/ (what `npm run build:tl` does)
//   --api FILE.tl [--mtproto FILE.tl] [--layer N] --out DIR [--runtime MODULE]
//                    [--allow-id-mismatch]
//                    another layer from raw .tl: DIR gets types.ts, codec.ts
//                    and index.ts, importing the runtime from MODULE
//                    (default 'telegram-mt').
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBundledSchema, schemaFromTl } from '../schema/load';
import { emitErrors } from './emit-errors';
import { generate } from './generate';

function write(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

export function main(argv: string[] = process.argv.slice(2)): void {
  const started = performance.now();
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string' },
      mtproto: { type: 'string' },
      layer: { type: 'string' },
      out: { type: 'string' },
      runtime: { type: 'string' },
      'allow-id-mismatch': { type: 'boolean' },
    },
  });
  if (values.api || values.mtproto) {
    if (!values.out) throw new Error('--out DIR is required with --api/--mtproto');
    const schema = schemaFromTl({
      api: values.api ? readFileSync(values.api, 'utf8') : undefined,
      mtproto: values.mtproto ? readFileSync(values.mtproto, 'utf8') : undefined,
      layer: values.layer ? Number(values.layer) : undefined,
      parse: { onIdMismatch: values['allow-id-mismatch'] ? 'warn' : 'error' },
    });
    for (const m of schema.idMismatches) {
      const hex = (n: number) => n.toString(16).padStart(8, '0');
      console.warn(
        `tl: warning: line ${m.line}: ${m.name} keeps its given id #${hex(m.given)} (its text hashes to #${hex(m.computed)})`,
      );
    }
    const files = generate(schema, { runtimeImport: values.runtime ?? 'telegram-mt', withIndex: true });
    write(resolve(values.out), files);
    report(schema.entries.length, schema.layer, resolve(values.out), started);
    return;
  }
  const dir = resolve(__dirname, '..', 'generated');
  const schema = loadBundledSchema();
  const files = generate(schema, { runtimeImport: '../runtime' });
  const errorsPath = require.resolve('@mtcute/tl/raw-errors.json');
  files['errors.ts'] = emitErrors(JSON.parse(readFileSync(errorsPath, 'utf8')));
  write(dir, files);
  report(schema.entries.length, schema.layer, dir, started);
}

function report(n: number, layer: number | undefined, dir: string, started: number): void {
  const ms = (performance.now() - started).toFixed(0);
  console.log(`tl: ${n} combinators, layer ${layer ?? '?'} -> ${dir} (${ms} ms)`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(`tl: ${(e as Error).message}`);
    if ((e as { code?: string }).code === 'ERR_TL_SCHEMA' && /hashes to/.test((e as Error).message)) {
      console.error('tl: pass --allow-id-mismatch to keep the ids the schema gives');
    }
    process.exit(1);
  }
}
