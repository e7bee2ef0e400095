// Parser for the raw TL schema text (core.telegram.org/mtproto/TL,
// /mtproto/TL-combinators): one combinator per `;`, `---functions---` and
// `---types---` switch sections, `//` and `/* */` comments. Declarations of
// the built-in types (`int ? = Int;`, `vector {t:Type} # [ t ] = Vector t;`,
// `int128 4*[ int ] = Int128;`, `bytes = Bytes;`, boolTrue/boolFalse/true)
// are recognised and skipped: the runtime implements them.
import { crc32 } from './crc32';
import { BUILTIN_IDS, type RawEntry, type RawParam, type RawSchema, type SchemaOrigin } from './model';

export class TlParseError extends Error {
  readonly code = 'ERR_TL_SCHEMA';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = 'TlParseError';
  }
}

/** Lowercase names of the built-in scalars, whose declarations are skipped. */
const BUILTIN_NAMES = new Set(['int', 'long', 'double', 'string', 'bytes', 'int128', 'int256', 'vector']);

/** Built-in constructors with their fixed ids: checked when declared, then skipped. */
const BUILTIN_CTORS: Record<string, number> = {
  boolFalse: BUILTIN_IDS.boolFalse,
  boolTrue: BUILTIN_IDS.boolTrue,
  true: BUILTIN_IDS.true,
  vector: BUILTIN_IDS.vector,
  null: BUILTIN_IDS.null,
};

/** Removes comments but keeps line breaks, so line numbers stay right. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
}

/**
 * The text whose CRC32 is a combinator's id (TL-abstract-types, "Constructor
 * number"): the declaration without its id and the final `;`, with the
 * `name:flags.N?true` parameters dropped, a `bytes` parameter spelled `string`
 * (inside `Vector<bytes>` it stays), `<`/`>` turned into a space/nothing and
 * the braces of `{X:Type}` removed.
 */
export function normalizedDeclaration(
  name: string,
  generics: string[],
  params: RawParam[],
  result: string,
  variant: { keepBytes?: boolean; bareAsCtor?: boolean } = {},
): string {
  const parts = [name];
  for (const g of generics) parts.push(`${g}:Type`);
  for (const p of params) {
    if (/^flags\d*\.\d+\?true$/.test(p.type)) continue;
    parts.push(`${p.name}:${p.type}`);
  }
  parts.push('=', result);
  let text = parts.join(' ');
  if (!variant.keepBytes) text = text.replace(/([:?])bytes\b/g, '$1string');
  if (variant.bareAsCtor) text = text.replace(/%(\w)/g, (_, c: string) => c.toLowerCase());
  return text.replace(/</g, ' ').replace(/>/g, '');
}

/** CRC32 id of a combinator from its parts (see normalizedDeclaration). */
export function computeId(name: string, generics: string[], params: RawParam[], result: string): number {
  return crc32(Buffer.from(normalizedDeclaration(name, generics, params, result), 'utf8'));
}

/**
 * Whether a given id matches the declaration. Besides the standard form, two
 * spellings that the published schemas hash under are accepted: `bytes` kept
 * as written (ipPortSecret, declared with bytes from the start) and a bare
 * `%Message` written as its constructor `message` (msg_container).
 */
export function idMatches(
  id: number,
  name: string,
  generics: string[],
  params: RawParam[],
  result: string,
): boolean {
  for (const keepBytes of [false, true]) {
    for (const bareAsCtor of [false, true]) {
      const text = normalizedDeclaration(name, generics, params, result, { keepBytes, bareAsCtor });
      if (crc32(Buffer.from(text, 'utf8')) === id) return true;
    }
  }
  return false;
}

const DECL = /^([A-Za-z_][\w.]*)(?:#([0-9a-fA-F]{1,8}))?(?:\s+(.*?))?\s*=\s*(.+?)$/s;

/** A declaration whose given id is not the CRC32 of its text. */
export interface IdMismatch {
  name: string;
  given: number;
  computed: number;
  line: number;
}

export interface ParseOptions {
  /**
   * What to do when a given id differs from the computed one: 'error' (the
   * default) throws TlParseError; 'warn' keeps the given id and lists the
   * entry in `mismatches` (tdlib's copy of the API schema has eight internal
   * entries, such as accessPointRule and the invokeWith*Prefix twins, whose
   * ids do not hash from their text).
   */
  onIdMismatch?: 'error' | 'warn';
}

/**
 * Parses raw TL schema text. `origin` tags the entries (the MTProto service
 * schema or the API layer). A missing id is computed; a given id is checked.
 */
export function parseTl(
  text: string,
  origin: SchemaOrigin,
  options: ParseOptions = {},
): RawSchema & { mismatches: IdMismatch[] } {
  const mismatches: IdMismatch[] = [];
  const layerMatch = /\/\/.*?\bLAYER\s*[:=]?\s*(\d+)/i.exec(text);
  const clean = stripComments(text);
  const entries: RawEntry[] = [];
  let section: 'constructor' | 'method' = 'constructor';
  let line = 1;
  let pos = 0;
  // Declarations end at ';'. Section markers may stand anywhere between them.
  while (pos < clean.length) {
    const next = clean.indexOf(';', pos);
    let chunk = next === -1 ? clean.slice(pos) : clean.slice(pos, next);
    const chunkStartLine = line;
    line += countNewlines(chunk);
    pos = next === -1 ? clean.length : next + 1;
    // Pull section markers out of the chunk, in order.
    let declLine = chunkStartLine;
    for (;;) {
      const m = /---(functions|types)---/.exec(chunk);
      if (!m) break;
      const before = chunk.slice(0, m.index);
      if (before.trim() !== '') {
        throw new TlParseError(`missing ';' before the section marker`, declLine);
      }
      declLine += countNewlines(chunk.slice(0, m.index + m[0].length));
      section = m[1] === 'functions' ? 'method' : 'constructor';
      chunk = chunk.slice(m.index + m[0].length);
    }
    const leading = /^\s*/.exec(chunk)![0];
    declLine += countNewlines(leading);
    const decl = chunk.trim().replace(/\s+/g, ' ');
    if (decl === '') {
      if (next === -1) break;
      throw new TlParseError('empty declaration', declLine);
    }
    if (next === -1) throw new TlParseError(`missing ';' after "${decl}"`, declLine);
    const entry = parseDeclaration(
      decl,
      section,
      origin,
      declLine,
      options.onIdMismatch ?? 'error',
      mismatches,
    );
    if (entry) entries.push(entry);
  }
  return { layer: layerMatch ? Number(layerMatch[1]) : undefined, entries, mismatches };
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

function parseDeclaration(
  decl: string,
  kind: 'constructor' | 'method',
  origin: SchemaOrigin,
  line: number,
  onIdMismatch: 'error' | 'warn',
  mismatches: IdMismatch[],
): RawEntry | undefined {
  const m = DECL.exec(decl);
  if (!m) throw new TlParseError(`cannot parse "${decl}"`, line);
  const [, name, idHex, body = '', result] = m;
  const tokens = body === '' ? [] : body.split(' ');
  // Built-in type declarations: `int ? = Int`, `int128 4*[ int ] = Int128`,
  // `vector {t:Type} # [ t ] = Vector t`, `bytes = Bytes`.
  if (tokens.some((t) => t === '?' || t === '#' || t.includes('[')) || BUILTIN_NAMES.has(name)) {
    checkBuiltinId(name, idHex, line);
    return undefined;
  }
  if (name in BUILTIN_CTORS) {
    checkBuiltinId(name, idHex, line);
    return undefined;
  }
  const generics: string[] = [];
  const params: RawParam[] = [];
  for (const tok of tokens) {
    const g = /^\{(\w+):Type\}$/.exec(tok);
    if (g) {
      generics.push(g[1]);
      continue;
    }
    const p = /^(\w+):(\S+)$/.exec(tok);
    if (!p) throw new TlParseError(`cannot parse parameter "${tok}" of ${name}`, line);
    params.push({ name: p[1], type: p[2] });
  }
  if (/\s/.test(result) && !/^\S+ \S+$/.test(result)) {
    throw new TlParseError(`cannot parse result type "${result}" of ${name}`, line);
  }
  // `Vector t` in a result is the same as `Vector<t>`.
  const resultType = result.includes(' ') ? `${result.replace(' ', '<')}>` : result;
  let id = computeId(name, generics, params, resultType);
  if (idHex !== undefined) {
    const computed = id;
    id = Number.parseInt(idHex, 16) >>> 0;
    if (!idMatches(id, name, generics, params, resultType)) {
      if (onIdMismatch === 'warn') {
        mismatches.push({ name, given: id, computed, line });
        return { kind, name, id, idGiven: true, generics, params, result: resultType, origin, line };
      }
      throw new TlParseError(
        `constructor id of ${name} is #${idHex} but its declaration hashes to #${computed.toString(16)}`,
        line,
      );
    }
  }
  return { kind, name, id, idGiven: idHex !== undefined, generics, params, result: resultType, origin, line };
}

function checkBuiltinId(name: string, idHex: string | undefined, line: number): void {
  const expected = BUILTIN_CTORS[name];
  if (idHex === undefined || expected === undefined) return;
  if (Number.parseInt(idHex, 16) >>> 0 !== expected) {
    throw new TlParseError(`built-in ${name} must have id #${expected.toString(16)}, not #${idHex}`, line);
  }
}
