// The schema model shared by the raw .tl parser, the JSON loader and the
// generator. Entries keep TL's own snake_case names; the generator picks the
// JS names. A schema goes through two stages: parsed (types still written as
// text, as in the source) and resolved (types as TypeRef trees, names unique).

/** Which of the two schemas an entry comes from. */
export type SchemaOrigin = 'mtproto' | 'api';

/** A parameter as written in the source, before its type is resolved. */
export interface RawParam {
  name: string;
  /** The type exactly as TL writes it after the colon: `flags.3?Vector<long>`, `#`, `!X`, `%Message`. */
  type: string;
}

/** A combinator (constructor or function) as parsed, types still as text. */
export interface RawEntry {
  kind: 'constructor' | 'method';
  /** Full name with its namespace: `messages.sendMessage`, `resPQ`. */
  name: string;
  /** Constructor id as an unsigned 32-bit number. */
  id: number;
  /** Whether the source gave the id (`name#id`) or it was computed by CRC32. */
  idGiven: boolean;
  /** Generic parameters `{X:Type}`. */
  generics: string[];
  params: RawParam[];
  /** Result type as written: `Updates`, `Vector<long>`, `X`. */
  result: string;
  origin: SchemaOrigin;
  /** Source line (raw .tl) for error messages; 0 for JSON. */
  line: number;
}

export interface RawSchema {
  /** The API layer, when the source states it (`// LAYER 223` or the JSON's `l`). */
  layer?: number;
  entries: RawEntry[];
}

/** Built-in scalar types: the wire formats the runtime reads and writes itself. */
export type Scalar = 'int' | 'long' | 'double' | 'int128' | 'int256' | 'bytes' | 'string' | 'Bool';

/** A resolved type. */
export type TypeRef =
  | { kind: 'scalar'; name: Scalar }
  /** `true` in a conditional field: present when the flag bit is set, no bytes on the wire. */
  | { kind: 'true' }
  /** `Vector<T>` (boxed: the vector id precedes the count) or `vector<T>` (bare: count only). */
  | { kind: 'vector'; boxed: boolean; of: TypeRef }
  /** A boxed type (`InputPeer`): the constructor id precedes the fields. */
  | { kind: 'boxed'; type: string }
  /** A bare constructor (`%Message`, `future_salt`): fields only, no id. */
  | { kind: 'bare'; ctor: string }
  /** `!X` of a generic method: any method object, boxed. */
  | { kind: 'generic' }
  /** TL's `Object`: any boxed object. */
  | { kind: 'object' };

export interface Param {
  /** TL name (snake_case). */
  name: string;
  /** Field name in JS objects (camelCase). */
  jsName: string;
  /** A `#` field: holds flag bits, computed on write, not exposed in objects. */
  isFlags: boolean;
  /** For conditional fields: the flags field's TL name and the bit. */
  cond?: { field: string; bit: number };
  /** Undefined for flags fields. */
  type?: TypeRef;
}

export interface Entry {
  kind: 'constructor' | 'method';
  /** Unique name in the merged namespace (a colliding MTProto name gets the `mt_` prefix). */
  name: string;
  /** The name as the source wrote it. */
  sourceName: string;
  id: number;
  params: Param[];
  /** For constructors: the boxed type it belongs to. For methods: the result type. */
  result: TypeRef;
  /** Boxed type name for constructors (`InputPeer`). */
  type?: string;
  /** Whether the method's result is the generic `X` (invokeWithLayer and friends). */
  genericResult: boolean;
  origin: SchemaOrigin;
}

export interface Schema {
  layer?: number;
  entries: Entry[];
  /** Boxed type name -> names of its constructors, in source order. */
  types: Map<string, string[]>;
  /** Renames applied to resolve collisions: `mtproto:message` -> `mt_message`. */
  renames: Map<string, string>;
}

/** Ids of the built-in boxed values the runtime handles without the schema. */
export const BUILTIN_IDS = {
  vector: 0x1cb5c415,
  boolFalse: 0xbc799737,
  boolTrue: 0x997275b5,
  true: 0x3fedd339,
  gzipPacked: 0x3072cfa1,
  null: 0x56730bcc,
} as const;
