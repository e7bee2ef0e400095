// Builds the resolved schema from its sources: the bundled one (@mtcute/tl's
// JSON plus the MTProto supplement) or raw .tl files.
import { readFileSync } from 'node:fs';
import { fromMtcuteJson } from './from-json';
import type { RawSchema, Schema } from './model';
import { MTPROTO_SUPPLEMENT } from './mtproto-core';
import { type IdMismatch, type ParseOptions, parseTl } from './parse-tl';
import { resolveSchemas } from './resolve';

/** Adds the entries of `extra` whose names `base` lacks. */
function supplement(base: RawSchema, extra: RawSchema): RawSchema {
  const have = new Set(base.entries.map((e) => e.name));
  return { layer: base.layer, entries: [...base.entries, ...extra.entries.filter((e) => !have.has(e.name))] };
}

/** The schema of @mtcute/tl (api-schema.json, mtp-schema.json), given the parsed JSON. */
export function bundledSchema(apiJson: unknown, mtpJson: unknown): Schema {
  const mtp = supplement(fromMtcuteJson(mtpJson, 'mtproto'), parseTl(MTPROTO_SUPPLEMENT, 'mtproto'));
  return resolveSchemas(mtp, fromMtcuteJson(apiJson, 'api'));
}

/** Loads @mtcute/tl's schema from node_modules. */
export function loadBundledSchema(): Schema {
  const dir = require.resolve('@mtcute/tl/package.json').replace(/package\.json$/, '');
  const read = (f: string) => JSON.parse(readFileSync(dir + f, 'utf8'));
  return bundledSchema(read('api-schema.json'), read('mtp-schema.json'));
}

export interface TlSources {
  /** Raw text of the API schema (.tl), or undefined for none. */
  api?: string;
  /** Raw text of the MTProto service schema (.tl); the bundled supplement fills what it lacks. */
  mtproto?: string;
  layer?: number;
  parse?: ParseOptions;
}

/** A schema from raw .tl text; `idMismatches` lists the ids accepted with `onIdMismatch: 'warn'`. */
export function schemaFromTl(src: TlSources): Schema & { idMismatches: IdMismatch[] } {
  const api = src.api ? parseTl(src.api, 'api', src.parse) : { entries: [], mismatches: [] };
  const mtRaw = src.mtproto ? parseTl(src.mtproto, 'mtproto', src.parse) : { entries: [], mismatches: [] };
  // The supplement (legacy handshake entries, msg_container, ...) completes a service schema, if given.
  const mt = src.mtproto ? supplement(mtRaw, parseTl(MTPROTO_SUPPLEMENT, 'mtproto')) : mtRaw;
  return { ...resolveSchemas(mt, api, src.layer), idMismatches: [...mtRaw.mismatches, ...api.mismatches] };
}
