// The entry points over a generated codec: serialize, deserialize and the
// per-method result codecs, with every failure turned into a typed error.
import { RpcError } from '../rpc/rpc-error';
import { readError, writeError } from './convert';
import { TlError } from './errors';
import { TlReader } from './reader';
import { TlWriter } from './writer';

const GZIP = 0x3072cfa1;
const RPC_ERROR = 0x2144ca19;

/** What a generated codec.ts exports. */
export interface GeneratedCodec {
  LAYER: number;
  readAny(r: TlReader): unknown;
  wo(w: TlWriter, v: unknown): void;
  RESULT_READERS: Record<string, (r: TlReader) => unknown>;
  RESULT_WRITERS: Record<string, (w: TlWriter, v: unknown) => void>;
  GENERIC_METHODS: ReadonlySet<string>;
  IDS: ReadonlyMap<string, number>;
  NAMES: ReadonlyMap<number, string>;
}

export interface DeserializeOptions {
  /** Accept bytes after the object (default false: they are a TlTrailingBytesError). */
  allowTrailing?: boolean;
}

/** A method name, or a request object (generic wrappers such as invokeWithLayer are looked through). */
export type MethodRef = string | { _: string; query?: unknown };

export interface Codec {
  readonly layer: number;
  serialize(obj: { _: string }): Buffer;
  serializeParts(obj: { _: string }): Buffer | Buffer[];
  serializeTo(w: TlWriter, obj: { _: string }): void;
  deserialize(data: Uint8Array, options?: DeserializeOptions): unknown;
  readObject(r: TlReader): unknown;
  deserializeResult(method: MethodRef, data: Uint8Array): unknown;
  serializeResult(method: MethodRef, value: unknown): Buffer;
  serializeResultParts(method: MethodRef, value: unknown): Buffer | Buffer[];
  idOf(name: string): number | undefined;
  nameOf(id: number): string | undefined;
}

/** Large one-off messages may grow the shared writer; past this it is let go. */
const KEEP_WRITER = 1024 * 1024;

export function createCodec(g: GeneratedCodec): Codec {
  let shared = new TlWriter(64 * 1024);

  function write(fn: (w: TlWriter) => void): Buffer {
    const w = shared;
    w.reset();
    try {
      fn(w);
    } catch (e) {
      throw writeError(e);
    }
    const out = w.result();
    if (w.buf.length > KEEP_WRITER) shared = new TlWriter(64 * 1024);
    return out;
  }

  /** `write`, with large `bytes` values referenced rather than copied (TlWriter.parts). */
  function writeParts(fn: (w: TlWriter) => void): Buffer | Buffer[] {
    const w = shared;
    w.gather();
    try {
      fn(w);
      return w.parts();
    } catch (e) {
      throw writeError(e);
    } finally {
      // The shared writer keeps no reference to the caller's Buffers.
      w.reset();
      if (w.buf.length > KEEP_WRITER) shared = new TlWriter(64 * 1024);
    }
  }

  /** The method whose result a request's answer holds. */
  function resultMethod(method: MethodRef): string {
    let ref: unknown = method;
    for (;;) {
      const name = typeof ref === 'string' ? ref : (ref as { _?: unknown } | null)?._;
      if (typeof name !== 'string' || !(name in g.RESULT_READERS)) {
        throw new TlError('ERR_TL_UNKNOWN_METHOD', `unknown method ${String(name)}`);
      }
      if (!g.GENERIC_METHODS.has(name) || typeof ref === 'string') return name;
      const query = (ref as { query?: unknown }).query;
      if (query === undefined) return name;
      ref = query;
    }
  }

  const serialize = (obj: { _: string }) => write((w) => g.wo(w, obj));
  const serializeParts = (obj: { _: string }) => writeParts((w) => g.wo(w, obj));

  return {
    layer: g.LAYER,
    serialize,
    serializeParts,
    serializeTo(w, obj) {
      try {
        g.wo(w, obj);
      } catch (e) {
        throw writeError(e);
      }
    },
    deserialize(data, options) {
      const r = new TlReader(data);
      try {
        const v = g.readAny(r);
        if (!options?.allowTrailing) r.end();
        return v;
      } catch (e) {
        throw readError(e, r);
      }
    },
    readObject(r) {
      try {
        return g.readAny(r);
      } catch (e) {
        throw readError(e, r);
      }
    },
    deserializeResult(method, data) {
      const name = resultMethod(method);
      // A generic method answered without its query known: any boxed value.
      const read = g.GENERIC_METHODS.has(name) ? g.readAny : g.RESULT_READERS[name];
      let r = new TlReader(data);
      try {
        let id = r.dv.getUint32(r.pos, true);
        if (id === GZIP) {
          r.pos += 4;
          const inner = r.gunzip();
          r.end();
          r = inner;
          id = r.dv.getUint32(r.pos, true);
        }
        if (id === RPC_ERROR) {
          const e = g.readAny(r) as { errorCode: number; errorMessage: string };
          r.end();
          throw RpcError.from(e.errorCode, e.errorMessage);
        }
        const v = read(r);
        r.end();
        return v;
      } catch (e) {
        throw readError(e, r);
      }
    },
    serializeResult(method, value) {
      const name = resultMethod(method);
      const fn = g.GENERIC_METHODS.has(name) ? g.wo : g.RESULT_WRITERS[name];
      return write((w) => fn(w, value));
    },
    serializeResultParts(method, value) {
      const name = resultMethod(method);
      const fn = g.GENERIC_METHODS.has(name) ? g.wo : g.RESULT_WRITERS[name];
      return writeParts((w) => fn(w, value));
    },
    idOf: (name) => g.IDS.get(name),
    nameOf: (id) => g.NAMES.get(id >>> 0),
  };
}
