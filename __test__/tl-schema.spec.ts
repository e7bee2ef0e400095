// The raw TL parser, the JSON loader and the generator on another layer. Raw .tl
// text from installed packages and the repository: GramJS's api.tl (layer 198)
// and MTProto schema (the `telegram` devDependency ships both as JS strings),
// and the official service schema (vectors/mtproto.tl).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { TL } from '../bindings';
import { generate } from '../bindings/tl/generator/generate';
import { fromMtcuteJson } from '../bindings/tl/schema/from-json';
import { schemaFromTl } from '../bindings/tl/schema/load';
import { computeId, idMatches, parseTl, TlParseError } from '../bindings/tl/schema/parse-tl';
import { vectorText } from '../vectors/load';
import { Rng, Synthesizer, schema } from './tl-support';

const apiTl = require('telegram/tl/apiTl.js') as string;
const gramjsMtprotoTl = require('telegram/tl/schemaTl.js') as string;
const mtprotoTl = vectorText('mtproto.tl');
/** GramJS's api.tl carries no `// LAYER` line; its layer is GramJS's LAYER constant. */
const GRAMJS_LAYER = 198;

test("GramJS's api.tl (layer 198): every given id checks against its CRC32", (t) => {
  const parsed = parseTl(apiTl, 'api');
  t.is(parsed.mismatches.length, 0);
  t.true(parsed.entries.length > 2000);
  t.true(parsed.entries.every((e) => e.idGiven));
  const byName = new Map(parsed.entries.map((e) => [e.name, e]));
  t.is(byName.get('message')!.id, 0x96fdbbe9);
  t.is(byName.get('boolTrue'), undefined); // builtins are types, not entries
  t.is(byName.get('messages.setTyping')!.kind, 'method');
});

test("GramJS's MTProto schema: legacy entries whose ids do not hash keep them only when asked", (t) => {
  // accessPointRule and help.configSimple keep ids that do not hash from their text
  // (they date from before the rule); a strict parse names the first, with its line.
  const parsed = parseTl(gramjsMtprotoTl, 'mtproto', { onIdMismatch: 'warn' });
  t.deepEqual(
    parsed.mismatches.map((m) => m.name),
    ['accessPointRule', 'help.configSimple'],
  );
  const line = gramjsMtprotoTl.split('\n').findIndex((l) => l.startsWith('accessPointRule#')) + 1;
  t.true(line > 1);
  const err = t.throws(() => parseTl(gramjsMtprotoTl, 'mtproto'), { instanceOf: TlParseError });
  t.is(err.line, line);
  t.is(err.code, 'ERR_TL_SCHEMA');
  t.regex(err.message, /accessPointRule is #4679b65f/);
});

test("GramJS's api.tl without its ids: the computed ids are the published ones", (t) => {
  const given = parseTl(apiTl, 'api');
  const stripped = parseTl(apiTl.replace(/^([\w.]+)#[0-9a-f]+/gm, '$1'), 'api');
  t.is(stripped.entries.length, given.entries.length);
  t.true(stripped.entries.every((e) => !e.idGiven));
  t.deepEqual(
    stripped.entries.map((e) => e.id),
    given.entries.map((e) => e.id),
  );
});

test('mtproto.tl: every id checks, message gets a computed one', (t) => {
  const parsed = parseTl(mtprotoTl, 'mtproto');
  t.is(parsed.mismatches.length, 0);
  const byName = new Map(parsed.entries.map((e) => [e.name, e]));
  t.is(byName.get('resPQ')!.id, 0x05162463);
  t.is(byName.get('msg_container')!.id, 0x73f1f8dc);
  t.false(byName.get('message')!.idGiven);
  t.is(byName.get('req_pq_multi')!.kind, 'method');
  t.is(byName.get('pong')!.kind, 'constructor');
});

test('a wrong id on any line is caught, with its line number', (t) => {
  const lines = mtprotoTl.split('\n');
  const rng = new Rng(5);
  let mutated = 0;
  for (const [i, line] of lines.entries()) {
    const m = /^([\w.]+)#([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const digit = rng.int(m[2].length);
    const flipped =
      m[2].slice(0, digit) +
      ((Number.parseInt(m[2][digit], 16) + 1) % 16).toString(16) +
      m[2].slice(digit + 1);
    const text = [...lines.slice(0, i), line.replace(`#${m[2]}`, `#${flipped}`), ...lines.slice(i + 1)].join(
      '\n',
    );
    const err = t.throws(() => parseTl(text, 'mtproto'), { instanceOf: TlParseError }, m[1]);
    t.is(err?.line, i + 1, m[1]);
    mutated++;
  }
  t.true(mutated > 40);
});

test('parser features: sections, comments, flags, flags2, vectors, bare types, generics', (t) => {
  const text = `
    // a comment; with a semicolon
    int ? = Int; long ? = Long; string ? = String;
    vector#1cb5c415 {t:Type} # [ t ] = Vector t;
    boolFalse#bc799737 = Bool; boolTrue#997275b5 = Bool; true#3fedd339 = True;
    /* block
       comment */
    point x:int y:int = Point;
    shape flags:# closed:flags.0?true points:flags.1?Vector<Point> raw:vector<%Point>
      flags2:# label:flags2.3?string = Shape;
    ---functions---
    wrap {X:Type} query:!X = X;
    shapes.get ids:Vector<long> = Vector<Shape>;
    ---types---
    empty = Empty;
  `;
  const parsed = parseTl(text, 'api');
  t.deepEqual(
    parsed.entries.map((e) => [e.kind, e.name]),
    [
      ['constructor', 'point'],
      ['constructor', 'shape'],
      ['method', 'wrap'],
      ['method', 'shapes.get'],
      ['constructor', 'empty'],
    ],
  );
  const shape = parsed.entries[1];
  t.is(shape.params.length, 6);
  t.is(shape.id, computeId('shape', [], shape.params, 'Shape'));
  // The normalized text drops flags.N?true and the braces of generics.
  t.is(parsed.entries[2].id, computeId('wrap', ['X'], [{ name: 'query', type: '!X' }], 'X'));

  const s = schemaFromTl({ api: text });
  const resolved = s.entries.find((e) => e.name === 'shape')!;
  t.deepEqual(
    resolved.params.map((p) => [p.jsName, p.isFlags, p.cond, p.type]),
    [
      ['flags', true, undefined, undefined],
      ['closed', false, { field: 'flags', bit: 0 }, { kind: 'true' }],
      [
        'points',
        false,
        { field: 'flags', bit: 1 },
        { kind: 'vector', boxed: true, of: { kind: 'boxed', type: 'Point' } },
      ],
      ['raw', false, undefined, { kind: 'vector', boxed: false, of: { kind: 'bare', ctor: 'point' } }],
      ['flags2', true, undefined, undefined],
      ['label', false, { field: 'flags2', bit: 3 }, { kind: 'scalar', name: 'string' }],
    ],
  );
  t.true(s.entries.find((e) => e.name === 'wrap')!.genericResult);
  t.throws(
    () => parseTl('a x:flags.0?int = A;', 'api').entries && schemaFromTl({ api: 'a x:flags.0?int = A;' }),
    {
      instanceOf: TlParseError,
    },
  );
  t.throws(() => schemaFromTl({ api: 'a x:Unknown = A;' }), {
    instanceOf: TlParseError,
    message: /unknown type/,
  });
  t.throws(() => parseTl('a x:int = A', 'api'), { instanceOf: TlParseError, message: /missing ';'/ });
});

test("mtcute's JSON schema: the loader reproduces every id but the legacy and mtcute's own", (t) => {
  const api = fromMtcuteJson(require('@mtcute/tl/api-schema.json'), 'api');
  const bad = api.entries
    .filter((e) => !idMatches(e.id, e.name, e.generics, e.params, e.result))
    .map((e) => e.name);
  t.deepEqual(bad, ['inputPeerPhotoFileLocationLegacy', 'inputStickerSetThumbLegacy']);
  t.is(api.layer, 223);
  const mtp = fromMtcuteJson(require('@mtcute/tl/mtp-schema.json'), 'mtproto');
  t.true(mtp.entries.every((e) => idMatches(e.id, e.name, e.generics, e.params, e.result)));
});

test('the bundled schema: one namespace, the MTProto message renamed mt_message', (t) => {
  t.is(schema.layer, 223);
  t.deepEqual(Object.fromEntries(schema.renames), {
    'mtproto:message': 'mt_message',
    'mtproto:Message': 'mt_Message',
  });
  const names = schema.entries.map((e) => e.name);
  t.is(new Set(names).size, names.length);
  for (const n of [
    'req_pq_multi',
    'resPQ',
    'p_q_inner_data_dc',
    'p_q_inner_data_temp_dc',
    'p_q_inner_data',
    'server_DH_params_ok',
    'server_DH_inner_data',
    'client_DH_inner_data',
    'set_client_DH_params',
    'dh_gen_ok',
    'dh_gen_retry',
    'dh_gen_fail',
    'req_DH_params',
    'msg_container',
    'rpc_result',
    'rpc_error',
    'msgs_ack',
    'bad_server_salt',
    'bad_msg_notification',
    'new_session_created',
    'pong',
    'future_salts',
    'gzip_packed',
    'invokeWithLayer',
    'initConnection',
    'message',
    'mt_message',
  ]) {
    t.true(names.includes(n), n);
  }
});

test("the generator builds another layer from raw .tl (GramJS's 198), and it round-trips", (t) => {
  const s = schemaFromTl({ api: apiTl, mtproto: mtprotoTl, layer: GRAMJS_LAYER });
  t.is(s.layer, GRAMJS_LAYER);
  const dir = mkdtempSync(join(tmpdir(), 'tl198-'));
  try {
    const files = generate(s, {
      runtimeImport: join(__dirname, '..', 'bindings', 'tl', 'runtime'),
      withIndex: true,
    });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const layer = require(join(dir, 'index.ts')) as { codec: TL.Codec; LAYER: number };
    t.is(layer.LAYER, GRAMJS_LAYER);
    t.is(layer.codec.idOf('message'), 0x96fdbbe9);
    const serialize = (o: Record<string, unknown>) => layer.codec.serialize(o as { _: string });
    const synth = new Synthesizer(s, serialize);
    const rng = new Rng(GRAMJS_LAYER);
    let n = 0;
    // An entry that reuses another's id decodes as the first (none in GramJS's text today).
    const firstWithId = new Map<number, string>();
    for (const e of s.entries) if (!firstWithId.has(e.id)) firstWithId.set(e.id, e.name);
    for (const e of s.entries) {
      if (e.name === 'gzip_packed' || firstWithId.get(e.id) !== e.name) continue;
      for (const mode of ['all', 'none'] as const) {
        const obj = synth.object(e, rng, { mode });
        const bytes = serialize(obj);
        let back: unknown;
        try {
          back = layer.codec.deserialize(bytes);
        } catch (err) {
          t.fail(`${e.name} (${mode}): ${(err as Error).message} ${bytes.toString('hex')}`);
          return;
        }
        t.deepEqual(back, obj, e.name);
        n++;
      }
    }
    t.true(n > 4000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
