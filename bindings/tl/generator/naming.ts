// Identifiers and small helpers shared by the emitters.
import type { Entry, Schema, TypeRef } from '../schema/model';

/** A JS identifier fragment for a TL name: `messages.sendMessage` -> `messages$sendMessage`. */
export function ident(name: string): string {
  return name.replace(/\./g, '$');
}

export function hexId(id: number): string {
  return `0x${(id >>> 0).toString(16).padStart(8, '0')}`;
}

/** A stable key for a type, used to name and dedupe vector helpers. */
export function typeKey(t: TypeRef): string {
  switch (t.kind) {
    case 'scalar':
      return t.name;
    case 'true':
      return 'true';
    case 'vector':
      return `${t.boxed ? 'V' : 'v'}_${typeKey(t.of)}`;
    case 'boxed':
      return `T_${ident(t.type)}`;
    case 'bare':
      return `b_${ident(t.ctor)}`;
    case 'generic':
      return 'X';
    case 'object':
      return 'O';
  }
}

/** Wire size of a type when it is fixed, else undefined. */
export function fixedSize(t: TypeRef): number | undefined {
  if (t.kind !== 'scalar') return undefined;
  switch (t.name) {
    case 'int':
    case 'Bool':
      return 4;
    case 'long':
    case 'double':
      return 8;
    case 'int128':
      return 16;
    case 'int256':
      return 32;
    default:
      return undefined;
  }
}

/**
 * An `Object` field right after an `int` field named `bytes` is a
 * length-prefixed body (the `message` of msg_container): read within that
 * length, and its length computed on write.
 */
export function isSizedBody(e: Entry, index: number): boolean {
  const p = e.params[index];
  const prev = e.params[index - 1];
  return (
    p?.type?.kind === 'object' &&
    prev !== undefined &&
    prev.name === 'bytes' &&
    prev.type?.kind === 'scalar' &&
    prev.type.name === 'int'
  );
}

/** Constructors used bare somewhere (they need a body reader/writer without the id). */
export function bareCtors(schema: Schema): Set<string> {
  const out = new Set<string>();
  const visit = (t: TypeRef | undefined): void => {
    if (!t) return;
    if (t.kind === 'bare') out.add(t.ctor);
    if (t.kind === 'vector') visit(t.of);
  };
  for (const e of schema.entries) {
    for (const p of e.params) visit(p.type);
    if (e.kind === 'method') visit(e.result);
  }
  return out;
}
