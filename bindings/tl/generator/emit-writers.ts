// Emits the writer functions: one per combinator (`wr_<name>`: id, flags
// computed from the fields present, fields), body writers for constructors
// used bare (`wb_<name>`), and vector helpers. Fixed-size fields are grouped
// into runs reserved with one `w.ensure(n)`.
import type { Entry, Schema, TypeRef } from '../schema/model';
import { fixedSize, hexId, ident, isSizedBody, typeKey } from './naming';

/** Types with at most this many constructors get a writer that switches on `_` (monomorphic calls). */
const SWITCH_MAX = 16;

export class WriterHelpers {
  readonly vectors = new Map<string, TypeRef & { kind: 'vector' }>();
  /** Boxed types whose fields use a per-type writer (`wt_<Type>`). */
  readonly types = new Set<string>();

  constructor(private readonly schema: Schema) {}

  /** A statement writing `v` of type `t` to `w` (fixed-size types: room already reserved). */
  stmt(t: TypeRef, v: string): string {
    switch (t.kind) {
      case 'scalar':
        return `w.${t.name === 'Bool' ? 'bool' : t.name}(${v});`;
      case 'vector': {
        const key = typeKey(t);
        if (!this.vectors.has(key)) {
          this.vectors.set(key, t);
          this.stmt(t.of, 'x');
        }
        return `wv_${key}(w, ${v});`;
      }
      case 'boxed': {
        const n = this.schema.types.get(t.type)?.length ?? 0;
        if (n === 0 || n > SWITCH_MAX) return `wo(w, ${v});`;
        this.types.add(t.type);
        return `wt_${ident(t.type)}(w, ${v});`;
      }
      case 'generic':
        return `wo(w, ${v});`;
      case 'bare':
        return `wb_${ident(t.ctor)}(w, ${v});`;
      case 'object':
        return `wbody(w, ${v});`;
      case 'true':
        throw new Error('true outside a flag');
    }
  }

  emit(): string[] {
    const out: string[] = [];
    for (const [key, t] of this.vectors) {
      const size = fixedSize(t.of);
      const head = t.boxed ? 'w.vector(n);' : 'w.u32(n);';
      const headSize = t.boxed ? 8 : 4;
      const reserve = size === undefined ? `w.ensure(${headSize});` : `w.ensure(${headSize} + n * ${size});`;
      out.push(
        `function wv_${key}(w: W, a: any): void { const n = W.array(a).length; ${reserve} ${head} ` +
          `for (let i = 0; i < n; i++) { ${this.stmt(t.of, 'a[i]')} } }`,
      );
    }
    // A known _ goes straight to its writer; anything else takes the generic path (and its errors).
    for (const type of this.types) {
      const cases = this.schema.types
        .get(type)!
        .map((c) => `case ${JSON.stringify(c)}: wr_${ident(c)}(w, v); return;`)
        .join(' ');
      out.push(`function wt_${ident(type)}(w: W, v: any): void { switch (v?._) { ${cases} } wo(w, v); }`);
    }
    return out;
  }
}

/** Statements writing the fields of `e` (and its id first when `withId`). */
function fieldWrites(e: Entry, h: WriterHelpers, withId: boolean): string[] {
  const pre: string[] = [];
  // Flags: a bit is set when any field under it is present (`true` fields: when truthy).
  for (const p of e.params) {
    if (!p.isFlags) continue;
    pre.push(`let f_${p.name} = 0;`);
  }
  for (const p of e.params) {
    if (!p.cond) continue;
    const mask = hexId(2 ** p.cond.bit);
    const test = p.type!.kind === 'true' ? `o.${p.jsName}` : `o.${p.jsName} != null`;
    pre.push(`if (${test}) f_${p.cond.field} |= ${mask};`);
  }

  const body: string[] = [];
  let run: string[] = [];
  let runSize = 0;
  const flush = () => {
    if (run.length === 0) return;
    body.push(`w.ensure(${runSize});`, ...run);
    run = [];
    runSize = 0;
  };
  if (withId) {
    run.push(`w.u32(${hexId(e.id)});`);
    runSize += 4;
  }
  e.params.forEach((p, i) => {
    if (p.isFlags) {
      run.push(`w.u32(f_${p.name});`);
      runSize += 4;
      return;
    }
    const t = p.type!;
    if (t.kind === 'true') return;
    const v = `o.${p.jsName}`;
    const guard = p.cond ? `if (f_${p.cond.field} & ${hexId(2 ** p.cond.bit)}) ` : '';
    const size = fixedSize(t);
    if (isSizedBody(e, i + 1)) {
      // msg_container's `message`: the body's length is written once the body is.
      run.push('const at = w.pos; w.u32(0);');
      runSize += 4;
      return;
    }
    if (isSizedBody(e, i)) {
      flush();
      body.push(`wbody(w, ${v}); w.endSized(at);`);
      return;
    }
    if (size !== undefined) {
      run.push(guard + h.stmt(t, v));
      runSize += size;
      return;
    }
    flush();
    body.push(guard + h.stmt(t, v));
  });
  flush();
  return [...pre, ...body];
}

/** The writer half of the generated codec module. */
export function emitWriters(schema: Schema, h: WriterHelpers, bare: Set<string>): string[] {
  const out: string[] = [];
  for (const e of schema.entries) {
    out.push(`function wr_${ident(e.name)}(w: W, o: any): void { ${fieldWrites(e, h, true).join(' ')} }`);
    if (bare.has(e.name)) {
      out.push(`function wb_${ident(e.name)}(w: W, o: any): void { ${fieldWrites(e, h, false).join(' ')} }`);
    }
  }
  const table = schema.entries.map((e) => `${JSON.stringify(e.name)}: wr_${ident(e.name)}`);
  out.push(
    `const WRITERS: Record<string, (w: W, o: any) => void> = { __proto__: null, ${table.join(', ')} } as any;`,
  );
  return out;
}
