// Shared by the TL suites and bench/tl.bench.ts: the resolved schema, a
// seeded synthesizer of well-formed objects, and converters to and from the
// object shapes of the peer libraries (@mtcute/tl's binary maps through
// @mtcute/tl-runtime, and GramJS).
import { TL } from '../bindings';
import { isSizedBody } from '../bindings/tl/generator/naming';
import { loadBundledSchema } from '../bindings/tl/schema/load';
import type { Entry, Schema, TypeRef } from '../bindings/tl/schema/model';

export const schema: Schema = loadBundledSchema();
export const entries = new Map(schema.entries.map((e) => [e.name, e]));

// ---------------------------------------------------------------- randomness

/** A small seeded PRNG (mulberry32), so that failures reproduce. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bool(): boolean {
    return this.next() < 0.5;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  int32(): number {
    return this.pick([0, 1, -1, 0x7fffffff, -0x80000000, (this.next() * 2 ** 32) | 0]);
  }
  int64(): bigint {
    return BigInt.asIntN(64, (BigInt(this.int(2 ** 32)) << 32n) | BigInt(this.int(2 ** 32)));
  }
}

const STRINGS = [
  '',
  'a',
  'hello',
  'Привет, мир',
  '日本語のテキスト',
  'emoji 😀👍',
  'x'.repeat(253),
  'y'.repeat(254),
  'z'.repeat(300),
];
const BYTE_LENGTHS = [0, 1, 3, 4, 16, 253, 254, 255, 1000];

/** How a synthesized object sets its conditional fields. */
export type FlagMode = 'all' | 'none' | 'random';

export interface SynthOptions {
  mode: FlagMode;
  /** Keep optional vectors non-empty (mtcute treats an empty optional vector as absent). */
  nonEmptyOptionalVectors?: boolean;
  /** Keep 64-bit values of mtcute's int53 fields in its safe, non-negative range. */
  int53Fields?: ReadonlySet<string>;
  /** Nesting depth past which the smallest constructor of a type is chosen. */
  maxDepth?: number;
}

const SIMPLE_METHODS = ['help.getConfig', 'help.getNearestDc', 'updates.getState', 'ping'];

/** Synthesizes well-formed objects of a schema. */
export class Synthesizer {
  private readonly byName: Map<string, Entry>;
  /** Constructors of each type ordered by how little they nest (for bounded recursion). */
  private readonly leafFirst = new Map<string, Entry[]>();

  constructor(
    private readonly s: Schema,
    /** Serializes a boxed object of this schema (for the lengths and raw results it embeds). */
    private readonly serialize: (o: Record<string, unknown>) => Buffer,
  ) {
    this.byName = new Map(s.entries.map((e) => [e.name, e]));
  }

  private ctorsOf(type: string): Entry[] {
    let list = this.leafFirst.get(type);
    if (!list) {
      const weight = (e: Entry) =>
        e.params.filter(
          (p) => p.type && !p.cond && ['boxed', 'bare', 'generic', 'object'].includes(p.type.kind),
        ).length;
      list = (this.s.types.get(type) ?? []).map((n) => this.byName.get(n)!);
      list = [...list].sort((a, b) => weight(a) - weight(b));
      this.leafFirst.set(type, list);
    }
    return list;
  }

  /** A well-formed value of type `t`. */
  value(t: TypeRef, rng: Rng, o: SynthOptions, depth: number, int53 = false): unknown {
    switch (t.kind) {
      case 'scalar':
        switch (t.name) {
          case 'int':
            return rng.int32();
          case 'long':
            return int53 ? BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 21)) : rng.int64();
          case 'double':
            return rng.pick([0, -1.5, Math.PI, 1e300, -Number.MIN_VALUE, rng.next() * 1e6]);
          case 'int128':
            return rng.bytes(16);
          case 'int256':
            return rng.bytes(32);
          case 'bytes':
            return rng.bytes(rng.pick(BYTE_LENGTHS));
          case 'string':
            return rng.pick(STRINGS);
          case 'Bool':
            return rng.bool();
        }
        break;
      case 'true':
        return true;
      case 'vector': {
        const n = depth > (o.maxDepth ?? 3) ? 0 : rng.int(3);
        return Array.from({ length: n }, () => this.value(t.of, rng, o, depth + 1, int53));
      }
      case 'boxed': {
        const list = this.ctorsOf(t.type);
        const e = depth > (o.maxDepth ?? 3) ? list[0] : rng.pick(list);
        return this.object(e, rng, o, depth + 1);
      }
      case 'bare':
        return this.object(this.byName.get(t.ctor)!, rng, o, depth + 1);
      case 'generic':
        return this.object(this.byName.get(rng.pick(SIMPLE_METHODS))!, rng, o, depth + 1);
      case 'object':
        return this.object(this.byName.get('inputPeerSelf')!, rng, o, depth + 1);
    }
    throw new Error(`cannot synthesize ${JSON.stringify(t)}`);
  }

  /** A well-formed object of combinator `e`. Fields under one flag bit are present together. */
  object(e: Entry, rng: Rng, o: SynthOptions, depth = 0): Record<string, unknown> {
    const bits = new Map<string, boolean>();
    const obj: Record<string, unknown> = { _: e.name };
    for (const [i, p] of e.params.entries()) {
      if (p.isFlags) continue;
      const t = p.type!;
      if (p.cond) {
        const key = `${p.cond.field}.${p.cond.bit}`;
        let on = bits.get(key);
        if (on === undefined) {
          on = o.mode === 'all' ? true : o.mode === 'none' ? false : rng.bool();
          bits.set(key, on);
        }
        if (t.kind === 'true') {
          obj[p.jsName] = on;
          continue;
        }
        if (!on) {
          obj[p.jsName] = undefined;
          continue;
        }
      }
      if (t.kind === 'object') {
        const body = this.value(t, rng, o, depth) as Record<string, unknown>;
        if (isSizedBody(e, i)) {
          // The writer computes the length field before a sized body (msg_container's message).
          obj[e.params[i - 1].jsName] = this.serialize(body).length;
          obj[p.jsName] = body;
        } else {
          // rpc_result's result reads back as the raw bytes of the rest of the message.
          obj[p.jsName] = this.serialize(body);
        }
        continue;
      }
      const int53 = o.int53Fields?.has(`${e.name}.${p.jsName}`) ?? false;
      let v = this.value(t, rng, o, depth, int53);
      if (p.cond && t.kind === 'vector' && o.nonEmptyOptionalVectors && (v as unknown[]).length === 0) {
        v = [this.value(t.of, rng, { ...o, maxDepth: 0 }, depth + 1, int53)];
      }
      obj[p.jsName] = v;
    }
    return obj;
  }
}

const bundled = new Synthesizer(schema, (o) => TL.serialize(o as unknown as TL.TlObject));

/** A well-formed object of combinator `e` of the bundled schema. */
export function synthObject(e: Entry, rng: Rng, o: SynthOptions, depth = 0): Record<string, unknown> {
  return bundled.object(e, rng, o, depth);
}

// ---------------------------------------------------------------- mtcute

/* eslint-disable @typescript-eslint/no-require-imports */
type Long = { low: number; high: number; toString(): string };
const Long = require('long') as {
  fromString(s: string, unsigned?: boolean): Long;
};

/** `ctor.field` of every int53 field in @mtcute/tl's API schema (a JS number on its side). */
export const int53Fields: ReadonlySet<string> = (() => {
  const set = new Set<string>();
  const api = require('@mtcute/tl/api-schema.json') as {
    e: { name: string; arguments: { name: string; type: string }[] }[];
  };
  for (const e of api.e) {
    for (const a of e.arguments) {
      if (a.type === 'int53')
        set.add(`${e.name}.${a.name.replace(/_([a-zA-Z0-9])/g, (_, c) => c.toUpperCase())}`);
    }
  }
  return set;
})();

/** mtcute's name for one of ours: its MTProto names have the prefix mt_. */
export function mtcuteName(e: Entry): string {
  return e.origin === 'mtproto' ? `mt_${e.sourceName}` : e.name;
}

/** Whether @mtcute/tl has a writer for the combinator (its map lacks msg_container, rpc_result, ...). */
export function mtcuteHas(e: Entry): boolean {
  return mtcuteName(e) in mtcute().writers;
}

function convert(v: unknown, t: TypeRef, int53: boolean, dir: 'to' | 'from'): unknown {
  if (v === undefined) return undefined;
  switch (t.kind) {
    case 'scalar':
      if (t.name === 'long') {
        if (dir === 'to') return int53 ? Number(v as bigint) : Long.fromString(String(v));
        return int53 ? BigInt(v as number) : BigInt((v as Long).toString());
      }
      if (dir === 'from' && (t.name === 'bytes' || t.name === 'int128' || t.name === 'int256')) {
        const u = v as Uint8Array;
        return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
      }
      return v;
    case 'vector':
      return (v as unknown[]).map((x) => convert(x, t.of, int53, dir));
    case 'boxed':
    case 'bare':
    case 'generic':
    case 'object':
      return convertObject(v as Record<string, unknown>, dir);
    default:
      return v;
  }
}

function convertObject(obj: Record<string, unknown>, dir: 'to' | 'from'): Record<string, unknown> {
  const name = obj._ as string;
  const e = dir === 'to' ? entries.get(name) : entryFromMtcute(name);
  if (!e) throw new Error(`no entry for ${name}`);
  const out: Record<string, unknown> = { _: dir === 'to' ? mtcuteName(e) : e.name };
  for (const p of e.params) {
    if (p.isFlags) continue;
    out[p.jsName] = convert(obj[p.jsName], p.type!, int53Fields.has(`${e.name}.${p.jsName}`), dir);
  }
  return out;
}

function entryFromMtcute(name: string): Entry | undefined {
  if (name.startsWith('mt_')) {
    return schema.entries.find((e) => e.origin === 'mtproto' && e.sourceName === name.slice(3));
  }
  return entries.get(name);
}

/** Our object -> mtcute's (Long for long, number for int53, mt_ names). */
export function toMtcute(obj: Record<string, unknown>): Record<string, unknown> {
  return convertObject(obj, 'to');
}

/** mtcute's object -> ours. */
export function fromMtcute(obj: Record<string, unknown>): Record<string, unknown> {
  return convertObject(obj, 'from');
}

/** @mtcute/tl's own binary writer and reader (layer 223), with the platform @mtcute/node uses. Loaded on first use. */
export function mtcute(): MtcuteCodec {
  mtcuteCodec ??= loadMtcute();
  return mtcuteCodec;
}

interface MtcuteCodec {
  writers: Record<string, unknown>;
  readers: Record<number, unknown>;
  serialize(obj: unknown): Uint8Array;
  deserialize(b: Uint8Array): Record<string, unknown>;
}

let mtcuteCodec: MtcuteCodec | undefined;

function loadMtcute(): MtcuteCodec {
  const rt = require('@mtcute/tl-runtime');
  const { __tlReaderMap } = require('@mtcute/tl/binary/reader.js');
  const { __tlWriterMap } = require('@mtcute/tl/binary/writer.js');
  const toBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  // The ITlPlatform methods of @mtcute/node's NodePlatform.
  const platform = {
    utf8ByteLength: (s: string) => Buffer.byteLength(s, 'utf8'),
    utf8Encode: (s: string) => Buffer.from(s, 'utf8'),
    utf8Decode: (b: Uint8Array) => toBuffer(b).toString('utf8'),
    hexEncode: (b: Uint8Array) => toBuffer(b).toString('hex'),
    hexDecode: (s: string) => Buffer.from(s, 'hex'),
    base64Encode: (b: Uint8Array) => toBuffer(b).toString('base64'),
    base64Decode: (s: string) => Buffer.from(s, 'base64'),
  };
  rt.TlBinaryReader.platform = platform;
  rt.TlBinaryWriter.platform = platform;
  return {
    writers: __tlWriterMap as Record<string, unknown>,
    readers: __tlReaderMap as Record<number, unknown>,
    serialize: (obj: unknown): Uint8Array => rt.TlBinaryWriter.serializeObject(__tlWriterMap, obj),
    deserialize: (b: Uint8Array): Record<string, unknown> =>
      rt.TlBinaryReader.deserializeObject(__tlReaderMap, b),
  };
}

// ---------------------------------------------------------------- GramJS

/** Our object -> a GramJS Api instance (its own layer: fields it lacks are dropped). */
export function toGram(obj: Record<string, unknown>): unknown {
  const { Api } = require('telegram');
  const bigInt = require('big-integer');
  const name = obj._ as string;
  const dot = name.lastIndexOf('.');
  const ns = dot < 0 ? Api : Api[name.slice(0, dot)];
  const cls = ns[name[dot + 1].toUpperCase() + name.slice(dot + 2)];
  if (!cls) throw new Error(`GramJS has no ${name}`);
  const conv = (v: unknown): unknown => {
    if (typeof v === 'bigint') return bigInt(v.toString());
    if (Array.isArray(v)) return v.map(conv);
    if (v && typeof v === 'object' && '_' in v) return toGram(v as Record<string, unknown>);
    return v;
  };
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== '_' && v !== undefined) args[k] = conv(v);
  return new cls(args);
}
