// Calls that name another DC (`CallOptions.dc`, what FILE_MIGRATE_X asks for) over
// real sockets against a TestWorld: the session connects there on first use, with the
// authorization it has at home (exported and imported), on a key of that DC that a
// stored session keeps; the connection asks for no updates.

import test from 'ava';
import { MemoryStorage, SessionRegistry } from '../bindings';
import { TestWorld } from '../bindings/testing';

let world: TestWorld;

test.before(async () => {
  world = await TestWorld.start({ dcs: [2, 4], rsaKey: 'shared' });
  for (const id of [2, 4]) {
    world.dc(id).handle('help.getPromoData', (_req, ctx) => {
      // Answers who the caller is there: authorization moved with the call.
      return { _: 'help.promoDataEmpty', expires: Number(ctx.userId ?? 0n) };
    });
  }
});
test.after.always(async () => {
  await world?.stop();
});

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

test('a call on DC 4 from a session of DC 2: connected there on first use, authorized as at home, once', async (t) => {
  const bot = world.accounts.addBot({ homeDcId: 2 });
  const storage = new MemoryStorage();
  const reg = new SessionRegistry();
  const dc2 = world.dc(2);
  const id = await reg.open(2, undefined, {
    address: { host: dc2.host, port: dc2.port },
    rsaKeys: [dc2.rsaPublicKey.pem],
    init: { apiId: API.apiId },
    name: 'files-bot',
    storage,
  });
  await reg.loginBot(id, bot.token as string, API);
  const there = await reg.call(id, 'help.getNearestDc', {}, { dc: 4 });
  t.is(there.thisDc, 4);
  const who = (await reg.call(id, 'help.getPromoData', {}, { dc: 4 })) as { expires: number };
  t.is(BigInt(who.expires), bot.id, 'the bot is logged in on DC 4 too');
  t.is(world.dc(4).executions('auth.importAuthorization').length, 1, 'authorized once');
  await Promise.all([1, 2, 3].map(() => reg.call(id, 'help.getNearestDc', {}, { dc: 4 })));
  t.is(world.dc(4).executions('auth.importAuthorization').length, 1, 'the connection is reused');
  t.is((await reg.call(id, 'help.getNearestDc', {})).thisDc, 2, 'home is still DC 2');
  // DC 4's key went to the stored record, beside DC 2's.
  const rec = await storage.load('files-bot');
  t.truthy(rec?.authKeys[4]);
  // DC 4 pushes no updates to this session: its connection asked for none.
  t.is(world.dc(4).pushUpdate({ userId: bot.id }, { _: 'updatesTooLong' }), 0);
  t.is(world.dc(2).pushUpdate({ userId: bot.id }, { _: 'updatesTooLong' }), 1);
  await reg.close(id);
});

test('a call on the home DC through `dc` goes on the home connections', async (t) => {
  const reg = new SessionRegistry();
  const dc2 = world.dc(2);
  const id = await reg.open(2, undefined, {
    address: { host: dc2.host, port: dc2.port },
    rsaKeys: [dc2.rsaPublicKey.pem],
  });
  const before = dc2.stats.connections;
  t.is((await reg.call(id, 'help.getNearestDc', {}, { dc: 2 })).thisDc, 2);
  t.is(dc2.stats.connections, before);
  await reg.close(id);
});
