// The TL layer: typed entry points over the generated codec of the bundled
// layer (@mtcute/tl's schema: the MTProto service schema + API layer 223).
// Exported from the package root as the `TL` namespace. See README.md.
import * as generated from './generated/codec';
import type { AnyMethod, AnyObject, MethodName, Methods, ResultOf } from './generated/types';
import { createCodec, type DeserializeOptions } from './runtime/codec';
import { TlBadValueError } from './runtime/errors';
import type { TlReader } from './runtime/reader';
import type { TlWriter } from './runtime/writer';

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

/** The boxed bytes of any object of either schema (constructor id first). Throws TlSerializeError. */
export function serialize(obj: TlObject): Buffer {
  return codec.serialize(obj);
}

/** Appends the boxed bytes of `obj` to a writer (to pack several objects into one buffer). */
export function serializeTo(w: TlWriter, obj: TlObject): void {
  codec.serializeTo(w, obj);
}

/**
 * The object in `data`: exactly one boxed object (gzip_packed is unpacked).
 * Throws TlUnknownConstructorError, TlTruncatedError, TlTrailingBytesError
 * (unless `allowTrailing`) or another TlError. A result that is not an object
 * (Bool, Vector<long>, ...) needs deserializeResult.
 */
export function deserialize(data: Uint8Array, options?: DeserializeOptions): TlObject {
  const v = codec.deserialize(data, options);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TlBadValueError(`expected an object, got ${Array.isArray(v) ? 'a vector' : typeof v}`, 0);
  }
  return v as TlObject;
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

/** Constructor id of a combinator, by name. */
export function idOf(name: TlObject['_']): number | undefined {
  return codec.idOf(name);
}

/** Name of a combinator, by constructor id. */
export function nameOf(id: number): TlObject['_'] | undefined {
  return codec.nameOf(id) as TlObject['_'] | undefined;
}
