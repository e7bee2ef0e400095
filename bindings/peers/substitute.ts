// Opt-in peer arguments in `call()` (issue #14): where the schema wants an InputPeer,
// InputUser or InputChannel (bindings/tl/generated/peer-params.ts), a call may pass a
// marked id, a username, a Peer, a User/Chat object or a StoredPeer instead; this puts the
// resolved Input* object in its place. Params with nothing to resolve come back as they
// are (the same object: no copy, no await on the common path).
import { PEER_PARAMS } from '../tl/generated/peer-params';
import type { PeerRef, PeerResolver } from './resolve';

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

/** Whether `params` of `method` name a peer that must be resolved first. */
export function wantsPeers(method: string, params: Record<string, unknown>): boolean {
  const spec = PEER_PARAMS[method];
  if (spec === undefined) return false;
  for (const [name, , vector] of spec) {
    const v = params[name];
    if (vector ? Array.isArray(v) && v.some(needsResolving) : needsResolving(v)) return true;
  }
  return false;
}

/** `params` with every peer argument resolved (a copy), or PeerError from the resolver. */
export async function substitutePeers(
  method: string,
  params: Record<string, unknown>,
  resolver: PeerResolver,
): Promise<Record<string, unknown>> {
  const spec = PEER_PARAMS[method];
  if (spec === undefined || !wantsPeers(method, params)) return params;
  const out = { ...params };
  for (const [name, type, vector] of spec) {
    const one = (v: unknown) => {
      if (!needsResolving(v)) return v;
      const ref = v as PeerRef;
      if (type === 'InputUser') return resolver.inputUser(ref);
      if (type === 'InputChannel') return resolver.inputChannel(ref);
      return resolver.inputPeer(ref);
    };
    const v = out[name];
    out[name] = vector && Array.isArray(v) ? await Promise.all(v.map(one)) : await one(v);
  }
  return out;
}
