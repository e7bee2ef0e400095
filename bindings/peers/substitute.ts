// Opt-in peer arguments in `call()` (issue #14): where the schema wants an InputPeer,
// InputUser or InputChannel (bindings/tl/generated/peer-params.ts), a call may pass a
// marked id, a username, a Peer, a User/Chat object or a StoredPeer instead; this puts the
// resolved Input* object in its place, at the top level and inside the objects that hold
// one (InputReplyTo's reply_to_peer_id, a keyboard button's user, a mention entity's user,
// privacy rules...). Params with nothing to resolve come back as they are (the same
// object: no copy, no await on the common path).
import { PEER_FIELDS, PEER_PARAMS, type PeerParam } from '../tl/generated/peer-params';
import type { PeerRef, PeerResolver } from './resolve';

/**
 * How deep objects are followed (ReplyMarkup -> row -> button is 3; the schema has
 * cycles, and a caller's object is not to be trusted to end).
 */
const MAX_DEPTH = 8;

/** Already an Input* object: left alone. */
function isInput(v: unknown): boolean {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { _?: unknown })._ === 'string' &&
    (v as { _: string })._.startsWith('input')
  );
}

function needsResolving(v: unknown): boolean {
  return v !== undefined && v !== null && !isInput(v);
}

/** The rows of a nested object's constructor, if it is one on the way to a peer. */
function fieldsOf(v: unknown): readonly PeerParam[] | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const name = (v as { _?: unknown })._;
  return typeof name === 'string' ? PEER_FIELDS[name] : undefined;
}

function valueWants(v: unknown, kind: PeerParam[1], depth: number): boolean {
  if (kind !== 'nested') return needsResolving(v);
  const rows = fieldsOf(v);
  return rows !== undefined && depth < MAX_DEPTH && rowsWant(rows, v as Record<string, unknown>, depth + 1);
}

function rowsWant(rows: readonly PeerParam[], obj: Record<string, unknown>, depth: number): boolean {
  for (const [name, kind, vector] of rows) {
    const v = obj[name];
    if (vector ? Array.isArray(v) && v.some((x) => valueWants(x, kind, depth)) : valueWants(v, kind, depth))
      return true;
  }
  return false;
}

/** Whether `params` of `method` name a peer that must be resolved first. */
export function wantsPeers(method: string, params: Record<string, unknown>): boolean {
  const spec = PEER_PARAMS[method];
  return spec !== undefined && rowsWant(spec, params, 0);
}

async function resolveValue(
  v: unknown,
  kind: PeerParam[1],
  resolver: PeerResolver,
  depth: number,
): Promise<unknown> {
  if (kind === 'nested') {
    const rows = fieldsOf(v);
    if (rows === undefined || depth >= MAX_DEPTH) return v;
    const obj = v as Record<string, unknown>;
    return rowsWant(rows, obj, depth + 1) ? resolveRows(rows, obj, resolver, depth + 1) : v;
  }
  if (!needsResolving(v)) return v;
  const ref = v as PeerRef;
  if (kind === 'InputUser') return resolver.inputUser(ref);
  if (kind === 'InputChannel') return resolver.inputChannel(ref);
  return resolver.inputPeer(ref);
}

/** A copy of `obj` with the peers its rows name resolved. */
async function resolveRows(
  rows: readonly PeerParam[],
  obj: Record<string, unknown>,
  resolver: PeerResolver,
  depth: number,
): Promise<Record<string, unknown>> {
  const out = { ...obj };
  for (const [name, kind, vector] of rows) {
    const v = out[name];
    out[name] =
      vector && Array.isArray(v)
        ? await Promise.all(v.map((x) => resolveValue(x, kind, resolver, depth)))
        : await resolveValue(v, kind, resolver, depth);
  }
  return out;
}

/** `params` with every peer argument resolved (a copy), or PeerError from the resolver. */
export async function substitutePeers(
  method: string,
  params: Record<string, unknown>,
  resolver: PeerResolver,
): Promise<Record<string, unknown>> {
  const spec = PEER_PARAMS[method];
  if (spec === undefined || !wantsPeers(method, params)) return params;
  return resolveRows(spec, params, resolver, 0);
}
