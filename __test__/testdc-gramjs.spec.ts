// Proof with a real peer: GramJS (npm `telegram`), an independent MTProto client, talks to
// TestDc: it creates an auth key (RSA_PAD with p_q_inner_data), sends
// invokeWithLayer(initConnection(help.getConfig)), calls help.getConfig and a method
// whose handler the test registers, over every TCP transport GramJS has, and follows
// a USER_MIGRATE_X between the DCs of a TestWorld.

import test from 'ava';
import bigInt from 'big-integer';
import { Api } from 'telegram';
import { ConnectionTCPAbridged, ConnectionTCPFull, ConnectionTCPObfuscated } from 'telegram/network';
import { TestDc, TestWorld } from '../bindings/testing';
import { type ConnectionClass, gramjsClient, toTestPorts, trust } from './gramjs-support';

let dc: TestDc;
let calls = 0;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  trust(dc.rsaPublicKey);
  // GramJS speaks layer 198, TestDc's schema is layer 223: a method whose constructor did
  // not change between them (messages.sendMessage did: it would get INPUT_METHOD_INVALID).
  dc.handle('updates.getState', (_req, ctx) => {
    calls++;
    if (calls === 2) return ctx.rpcError(400, 'PERSISTENT_TIMESTAMP_EMPTY');
    return {
      _: 'updates.state',
      pts: 10 + calls,
      qts: 0,
      date: Math.floor(Date.now() / 1000),
      seq: 1,
      unreadCount: 0,
    };
  });
});
test.after.always(async () => {
  await dc?.stop();
});

const TRANSPORTS: Array<[string, ConnectionClass]> = [
  ['full', ConnectionTCPFull],
  ['abridged', ConnectionTCPAbridged],
  ['obfuscated2 (intermediate)', ConnectionTCPObfuscated],
];

for (const [name, base] of TRANSPORTS) {
  test.serial(
    `GramJS over ${name}: auth key, initConnection, help.getConfig, a registered handler`,
    async (t) => {
      const keys = dc.stats.authKeysCreated;
      calls = 0;
      const c = gramjsClient(
        2,
        toTestPorts(() => dc.port, base),
      );
      try {
        t.true(await c.connect());
        t.true(dc.stats.authKeysCreated > keys, 'GramJS created a key with TestDc');
        const created = dc.authKeys().at(-1)!;
        t.like(created, { source: 'handshake', innerData: 'p_q_inner_data', rsaScheme: 'pad' });
        // Its key is ours, byte for byte.
        t.deepEqual(dc.authKey(created.authKeyId), c.session.getAuthKey()!.getKey());

        const config = await c.invoke(new Api.help.GetConfig());
        t.is(config.thisDc, 2);
        t.false(config.testMode);
        t.true(config.expires > config.date);
        t.deepEqual(
          config.dcOptions.map((o) => [o.id, o.ipAddress, o.port]),
          [[2, '127.0.0.1', dc.port]],
        );

        const session = dc.sessions().find((s) => s.authKeyId === created.authKeyId)!;
        t.is(session.initConnection?.apiId, 12345);
        t.is(session.initConnection?.deviceModel, 'ava');
        t.is(session.initConnection?.langCode, 'en');
        t.true((session.layer ?? 0) > 150, 'invokeWithLayer seen');

        const state = await c.invoke(new Api.updates.GetState());
        t.true(state instanceof Api.updates.State);
        t.true(state.pts > 10);
        const err = await t.throwsAsync(c.invoke(new Api.updates.GetState()));
        t.regex(err!.message, /PERSISTENT_TIMESTAMP_EMPTY/);
        // A method of layer 198 whose constructor changed by layer 223 is not ours.
        const old = await t.throwsAsync(
          c.invoke(
            new Api.messages.SendMessage({
              peer: new Api.InputPeerSelf(),
              message: 'hi',
              randomId: bigInt(7),
            }),
          ),
        );
        t.regex(old!.message, /INPUT_METHOD_INVALID/);
        t.is(dc.stats.duplicates, 0);
        // GramJS starts with salt 0 (not new_nonce ^ server_nonce): one bad_server_salt per
        // key, as Telegram sends. It breaks no other rule of the strict server.
        t.deepEqual(Object.keys(dc.stats.rejected), ['48']);
        t.true(dc.executions('updates.getState').length >= 2);
      } finally {
        await c.destroy();
      }
    },
  );
}

test.serial('GramJS follows USER_MIGRATE_3 from DC 2 to DC 3 of a TestWorld', async (t) => {
  const world = await TestWorld.start({ dcs: [1, 2, 3], rsaKey: 'shared' });
  trust(world.rsaPublicKey);
  world.dc(2).migrate('help.getNearestDc', 'USER', 3);
  world.dc(3).handle('help.getNearestDc', () => ({ _: 'nearestDc', country: 'ZZ', thisDc: 3, nearestDc: 3 }));
  const c = gramjsClient(
    2,
    toTestPorts((id) => world.dc(id).port),
  );
  try {
    await c.connect();
    const config = await c.invoke(new Api.help.GetConfig());
    t.deepEqual(
      config.dcOptions.map((o) => o.id),
      [1, 2, 3],
    );
    const nearest = await c.invoke(new Api.help.GetNearestDc());
    t.is(nearest.thisDc, 3, 'answered by DC 3 after the migration');
    t.is(c.session.dcId, 3);
    t.is(world.dc(3).stats.authKeysCreated, 1, 'a new key on DC 3');
    t.is(world.dc(2).stats.injectedErrors, 1);
  } finally {
    await c.destroy();
    await world.stop();
  }
});
