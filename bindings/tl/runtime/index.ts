// The TL runtime: what generated codecs import.
export { type Codec, createCodec, type GeneratedCodec } from './codec';
export { readError, writeError } from './convert';
export * from './errors';
export { gzipPack } from './gzip';
export { MAX_INFLATED, TlReader } from './reader';
export { TlWriter } from './writer';
