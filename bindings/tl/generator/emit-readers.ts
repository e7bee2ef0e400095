// Emits the reader functions: one body reader per combinator (`rd_<name>`,
// the fields after the constructor id), one dispatching reader per boxed type
// (`rt_<Type>`, a switch over its constructor ids), and vector helpers.
import { BUILTIN_IDS, type Entry, type Schema, type TypeRef } from '../schema/model';
import { hexId, ident, isSizedBody, typeKey } from './naming';

/** Collects the vector helpers that the emitted code refers to. */
export class ReaderHelpers {
  readonly vectors = new Map<string, TypeRef & { kind: 'vector' }>();

  /** A JS expression reading a value of type `t` from `r`. */
  expr(t: TypeRef): string {
    switch (t.kind) {
      case 'scalar':
        return `r.${t.name === 'Bool' ? 'bool' : t.name}()`;
      case 'vector': {
        const key = typeKey(t);
        if (!this.vectors.has(key)) {
          this.vectors.set(key, t);
          this.expr(t.of);
        }
        return `rv_${key}(r)`;
      }
      case 'boxed':
        return t.type === 'Object' ? 'readAny(r)' : `rt_${ident(t.type)}(r)`;
      case 'bare':
        return `rd_${ident(t.ctor)}(r)`;
      case 'generic':
        return 'readAny(r)';
      case 'object':
        return 'r.rest()';
      case 'true':
        throw new Error('true outside a flag');
    }
  }

  emit(): string[] {
    const out: string[] = [];
    for (const [key, t] of this.vectors) {
      const head = t.boxed ? 'r.vector()' : 'r.count()';
      out.push(
        `function rv_${key}(r: R): any[] { const n = ${head}; const a = new Array(n); ` +
          `for (let i = 0; i < n; i++) a[i] = ${this.expr(t.of)}; return a; }`,
      );
    }
    return out;
  }
}

function bodyReader(e: Entry, h: ReaderHelpers): string {
  const stmts: string[] = [];
  const props: string[] = [`_: ${JSON.stringify(e.name)}`];
  e.params.forEach((p, i) => {
    if (p.isFlags) {
      stmts.push(`const f_${p.name} = r.u32();`);
      return;
    }
    const t = p.type!;
    let read: string;
    if (isSizedBody(e, i)) read = `rbody(r, v${i - 1})`;
    else if (t.kind === 'true') read = '';
    else read = h.expr(t);
    if (p.cond) {
      const mask = hexId(2 ** p.cond.bit);
      const test = `f_${p.cond.field} & ${mask}`;
      stmts.push(
        t.kind === 'true' ? `const v${i} = (${test}) !== 0;` : `const v${i} = ${test} ? ${read} : undefined;`,
      );
    } else {
      stmts.push(`const v${i} = ${read};`);
    }
    props.push(`${JSON.stringify(p.jsName)}: v${i}`);
  });
  return `function rd_${ident(e.name)}(r: R): any { ${stmts.join(' ')} return { ${props.join(', ')} }; }`;
}

function typeReader(type: string, ctors: Entry[]): string {
  const name = ident(type);
  const fallback = `return other(r, id, ${JSON.stringify(type)}, rt_${name});`;
  if (ctors.length === 1) {
    const c = ctors[0];
    return `function rt_${name}(r: R): any { const id = r.u32(); if (id === ${hexId(c.id)}) return rd_${ident(c.name)}(r); ${fallback} }`;
  }
  const cases = ctors.map((c) => `case ${hexId(c.id)}: return rd_${ident(c.name)}(r);`).join(' ');
  return `function rt_${name}(r: R): any { const id = r.u32(); switch (id) { ${cases} } ${fallback} }`;
}

/** The reader half of the generated codec module. */
export function emitReaders(schema: Schema, h: ReaderHelpers): string[] {
  const byName = new Map(schema.entries.map((e) => [e.name, e]));
  const out: string[] = [];
  for (const e of schema.entries) out.push(bodyReader(e, h));
  for (const [type, names] of schema.types) {
    if (type === 'Object') continue;
    out.push(
      typeReader(
        type,
        names.map((n) => byName.get(n)!),
      ),
    );
  }
  // Every combinator by id, but gzip_packed: the readers unpack it in place.
  // Where two entries share an id (tdlib's *Prefix twins of invokeWith*), the first wins.
  const seen = new Set<number>();
  const unique = schema.entries.filter((e) => !seen.has(e.id) && seen.add(e.id));
  const table = unique
    .filter((e) => e.id !== BUILTIN_IDS.gzipPacked)
    .map((e) => `[${hexId(e.id)}, rd_${ident(e.name)}]`);
  out.push(`const READERS = new Map<number, (r: R) => any>([${table.join(', ')}]);`);
  out.push(
    `const NAMES = new Map<number, string>([${unique.map((e) => `[${hexId(e.id)}, ${JSON.stringify(e.name)}]`).join(', ')}]);`,
  );
  return out;
}
