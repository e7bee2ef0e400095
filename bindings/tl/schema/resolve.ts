// Resolves parsed schemas into one namespace: parameter types become TypeRef
// trees, constructors are grouped by boxed type, names are made unique.
//
// Collisions: the MTProto service schema and the API layer are keyed by name
// in one namespace. When an MTProto name (combinator or boxed type) is also an
// API name, the MTProto one takes the prefix `mt_` (mtcute's convention): with
// the official schemas that is the bare `message` of msg_container (becoming
// `mt_message`, type `mt_Message`), which the API's `message` constructor and
// `Message` type would shadow. An entry present in both with the same id is
// kept once.

import type { Entry, Param, RawEntry, RawSchema, Scalar, Schema, SchemaOrigin, TypeRef } from './model';
import { TlParseError } from './parse-tl';

const SCALARS: Record<string, Scalar> = {
  int: 'int',
  long: 'long',
  int53: 'long',
  double: 'double',
  int128: 'int128',
  int256: 'int256',
  bytes: 'bytes',
  string: 'string',
  Bool: 'Bool',
};

/** snake_case (TL) -> camelCase (JS): `server_nonce` -> `serverNonce`, `g_a` -> `gA`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Scope {
  origin: SchemaOrigin;
  /** Source name -> unique name, for this origin. */
  names: Map<string, string>;
  /** Source type name -> unique type name, for this origin. */
  typeNames: Map<string, string>;
}

/**
 * Merges the MTProto schema and the API schema (either may be empty) into one
 * resolved Schema. `layer` defaults to the API schema's.
 */
export function resolveSchemas(mtproto: RawSchema, api: RawSchema, layer?: number): Schema {
  const apiNames = new Set(api.entries.map((e) => e.name));
  const apiTypes = new Set(api.entries.filter((e) => e.kind === 'constructor').map((e) => e.result));
  const apiIds = new Map(api.entries.map((e) => [e.name, e.id]));
  const renames = new Map<string, string>();

  const mtScope: Scope = { origin: 'mtproto', names: new Map(), typeNames: new Map() };
  const apiScope: Scope = { origin: 'api', names: new Map(), typeNames: new Map() };
  const mtEntries: RawEntry[] = [];
  for (const e of mtproto.entries) {
    if (apiIds.get(e.name) === e.id) continue; // the same combinator in both: keep the API's
    let unique = e.name;
    if (apiNames.has(e.name)) {
      unique = `mt_${e.name}`;
      renames.set(`mtproto:${e.name}`, unique);
    }
    mtScope.names.set(e.name, unique);
    if (e.kind === 'constructor') {
      const t = e.result;
      const ut = apiTypes.has(t) ? `mt_${t}` : t;
      if (ut !== t) renames.set(`mtproto:${t}`, ut);
      mtScope.typeNames.set(t, ut);
    }
    mtEntries.push(e);
  }
  for (const e of api.entries) {
    apiScope.names.set(e.name, e.name);
    if (e.kind === 'constructor') apiScope.typeNames.set(e.result, e.result);
  }

  const types = new Map<string, string[]>();
  const ctorsByName = new Map<string, RawEntry>();
  const seen = new Set<string>();
  for (const [scope, list] of [
    [mtScope, mtEntries],
    [apiScope, api.entries],
  ] as const) {
    for (const e of list) {
      const unique = scope.names.get(e.name)!;
      if (seen.has(unique)) throw new TlParseError(`duplicate combinator ${e.name}`, e.line);
      seen.add(unique);
      if (e.kind !== 'constructor') continue;
      ctorsByName.set(`${scope.origin}:${e.name}`, e);
      const t = scope.typeNames.get(e.result)!;
      const list2 = types.get(t);
      if (list2) list2.push(unique);
      else types.set(t, [unique]);
    }
  }

  const entries: Entry[] = [];
  for (const [scope, list] of [
    [mtScope, mtEntries],
    [apiScope, api.entries],
  ] as const) {
    for (const e of list) entries.push(resolveEntry(e, scope, ctorsByName, types));
  }
  return { layer: layer ?? api.layer, entries, types, renames };
}

function resolveEntry(
  e: RawEntry,
  scope: Scope,
  ctors: Map<string, RawEntry>,
  types: Map<string, string[]>,
): Entry {
  const fail = (msg: string): never => {
    throw new TlParseError(`${e.name}: ${msg}`, e.line);
  };
  const generics = new Set(e.generics);
  const flagFields = new Set<string>();

  const resolveType = (text: string): TypeRef => {
    const scalar = SCALARS[text];
    if (scalar) return { kind: 'scalar', name: scalar };
    if (text === 'true') return { kind: 'true' };
    if (text === 'Object') return { kind: 'object' };
    if (text.startsWith('!')) {
      if (!generics.has(text.slice(1))) fail(`unknown generic ${text}`);
      return { kind: 'generic' };
    }
    if (generics.has(text)) return { kind: 'generic' };
    const vec = /^([Vv])ector<(.+)>$/.exec(text);
    if (vec) return { kind: 'vector', boxed: vec[1] === 'V', of: resolveType(vec[2]) };
    if (text.startsWith('%')) {
      const t = text.slice(1);
      const unique = scope.typeNames.get(t) ?? lookupType(t);
      const members = unique ? types.get(unique) : undefined;
      if (members?.length !== 1) fail(`bare %${t} needs a type with exactly one constructor`);
      return { kind: 'bare', ctor: members![0] };
    }
    const last = text.slice(text.lastIndexOf('.') + 1);
    if (/^[a-z]/.test(last)) {
      // A lowercase name is a bare constructor (`vector<future_salt>`).
      const own = ctors.get(`${scope.origin}:${text}`);
      const other = ctors.get(`${scope.origin === 'api' ? 'mtproto' : 'api'}:${text}`);
      if (own) return { kind: 'bare', ctor: scope.names.get(text)! };
      if (other) return { kind: 'bare', ctor: text };
      fail(`unknown bare constructor ${text}`);
    }
    const unique = scope.typeNames.get(text) ?? lookupType(text);
    if (!unique) fail(`unknown type ${text}`);
    return { kind: 'boxed', type: unique! };
  };
  // A type of the other schema, by its own name (never needed by the official schemas).
  const lookupType = (t: string): string | undefined => (types.has(t) ? t : undefined);

  const params: Param[] = e.params.map((p) => {
    const jsName = camelCase(p.name);
    if (p.type === '#') {
      flagFields.add(p.name);
      return { name: p.name, jsName, isFlags: true };
    }
    const cond = /^(\w+)\.(\d+)\?(.+)$/.exec(p.type);
    if (cond) {
      if (!flagFields.has(cond[1])) fail(`${p.name} depends on ${cond[1]}, which is not a preceding # field`);
      const bit = Number(cond[2]);
      if (bit > 31) fail(`${p.name} uses bit ${bit} of ${cond[1]}`);
      return {
        name: p.name,
        jsName,
        isFlags: false,
        cond: { field: cond[1], bit },
        type: resolveType(cond[3]),
      };
    }
    const type = resolveType(p.type);
    if (type.kind === 'true') fail(`${p.name}: true outside a conditional field`);
    return { name: p.name, jsName, isFlags: false, type };
  });
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.jsName) || p.jsName === '_') fail(`duplicate field ${p.jsName}`);
    names.add(p.jsName);
  }

  const unique = scope.names.get(e.name)!;
  if (e.kind === 'constructor') {
    const type = scope.typeNames.get(e.result)!;
    return {
      kind: 'constructor',
      name: unique,
      sourceName: e.name,
      id: e.id,
      params,
      result: { kind: 'boxed', type },
      type,
      genericResult: false,
      origin: e.origin,
    };
  }
  const genericResult = generics.has(e.result);
  return {
    kind: 'method',
    name: unique,
    sourceName: e.name,
    id: e.id,
    params,
    result: genericResult ? { kind: 'generic' } : resolveType(e.result),
    genericResult,
    origin: e.origin,
  };
}
