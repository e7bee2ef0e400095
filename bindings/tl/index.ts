// The TL layer: typed entry points over the generated codec of the bundled
// layer (@mtcute/tl's schema: the MTProto service schema + API layer 223).
// Exported from the package root as the `TL` namespace. See README.md.
import * as generated from './generated/codec';
import type { AnyMethod, AnyObject, MethodName, Methods, ResultOf } from './generated/types';
import { createCodec, type DeserializeOptions } from './runtime/codec';
import { writeError } from './runtime/convert';
import { TlSerializeError } from './runtime/errors';
import type { TlReader } from './runtime/reader';
import { TlWriter } from './runtime/writer';

export type {
  AnyMethod,
  AnyObject,
  ConstructorName,
  GenericMethodName,
  MethodName,
  Methods,
  Objects,
  ResultOf,
  TypeName,
  Types,
} from './generated/types';
export {
  FloodWaitError,
  MigrateError,
  parseRpcErrorMessage,
  RpcError,
  type RpcErrorKind,
} from './rpc/rpc-error';
export { type Codec, createCodec, type DeserializeOptions, type GeneratedCodec } from './runtime/codec';
export { readError, writeError } from './runtime/convert';
export * from './runtime/errors';
export { gzipPack } from './runtime/gzip';
export { MAX_INFLATED, TlReader } from './runtime/reader';
export { TlWriter } from './runtime/writer';

const codec = createCodec(generated as unknown as Parameters<typeof createCodec>[0]);

/** The API layer of the bundled schema (send it with invokeWithLayer). */
export const LAYER: number = generated.LAYER;

/** A method's parameters: the request object without `_`. */
export type Params<M extends MethodName> = Methods[M]['params'];
/** A method's result type. */
export type Result<M extends MethodName> = Methods[M]['result'];
/** Any object of either schema: a constructor or a request. */
export type TlObject = AnyObject | AnyMethod;

/**
 * Any boxed value: an object of either schema, a Bool (`boolean`: boolTrue /
 * boolFalse), or a `Vector<T>` of boxed values (an array of these). What
 * `deserialize` returns and `serialize` takes.
 */
export type TlValue = TlObject | boolean | readonly TlValue[];

/**
 * What `serialize` takes: a boxed value, or a vector of bare 64-bit or 32-bit
 * integers (`Vector<long>` as `bigint[]`, `Vector<int>` as `number[]`), the
 * results of photos.deletePhotos, contacts.getContactIDs and the like.
 */
export type TlSerializable = TlValue | readonly bigint[] | readonly number[];

const BOOL_TRUE = 0x997275b5;
const BOOL_FALSE = 0xbc799737;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Writes a value that is not an object: Bool, or a Vector (its elements by the kind of the first). */
function writeValue(w: TlWriter, v: unknown): void {
  if (typeof v === 'boolean') {
    w.ensure(4);
    w.u32(v ? BOOL_TRUE : BOOL_FALSE);
    return;
  }
  if (!Array.isArray(v)) {
    codec.serializeTo(w, v as TlObject);
    return;
  }
  w.ensure(8);
  w.vector(v.length);
  const first: unknown = v[0];
  if (typeof first === 'bigint') {
    w.ensure(8 * v.length);
    for (const x of v) w.long(x); // throws for a non-bigint element
  } else if (typeof first === 'number') {
    w.ensure(4 * v.length);
    for (const x of v) {
      if (!Number.isInteger(x) || x < INT32_MIN || x > INT32_MAX) {
        throw new TlSerializeError(`a Vector<int> element must be a 32-bit integer, got ${String(x)}`);
      }
      w.int(x);
    }
  } else {
    for (const x of v) writeValue(w, x);
  }
}

/** `writeValue` with its failures as TlSerializeError (as the generated writers give them). */
function writeValueTyped(w: TlWriter, v: unknown): void {
  try {
    writeValue(w, v);
  } catch (e) {
    throw writeError(e);
  }
}

/**
 * The boxed bytes of a value (see TlSerializable): an object (constructor id
 * first, one allocation), `true`/`false` as boolTrue/boolFalse, an array as a
 * Vector. Throws TlSerializeError.
 */
export function serialize(value: TlSerializable): Buffer {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return codec.serialize(value as TlObject);
  const w = new TlWriter(64);
  writeValueTyped(w, value);
  return w.result();
}

/**
 * `serialize` for a request on its way to a link: `bytes` values of 16 KiB or more
 * (an upload part) are not copied but referenced, so the result is either one
 * Buffer or its pieces in order, the caller's Buffers among them (they must not
 * change until the link took them). `MtpLink.transmit` and `enqueue` take both.
 */
export function serializeParts(value: TlObject): Serialized {
  return codec.serializeParts(value);
}

/** What `serializeParts` gives: one Buffer, or the pieces in order. */
export type Serialized = Buffer | Buffer[];

/** Bytes of a serialized value, whole or in pieces. */
export function serializedLength(value: Serialized): number {
  if (!Array.isArray(value)) return value.length;
  let n = 0;
  for (const piece of value) n += piece.length;
  return n;
}

/** Appends the boxed bytes of `value` to a writer (to pack several values into one buffer). */
export function serializeTo(w: TlWriter, value: TlSerializable): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    codec.serializeTo(w, value as TlObject);
  else writeValueTyped(w, value);
}

/**
 * The boxed value in `data`, exactly one (gzip_packed is unpacked): an object,
 * `true`/`false` for boolTrue/boolFalse, an array for a Vector of boxed values.
 * Throws TlUnknownConstructorError, TlTruncatedError, TlTrailingBytesError
 * (unless `allowTrailing`) or another TlError. A Vector of bare values
 * (`Vector<long>`, `Vector<int>`) does not describe its elements: decode it
 * with deserializeResult(method, data).
 *
 * The static type is what the caller declares (`const o: TL.TlObject =
 * TL.deserialize(b)`, or `TL.deserialize<TL.Types['Bool']>(b)`), TlValue when
 * nothing says; the value is whatever the bytes hold, so check `_` or `typeof`
 * where the input is not known.
 */
export function deserialize<T extends TlValue = TlValue>(data: Uint8Array, options?: DeserializeOptions): T {
  return codec.deserialize(data, options) as T;
}

/** Reads one boxed value at the reader's cursor (objects, Bool as boolean, vectors of boxed values). */
export function readObject(r: TlReader): unknown {
  return codec.readObject(r);
}

/**
 * Decodes the result of a request (the `result` of its rpc_result): needed
 * because results such as Vector<long> do not describe themselves. Pass the
 * method name, or the request object (invokeWithLayer and friends are looked
 * through to their query). An rpc_error throws an RpcError (FloodWaitError,
 * MigrateError); gzip_packed is unpacked.
 */
export function deserializeResult<M extends MethodName>(method: M, data: Uint8Array): Methods[M]['result'];
export function deserializeResult<T extends AnyMethod>(request: T, data: Uint8Array): ResultOf<NoInfer<T>>;
export function deserializeResult(method: MethodName | AnyMethod, data: Uint8Array): unknown {
  return codec.deserializeResult(method, data);
}

/** The bytes of a result of `method` (the server side: TestDc). */
export function serializeResult<M extends MethodName>(method: M, value: Methods[M]['result']): Buffer;
export function serializeResult<T extends AnyMethod>(request: T, value: ResultOf<NoInfer<T>>): Buffer;
export function serializeResult(method: MethodName | AnyMethod, value: unknown): Buffer {
  return codec.serializeResult(method, value);
}

/** `serializeResult` with large `bytes` values referenced, as `serializeParts` (TestDc's file answers). */
export function serializeResultParts(method: MethodName | AnyMethod, value: unknown): Serialized {
  return codec.serializeResultParts(method, value);
}

/** Constructor id of a combinator, by name. */
export function idOf(name: TlObject['_']): number | undefined {
  return codec.idOf(name);
}

/** Name of a combinator, by constructor id. */
export function nameOf(id: number): TlObject['_'] | undefined {
  return codec.nameOf(id) as TlObject['_'] | undefined;
}
