// Typed errors of the reader and writer, gzip_packed, results that need their
// method (TL.deserializeResult), and rpc_error as typed RpcErrors.
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { updates } from '../bench/tl.bench';
import {
  FloodWaitError,
  MigrateError,
  RpcError,
  TL,
  TlBadValueError,
  TlError,
  TlGzipError,
  TlSerializeError,
  TlTooDeepError,
  TlTrailingBytesError,
  TlTruncatedError,
  TlUnexpectedConstructorError,
  TlUnknownConstructorError,
} from '../bindings';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

test('an unknown constructor id is a typed error with the id and its offset', (t) => {
  const top = t.throws(() => TL.deserialize(u32(0xdeadbeef)), { instanceOf: TlUnknownConstructorError });
  t.is(top.code, 'ERR_TL_UNKNOWN_CONSTRUCTOR');
  t.is(top.id, 0xdeadbeef);
  t.is(top.offset, 0);

  // Inside a vector of Update: updates#74ae4240, vector id, count, then the first update's id at 12.
  const bytes = TL.serialize(updates);
  const bad = Buffer.from(bytes);
  bad.writeUInt32LE(0x01020304, 12);
  const nested = t.throws(() => TL.deserialize(bad), { instanceOf: TlUnknownConstructorError });
  t.is(nested.id, 0x01020304);
  t.is(nested.offset, 12);

  // A known constructor of another type where an Update is expected.
  bad.writeUInt32LE(TL.idOf('inputPeerSelf')!, 12);
  const wrong = t.throws(() => TL.deserialize(bad), { instanceOf: TlUnexpectedConstructorError });
  t.is(wrong.code, 'ERR_TL_UNEXPECTED_CONSTRUCTOR');
  t.is(wrong.constructorName, 'inputPeerSelf');
  t.is(wrong.expected, 'Update');
  t.is(wrong.offset, 12);
});

test('every truncation of a message is a TlTruncatedError', (t) => {
  const bytes = TL.serialize(updates);
  for (let n = 0; n < bytes.length; n++) {
    const err = t.throws(
      () => TL.deserialize(bytes.subarray(0, n)),
      { instanceOf: TlTruncatedError },
      `at ${n}`,
    );
    if (err.code !== 'ERR_TL_TRUNCATED' || err.offset > n) t.fail(`prefix ${n}: ${err.message}`);
  }
});

test('trailing bytes, bad Bool and bad length prefixes are typed errors', (t) => {
  const pong = TL.serialize({ _: 'pong', msgId: 1n, pingId: 2n });
  const trailing = t.throws(() => TL.deserialize(Buffer.concat([pong, u32(0)])), {
    instanceOf: TlTrailingBytesError,
  });
  t.is(trailing.offset, pong.length);
  t.is(trailing.remaining, 4);
  t.deepEqual(TL.deserialize(Buffer.concat([pong, u32(0)]), { allowTrailing: true }), {
    _: 'pong',
    msgId: 1n,
    pingId: 2n,
  });

  // account.updateStatus#6628562c offline:Bool
  const status = TL.serialize({ _: 'account.updateStatus', offline: true });
  status.writeUInt32LE(0x12345678, 4);
  t.is(t.throws(() => TL.deserialize(status), { instanceOf: TlBadValueError }).code, 'ERR_TL_BAD_VALUE');

  const str = TL.serialize({ _: 'help.getCountriesList', langCode: 'en', hash: 0 });
  str[4] = 0xff;
  t.throws(() => TL.deserialize(str), { instanceOf: TlBadValueError });
});

test('gzip_packed is unpacked wherever an object is expected', (t) => {
  const inner = TL.serialize(updates);
  const packed = TL.gzipPack(inner);
  t.is(packed.readUInt32LE(0), 0x3072cfa1);
  const full = TL.deserialize(inner);
  t.deepEqual(TL.deserialize(packed), full);

  // In a typed field: updateShort#313bc7f8 update:Update date:int
  const update = (full as TL.Objects['updates']).updates[0];
  const short = Buffer.concat([u32(TL.idOf('updateShort')!), TL.gzipPack(TL.serialize(update)), u32(77)]);
  t.deepEqual(TL.deserialize(short), { _: 'updateShort', update, date: 77 });
  // An error inside the packed data points at the gzip_packed object.
  const packedCut = Buffer.concat([
    u32(TL.idOf('updateShort')!),
    TL.gzipPack(TL.serialize(update).subarray(0, 30)),
    u32(77),
  ]);
  t.like(
    t.throws(() => TL.deserialize(packedCut)),
    { code: 'ERR_TL_TRUNCATED', offset: 4 },
  );
  const packedUnknown = Buffer.concat([u32(TL.idOf('updateShort')!), TL.gzipPack(u32(0xdeadbeef)), u32(77)]);
  t.like(
    t.throws(() => TL.deserialize(packedUnknown)),
    { code: 'ERR_TL_UNKNOWN_CONSTRUCTOR', id: 0xdeadbeef, offset: 4 },
  );

  // As a result.
  t.deepEqual(TL.deserializeResult('messages.sendMessage', TL.gzipPack(inner)), full);

  const garbage = Buffer.concat([u32(0x3072cfa1), Buffer.from([8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0])]);
  t.is(t.throws(() => TL.deserialize(garbage), { instanceOf: TlGzipError }).code, 'ERR_TL_GZIP');

  // A gzip bomb: more than MAX_INFLATED once inflated.
  const big = gzipSync(Buffer.alloc(TL.MAX_INFLATED + 1));
  const w = new TL.TlWriter();
  w.ensure(4);
  w.u32(0x3072cfa1);
  w.bytes(big);
  t.throws(() => TL.deserialize(w.result()), { instanceOf: TlGzipError });
  // gzip_packed with its payload missing.
  t.throws(() => TL.deserialize(u32(0x3072cfa1)), { instanceOf: TlTruncatedError });
});

test('nesting deeper than the stack is TlTooDeepError', (t) => {
  // textConcat#7e6260d7 texts:Vector<RichText>, nested 200000 times.
  const level = Buffer.concat([u32(TL.idOf('textConcat')!), u32(0x1cb5c415), u32(1)]);
  const deep = Buffer.concat([...Array.from({ length: 200000 }, () => level), u32(TL.idOf('textEmpty')!)]);
  t.throws(() => TL.deserialize(deep), { instanceOf: TlTooDeepError });
});

test('objects that cannot be serialized throw TlSerializeError', (t) => {
  const cases: unknown[] = [
    { _: 'noSuchConstructor' },
    { _: 'pong', msgId: 1n }, // missing pingId
    { _: 'pong', msgId: 1, pingId: 2n }, // number for a long
    { _: 'messageEntityBold', offset: 'x', length: 1 },
    { _: 'req_pq_multi', nonce: Buffer.alloc(15) },
    { _: 'inputPeerUser', userId: 1n }, // missing accessHash
    { _: 'updates', updates: 'no', users: [], chats: [], date: 0, seq: 0 },
    { _: 'updateShort', update: null, date: 0 },
    null,
  ];
  for (const c of cases) {
    const err = t.throws(
      () => TL.serialize(c as TL.TlObject),
      { instanceOf: TlSerializeError },
      JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
    t.is(err?.code, 'ERR_TL_SERIALIZE');
  }
  const cyclic: Record<string, unknown> = { _: 'textConcat', texts: [] };
  (cyclic.texts as unknown[]).push(cyclic);
  t.throws(() => TL.serialize(cyclic as TL.TlObject), { instanceOf: TlSerializeError });
  // Every error is a TlError.
  t.true(new TlSerializeError('x') instanceof TlError);
});

test('results that do not describe themselves decode by method', (t) => {
  const ids = [1n, -2n, 2n ** 62n];
  const bytes = TL.serializeResult('photos.deletePhotos', ids);
  t.deepEqual(bytes.subarray(0, 8), Buffer.concat([u32(0x1cb5c415), u32(3)]));
  t.is(bytes.length, 8 + 3 * 8);
  t.deepEqual(TL.deserializeResult('photos.deletePhotos', bytes), ids);
  t.deepEqual(
    TL.deserializeResult('contacts.getContactIDs', TL.serializeResult('contacts.getContactIDs', [5, 6])),
    [5, 6],
  );
  t.is(TL.deserializeResult('account.updateStatus', TL.serializeResult('account.updateStatus', true)), true);
  t.deepEqual(TL.serializeResult('account.updateStatus', false), u32(0xbc799737));

  // invokeWithLayer(initConnection(help.getConfig)) answers with a Config.
  const request: TL.Objects['invokeWithLayer'] = {
    _: 'invokeWithLayer',
    layer: TL.LAYER,
    query: {
      _: 'initConnection',
      apiId: 1,
      deviceModel: 'test',
      systemVersion: '1',
      appVersion: '1',
      systemLangCode: 'en',
      langPack: '',
      langCode: 'en',
      query: { _: 'help.getNearestDc' },
    },
  };
  const nearest = { _: 'nearestDc', country: 'NL', thisDc: 2, nearestDc: 4 } as const;
  const r = TL.deserializeResult(request, TL.serializeResult(request, nearest));
  t.deepEqual(r, nearest);
  t.is(TL.deserialize(TL.serialize(request))._, 'invokeWithLayer');

  t.is(
    t.throws(() => TL.deserializeResult('no.such' as TL.MethodName, u32(0)))?.code,
    'ERR_TL_UNKNOWN_METHOD',
  );
  t.throws(() => TL.deserializeResult('photos.deletePhotos', bytes.subarray(0, 12)), {
    instanceOf: TlTruncatedError,
  });
});

test('an rpc_error result throws a typed RpcError', (t) => {
  const rpcError = (code: number, message: string) =>
    TL.serialize({ _: 'rpc_error', errorCode: code, errorMessage: message });

  const flood = t.throws(() => TL.deserializeResult('messages.sendMessage', rpcError(420, 'FLOOD_WAIT_30')), {
    instanceOf: FloodWaitError,
  });
  t.like(flood, {
    code: 420,
    type: 'FLOOD_WAIT_X',
    errorMessage: 'FLOOD_WAIT_30',
    kind: 'wait',
    seconds: 30,
  });
  t.true(flood instanceof RpcError);

  const migrate = t.throws(() => TL.deserializeResult('auth.sendCode', rpcError(303, 'PHONE_MIGRATE_4')), {
    instanceOf: MigrateError,
  });
  t.like(migrate, { code: 303, type: 'PHONE_MIGRATE_X', kind: 'migrate', dcId: 4 });

  // Also when gzip-packed.
  t.throws(() => TL.deserializeResult('help.getConfig', TL.gzipPack(rpcError(400, 'PEER_ID_INVALID'))), {
    instanceOf: RpcError,
    message: /^400 PEER_ID_INVALID: /,
  });
});

test('RPC error names parse against the catalog', (t) => {
  const cases: [string, Partial<RpcError>][] = [
    ['FLOOD_WAIT_5', { kind: 'wait', seconds: 5, type: 'FLOOD_WAIT_X' }],
    ['FLOOD_PREMIUM_WAIT_7', { kind: 'wait', seconds: 7, type: 'FLOOD_PREMIUM_WAIT_X' }],
    ['SLOWMODE_WAIT_60', { kind: 'wait', seconds: 60, type: 'SLOWMODE_WAIT_X' }],
    ['2FA_CONFIRM_WAIT_604800', { kind: 'wait', seconds: 604800, type: '2FA_CONFIRM_WAIT_X' }],
    ['TAKEOUT_INIT_DELAY_3600', { kind: 'wait', seconds: 3600 }],
    ['PREVIOUS_CHAT_IMPORT_ACTIVE_WAIT_5MIN', { kind: 'wait', seconds: 300 }],
    ['PHONE_MIGRATE_2', { kind: 'migrate', dcId: 2 }],
    ['USER_MIGRATE_3', { kind: 'migrate', dcId: 3 }],
    ['NETWORK_MIGRATE_1', { kind: 'migrate', dcId: 1 }],
    ['FILE_MIGRATE_5', { kind: 'migrate', dcId: 5, type: 'FILE_MIGRATE_X' }],
    ['STATS_MIGRATE_4', { kind: 'migrate', dcId: 4 }],
    ['INTERDC_2_CALL_ERROR', { kind: 'plain', dcId: 2, type: 'INTERDC_X_CALL_ERROR' }],
    ['FILE_PART_3_MISSING', { kind: 'plain', value: 3, type: 'FILE_PART_X_MISSING' }],
    ['PEER_ID_INVALID', { kind: 'plain', type: 'PEER_ID_INVALID' }],
    ['SOMETHING_NEW', { kind: 'plain', type: 'SOMETHING_NEW', description: undefined }],
    // Not in the catalog, but the two families every client must handle still parse.
    ['FOO_MIGRATE_9', { kind: 'migrate', dcId: 9, type: 'FOO_MIGRATE_X' }],
    ['BAR_WAIT_11', { kind: 'wait', seconds: 11 }],
  ];
  for (const [message, expected] of cases) {
    const e = RpcError.from(400, message);
    t.like(e, expected, message);
    t.is(e instanceof FloodWaitError, expected.kind === 'wait', message);
    t.is(e instanceof MigrateError, expected.kind === 'migrate', message);
  }
  t.truthy(RpcError.from(400, 'PEER_ID_INVALID').description);
});

test('service messages: msg_container of sized messages, rpc_result keeps its raw result', (t) => {
  const pong = { _: 'pong', msgId: 10n, pingId: 20n } as const;
  const result = TL.serializeResult('photos.deletePhotos', [7n]);
  const container: TL.Objects['msg_container'] = {
    _: 'msg_container',
    messages: [
      { _: 'mt_message', msgId: 101n, seqno: 1, body: { _: 'rpc_result', reqMsgId: 99n, result } },
      { _: 'mt_message', msgId: 102n, seqno: 3, body: pong },
    ],
  };
  const bytes = TL.serialize(container);
  // msg_container#73f1f8dc, count, then msg_id, seqno, bytes, body for each.
  t.is(bytes.readUInt32LE(0), 0x73f1f8dc);
  t.is(bytes.readUInt32LE(4), 2);
  t.is(bytes.readBigInt64LE(8), 101n);
  t.is(bytes.readInt32LE(16), 1);
  const firstLen = bytes.readInt32LE(20);
  t.is(firstLen, 4 + 8 + result.length);
  t.is(bytes.readUInt32LE(24), 0xf35c6d01);
  // Bodies may be given already serialized.
  const preSerialized = container.messages.map((m) => ({
    ...m,
    body: TL.serialize(m.body) as unknown as TL.TlObject,
  }));
  t.deepEqual(TL.serialize({ _: 'msg_container', messages: preSerialized }), bytes);
  const back = TL.deserialize(bytes) as TL.Objects['msg_container'];
  t.is(back.messages[0].bytes, firstLen);
  t.is(back.messages[1].bytes, 20);
  const rpc = back.messages[0].body as TL.Objects['rpc_result'];
  t.deepEqual(rpc.result, result);
  t.deepEqual(TL.deserializeResult('photos.deletePhotos', rpc.result), [7n]);
  t.deepEqual(back.messages[1].body, pong);

  // A body whose length field disagrees with its content is rejected.
  const bad = Buffer.from(bytes);
  bad.writeInt32LE(firstLen - 4, 20);
  t.throws(() => TL.deserialize(bad), { instanceOf: TlError });
});

test('service messages decode to their fields', (t) => {
  const objects: TL.TlObject[] = [
    { _: 'msgs_ack', msgIds: [1n, 2n] },
    { _: 'bad_server_salt', badMsgId: 5n, badMsgSeqno: 2, errorCode: 48, newServerSalt: -9n },
    { _: 'bad_msg_notification', badMsgId: 5n, badMsgSeqno: 2, errorCode: 16 },
    { _: 'new_session_created', firstMsgId: 1n, uniqueId: 2n, serverSalt: 3n },
    { _: 'pong', msgId: 1n, pingId: 2n },
    {
      _: 'future_salts',
      reqMsgId: 1n,
      now: 100,
      salts: [
        { _: 'future_salt', validSince: 1, validUntil: 2, salt: 3n },
        { _: 'future_salt', validSince: 2, validUntil: 3, salt: 4n },
      ],
    },
    { _: 'rpc_error', errorCode: 420, errorMessage: 'FLOOD_WAIT_3' },
    { _: 'ping_delay_disconnect', pingId: 1n, disconnectDelay: 75 },
    { _: 'get_future_salts', num: 3 },
    { _: 'destroy_session', sessionId: 8n },
  ];
  for (const o of objects) t.deepEqual(TL.deserialize(TL.serialize(o)), o, o._);
  // future_salts holds a bare vector: count then the salts without their ids.
  const fs = TL.serialize(objects[5]);
  t.is(fs.readUInt32LE(16), 2);
  t.is(fs.length, 4 + 8 + 4 + 4 + 2 * 16);
});
