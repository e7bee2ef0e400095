// Loader for the JSON schema that the npm package @mtcute/tl ships
// (api-schema.json: `{ l: layer, e: entries }`; mtp-schema.json: an array of
// entries). Each entry becomes a RawEntry with its types spelled as raw TL
// text, so that both sources share one resolver.
import type { RawEntry, RawSchema, SchemaOrigin } from './model';

interface JsonArg {
  name: string;
  type: string;
  typeModifiers?: {
    predicate?: string;
    isVector?: boolean;
    isBareVector?: boolean;
    isBareType?: boolean;
  };
}

interface JsonEntry {
  kind: 'class' | 'method';
  name: string;
  id: number;
  type: string;
  arguments: JsonArg[];
  generics?: { name: string; type: string }[];
  typeModifiers?: { isVector?: boolean; isBareVector?: boolean };
}

/**
 * The functions of the MTProto service schema (core.telegram.org/schema/mtproto,
 * `---functions---`). mtcute's mtp-schema.json lists every entry as a class.
 */
const MTPROTO_FUNCTIONS = new Set([
  'req_pq',
  'req_pq_multi',
  'req_DH_params',
  'set_client_DH_params',
  'rpc_drop_answer',
  'get_future_salts',
  'ping',
  'ping_delay_disconnect',
  'destroy_session',
  'destroy_auth_key',
]);

/** mtcute prefixes its MTProto names with `mt_`; the official schema does not. */
function unprefix(name: string, origin: SchemaOrigin): string {
  return origin === 'mtproto' && name.startsWith('mt_') ? name.slice(3) : name;
}

function argType(arg: JsonArg, origin: SchemaOrigin): string {
  if (arg.type === '#') return '#';
  // mtcute's int53 is a `long` on the wire (its reader only narrows it to a JS number).
  let t = arg.type === 'int53' ? 'long' : unprefix(arg.type, origin);
  const mods = arg.typeModifiers ?? {};
  if (mods.isBareVector) t = `vector<${t}>`;
  else if (mods.isVector) t = `Vector<${t}>`;
  if (mods.predicate) t = `${mods.predicate}?${t}`;
  return t;
}

/** Converts one of @mtcute/tl's JSON schemas (api-schema.json or mtp-schema.json). */
export function fromMtcuteJson(json: unknown, origin: SchemaOrigin): RawSchema {
  const list = (Array.isArray(json) ? json : (json as { e: JsonEntry[] }).e) as JsonEntry[];
  const layer = Array.isArray(json) ? undefined : (json as { l?: number }).l;
  // mtcute.* entries are mtcute's own placeholders, not part of Telegram's schema.
  const entries: RawEntry[] = list
    .filter((e) => !e.name.startsWith('mtcute.'))
    .map((e) => {
      const name = unprefix(e.name, origin);
      const isMethod = e.kind === 'method' || (origin === 'mtproto' && MTPROTO_FUNCTIONS.has(name));
      let result = e.type === 'int53' ? 'long' : unprefix(e.type, origin);
      if (e.typeModifiers?.isBareVector) result = `vector<${result}>`;
      else if (e.typeModifiers?.isVector) result = `Vector<${result}>`;
      return {
        kind: isMethod ? 'method' : 'constructor',
        name,
        id: e.id >>> 0,
        idGiven: true,
        generics: (e.generics ?? []).map((g) => g.name),
        params: e.arguments.map((a) => ({ name: a.name, type: argType(a, origin) })),
        result,
        origin,
        line: 0,
      };
    });
  return { layer, entries };
}
