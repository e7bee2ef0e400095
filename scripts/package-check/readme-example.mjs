// Writes the README's usage example (the first ```ts block under "## Using it")
// into a consumer project, so the package check runs exactly what the README shows:
//   example.ts   for tsc --strict (nodenext and bundler resolution)
//   example.mjs  the same code as an ES module (it has no type annotations)
//   example.cjs  as CommonJS: each import becomes a require, the body an async function
// Each ends with one line the check looks for.
//   node readme-example.mjs README.md DIR
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [readmePath, dir] = process.argv.slice(2);
const readme = readFileSync(readmePath, 'utf8');
const section = readme.split(/^## /m).find((s) => s.startsWith('Using it'));
const block = section && /```ts\n([\s\S]*?)```/.exec(section);
if (!block) throw new Error(`${readmePath}: no \`\`\`ts block under "## Using it"`);
const code = `${block[1].trimEnd()}\nconsole.log(\`example: \${config._} from DC \${saved.dcId}\`);\n`;

const importLine = /^import \{([^}]*)\} from '([^']+)';$/;
const lines = code.split('\n');
const imports = lines.filter((l) => importLine.test(l));
if (imports.length === 0 || lines.some((l) => l.startsWith('import ') && !importLine.test(l))) {
  throw new Error('the example must import with `import { ... } from "..."` lines only');
}
const body = lines.filter((l) => !importLine.test(l));
const requires = imports.map((l) => {
  const [, names, from] = importLine.exec(l);
  return `const {${names}} = require('${from}');`;
});
const cjs = [
  ...requires,
  '',
  '(async () => {',
  ...body.map((l) => (l ? `  ${l}` : l)),
  '})().catch((e) => {',
  '  console.error(e);',
  '  process.exit(1);',
  '});',
  '',
].join('\n');

writeFileSync(join(dir, 'example.ts'), code);
writeFileSync(join(dir, 'example.mjs'), code);
writeFileSync(join(dir, 'example.cjs'), cjs);
