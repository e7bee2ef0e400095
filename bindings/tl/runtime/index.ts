// The TL runtime: what generated codecs import.
export { type Codec, createCodec, type GeneratedCodec } from './codec';
export { readError, writeError } from './convert';
export * from './errors';
export { gzipPack } from './gzip';
export { MAX_INFLATED, MAX_NESTING, TlReader } from './reader';
export { TlWriter } from './writer';
