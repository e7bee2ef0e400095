// Peers over real sockets (issue #14): a bot session with `peers` on TestDc, which checks
// access hashes as Telegram does. The bot answers 10,000 users it saw only in updates
// (half in private chats, where the push carries the full user; half in a supergroup,
// where it carries the sender as a min user) by their bare ids: no PEER_ID_INVALID.
// Also: resolution by username and id through the server, a wrong hash refused, the
// store surviving a restart through SQLite, and PeerError for a peer no one knows.

import test from 'ava';
import { PeerError, SessionRegistry, SqliteStorage, type TL } from '../bindings';
import { TestDc } from '../bindings/testing';
import { API, until } from './updates-scenario';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

let phones = 0;
const phone = () => `+1666${String(process.pid % 1000).padStart(3, '0')}${String(++phones).padStart(6, '0')}`;

async function bot(reg: SessionRegistry, extra: Record<string, unknown> = {}, client?: (e: unknown) => void) {
  const account = dc.accounts.addBot();
  const id = await reg.open(2, client as never, {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    init: { apiId: API.apiId },
    peers: true,
    ...extra,
  });
  await reg.loginBot(id, account.token!, API);
  return { account, id };
}

test.serial(
  'a bot answers 10,000 users seen only in updates (full and min), by id: no PEER_ID_INVALID',
  async (t) => {
    const reg = new SessionRegistry();
    const senders: bigint[] = [];
    const { account, id } = await bot(reg, {}, (e) => {
      const ev = e as { kind: string; update: TL.Types['Updates'] };
      if (ev.kind !== 'update' || ev.update._ !== 'updates') return;
      for (const u of ev.update.updates) {
        if ((u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage') && u.message._ === 'message') {
          const from = u.message.fromId;
          if (from?._ === 'peerUser' && from.userId !== account.id) senders.push(from.userId);
        }
      }
    });
    try {
      const group = dc.updates.addChannel({ members: [account.id] });
      const users = Array.from({ length: 10_000 }, () => dc.accounts.addUser({ phone: phone() }));
      for (const [i, u] of users.entries()) {
        if (i % 2 === 0) dc.updates.newMessage(account.id, { peer: u.id, text: `hi ${i}` });
        else {
          group.members.add(u.id);
          dc.updates.newChannelMessage(group, { from: u.id, text: `hello ${i}` });
        }
      }
      t.true(await until(() => senders.length >= 10_000, 60_000), `updates seen: ${senders.length}`);
      const errors: Record<string, number> = {};
      let sent = 0;
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < senders.length) {
            const userId = senders[next++];
            try {
              // A bare id: the session's peer store puts the hash (or the message) in.
              await reg.call(id, 'messages.sendMessage', {
                peer: userId as never,
                message: 'thanks',
                randomId: BigInt(next),
              });
              sent++;
            } catch (e) {
              const code =
                (e as { errorMessage?: string; code?: string }).errorMessage ?? String((e as Error).message);
              errors[code] = (errors[code] ?? 0) + 1;
            }
          }
        }),
      );
      t.deepEqual(errors, {});
      t.is(sent, 10_000);
      // Half of them were only ever seen as min users: answered through their group message.
      const store = reg.peers(id)?.store;
      const min = users.filter((u) => store?.peek(u.id)?.min).length;
      t.is(min, 5_000);
      t.is(
        reg.peers(id)?.resolver?.calls['users.getUsers'] ?? 0,
        0,
        'no lookups: every hash came from updates',
      );
      t.log(
        `10,000 answers in ${Date.now() - started} ms; store: ${JSON.stringify(reg.peers(id)?.store?.stats)}`,
      );
    } finally {
      await reg.close(id);
    }
  },
);

test.serial('a min sender is addressed through its message; its min hash is refused', async (t) => {
  const reg = new SessionRegistry();
  const { account, id } = await bot(reg);
  try {
    const group = dc.updates.addChannel({ members: [account.id] });
    const u = dc.accounts.addUser({ phone: phone(), username: `minUser${phones}` });
    group.members.add(u.id);
    dc.updates.newChannelMessage(group, { from: u.id, text: 'hello' });
    const peers = reg.peers(id)!;
    t.true(await until(() => peers.store?.peek(u.id) !== undefined, 5000));
    const stored = peers.store!.peek(u.id)!;
    t.true(stored.min);
    t.not(stored.accessHash, u.accessHash);
    const input = await reg.resolvePeer(id, u.id);
    t.like(input, {
      _: 'inputPeerUserFromMessage',
      userId: u.id,
      peer: { _: 'inputPeerChannel', channelId: group.id },
    });
    // The min hash itself does not address the user (api/min).
    const wrong = { _: 'inputPeerUser' as const, userId: u.id, accessHash: stored.accessHash! };
    const e = await t.throwsAsync(
      reg.call(id, 'messages.sendMessage', { peer: wrong, message: 'x', randomId: 1n }),
    );
    t.is((e as { errorMessage?: string }).errorMessage, 'PEER_ID_INVALID');
    // users.getUsers through the message gives the full user: the store now has the real hash.
    await reg.call(id, 'users.getUsers', { id: [await reg.resolvePeer(id, u.id, 'user')] });
    t.like(peers.store!.peek(u.id), { min: false, accessHash: u.accessHash });
    // ... and a later min sighting does not take it away.
    dc.updates.newChannelMessage(group, { from: u.id, text: 'again' });
    await new Promise((r) => setTimeout(r, 100));
    t.like(peers.store!.peek(u.id), { min: false, accessHash: u.accessHash });
    t.like(await reg.resolvePeer(id, u.id), { _: 'inputPeerUser', accessHash: u.accessHash });
  } finally {
    await reg.close(id);
  }
});

test.serial(
  'resolution through the server: username, channel by id; unknown peers and bad refs are typed',
  async (t) => {
    const reg = new SessionRegistry();
    const { account, id } = await bot(reg);
    try {
      const u = dc.accounts.addUser({ phone: phone(), username: `Someone${phones}` });
      const ch = dc.updates.addChannel({ members: [account.id], username: `news${phones}`, broadcast: true });
      t.like(await reg.resolvePeer(id, `@someone${phones}`), {
        _: 'inputPeerUser',
        userId: u.id,
        accessHash: u.accessHash,
      });
      t.like(await reg.resolvePeer(id, `t.me/NEWS${phones}`, 'channel'), {
        _: 'inputChannel',
        channelId: ch.id,
        accessHash: ch.accessHash,
      });
      t.is(reg.peers(id)?.resolver?.calls['contacts.resolveUsername'], 2);
      // Known now: no second lookup.
      await reg.resolvePeer(id, `someone${phones}`);
      t.is(reg.peers(id)?.resolver?.calls['contacts.resolveUsername'], 2);
      // By bare id through call(): the store has it.
      const r = await reg.call(id, 'messages.sendMessage', {
        peer: -(1_000_000_000_000n + ch.id) as never,
        message: 'post',
        randomId: 5n,
      });
      t.is(r._, 'updates');
      // Unknown: typed errors, nothing sent.
      const before = dc.executions('messages.sendMessage').length;
      const e1 = await t.throwsAsync(
        reg.call(id, 'messages.sendMessage', { peer: 123456789n as never, message: 'x', randomId: 6n }),
      );
      t.true(e1 instanceof PeerError);
      t.is((e1 as PeerError).code, 'PEER_UNKNOWN');
      const e2 = await t.throwsAsync(reg.resolvePeer(id, '@nobody_here_at_all'));
      t.is((e2 as PeerError).code, 'PEER_UNKNOWN');
      const e3 = await t.throwsAsync(reg.resolvePeer(id, { _: 'photo' }));
      t.is((e3 as PeerError).code, 'PEER_REF_INVALID');
      const e4 = await t.throwsAsync(reg.resolvePeer(id, -(1_000_000_000_000n + ch.id), 'user'));
      t.is((e4 as PeerError).code, 'PEER_KIND_MISMATCH');
      t.is(dc.executions('messages.sendMessage').length, before);
      // A session without peers keeps the schema's types: no substitution, no store.
      const plain = new SessionRegistry();
      const { id: p } = await bot(plain, { peers: false });
      t.is(plain.peers(p), null);
      await t.throwsAsync(plain.resolvePeer(p, u.id), { code: 'BAD_OPTIONS' });
      await plain.close(p);
    } finally {
      await reg.close(id);
    }
  },
);

test.serial(
  'peers inside objects are resolved too: a reply to another chat, a keyboard button, a mention entity',
  async (t) => {
    const reg = new SessionRegistry();
    const { account, id } = await bot(reg);
    const seen: Record<string, unknown>[] = [];
    dc.handle('messages.sendMessage', (req) => {
      seen.push(req as unknown as Record<string, unknown>);
      return { _: 'updateShortSentMessage' as const, out: true, id: 1, pts: 1, ptsCount: 1, date: 0 };
    });
    try {
      const u = dc.accounts.addUser({ phone: phone(), username: `Nested${phones}` });
      const ch = dc.updates.addChannel({ members: [account.id], username: `nestedch${phones}` });
      await reg.resolvePeer(id, `@nested${phones}`);
      await reg.resolvePeer(id, `@nestedch${phones}`);
      const markedChannel = -(1_000_000_000_000n + ch.id);
      const params = {
        peer: u.id,
        message: 'see @someone',
        randomId: 77n,
        replyTo: { _: 'inputReplyToMessage', replyToMsgId: 5, replyToPeerId: markedChannel },
        replyMarkup: {
          _: 'replyInlineMarkup',
          rows: [
            {
              _: 'keyboardButtonRow',
              buttons: [
                { _: 'keyboardButtonUrl', text: 'site', url: 'https://example.com' },
                { _: 'inputKeyboardButtonUserProfile', text: 'profile', userId: u.id },
              ],
            },
          ],
        },
        entities: [
          { _: 'messageEntityBold', offset: 0, length: 3 },
          { _: 'inputMessageEntityMentionName', offset: 4, length: 8, userId: `@nested${phones}` },
        ],
      };
      await reg.call(id, 'messages.sendMessage', params as never);
      const got = seen.at(-1) as unknown as {
        peer: unknown;
        replyTo: { replyToPeerId: unknown; replyToMsgId: number };
        replyMarkup: { rows: Array<{ buttons: Array<{ userId?: unknown; url?: string }> }> };
        entities: Array<{ _: string; userId?: unknown }>;
      };
      const inputUser = { _: 'inputUser', userId: u.id, accessHash: u.accessHash };
      t.like(got.peer, { _: 'inputPeerUser', userId: u.id, accessHash: u.accessHash });
      t.like(got.replyTo.replyToPeerId, {
        _: 'inputPeerChannel',
        channelId: ch.id,
        accessHash: ch.accessHash,
      });
      t.is(got.replyTo.replyToMsgId, 5);
      t.like(got.replyMarkup.rows[0].buttons[1].userId, inputUser);
      t.is(got.replyMarkup.rows[0].buttons[0].url, 'https://example.com');
      t.like(got.entities[1].userId, inputUser);
      t.is(got.entities[0]._, 'messageEntityBold');
      // The caller's objects are not changed (copies are made on the way down).
      t.is(params.replyTo.replyToPeerId, markedChannel);
      t.is(params.replyMarkup.rows[0].buttons[1].userId, u.id);
      // A peer nobody knows, deep inside: typed, and nothing is sent.
      const before = seen.length;
      const e = await t.throwsAsync(
        reg.call(id, 'messages.sendMessage', {
          ...params,
          replyTo: { _: 'inputReplyToMessage', replyToMsgId: 5, replyToPeerId: 987654321n },
        } as never),
      );
      t.is((e as PeerError).code, 'PEER_UNKNOWN');
      t.is(seen.length, before);
    } finally {
      dc.unhandle('messages.sendMessage');
      await reg.close(id);
    }
  },
);

test.serial('peers written to SQLite in batches come back after a restart', async (t) => {
  const path = `/tmp/tmt-peers-${process.pid}-${Date.now()}.db`;
  const storage = new SqliteStorage({ path });
  const account = dc.accounts.addBot();
  const name = `peer-bot-${account.id}`;
  const open = async (reg: SessionRegistry) => {
    const id = await reg.open(2, undefined, {
      address: { host: dc.host, port: dc.port },
      rsaKeys: [dc.rsaPublicKey.pem],
      init: { apiId: API.apiId },
      name,
      storage,
      peers: { flushDelayMs: 20 },
    });
    return id;
  };
  const reg = new SessionRegistry();
  const id = await open(reg);
  await reg.loginBot(id, account.token!, API);
  const users = Array.from({ length: 300 }, () => dc.accounts.addUser({ phone: phone() }));
  for (const u of users) dc.updates.newMessage(account.id, { peer: u.id, text: 'hi' });
  t.true(await until(() => (reg.peers(id)?.store?.stats.changed ?? 0) >= 300, 10_000));
  // Written in batches within flushDelayMs, without waiting for close.
  // 300 users and the bot itself (auth.authorization's user).
  for (let i = 0; i < 100 && (await storage.countPeers(name)) < 301; i++)
    await new Promise((r) => setTimeout(r, 20));
  t.is(await storage.countPeers(name), 301);
  await reg.close(id);
  // A new process (a new registry and cache entries dropped): the hashes come from SQLite.
  const again = new SessionRegistry();
  const id2 = await open(again);
  t.is(again.peers(id2)?.store?.cached, 0);
  for (const u of users.slice(0, 20)) {
    const r = await again.call(id2, 'messages.sendMessage', {
      peer: u.id as never,
      message: 'back',
      randomId: u.id,
    });
    t.is(r._, 'updateShortSentMessage');
  }
  t.is(again.peers(id2)?.resolver?.calls['users.getUsers'] ?? 0, 0);
  await again.close(id2);
  await storage.close();
});

test.serial(
  'with the update engine: users whose pushes were lost, met only in a difference, are answered by id',
  async (t) => {
    const reg = new SessionRegistry();
    const senders: bigint[] = [];
    const { account, id } = await bot(reg, { updates: { catchUp: true } }, (e) => {
      const ev = e as { kind: string; update?: { update: TL.Types['Update'] } };
      if (ev.kind !== 'delivered' || !ev.update) return;
      const u = ev.update.update;
      if ((u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage') && u.message._ === 'message') {
        const from = u.message.fromId ?? u.message.peerId;
        if (from?._ === 'peerUser' && from.userId !== account.id) senders.push(from.userId);
      }
    });
    try {
      const group = dc.updates.addChannel({ members: [account.id] });
      // The engine meets the channel first (a channel's updates before it was ever seen are
      // not the engine's to know: bindings/updates/README.md).
      const first = dc.accounts.addUser({ phone: phone() });
      group.members.add(first.id);
      dc.updates.newChannelMessage(group, { from: first.id, text: 'first' });
      t.true(await until(() => senders.length === 1, 10_000));
      senders.length = 0;
      // Every push is lost: the updates only come back in getDifference / getChannelDifference.
      dc.updates.setFaults({ drop: 1 });
      const users = Array.from({ length: 200 }, () => dc.accounts.addUser({ phone: phone() }));
      for (const [i, u] of users.entries()) {
        if (i % 2 === 0) dc.updates.newMessage(account.id, { peer: u.id, text: `hi ${i}` });
        else {
          group.members.add(u.id);
          dc.updates.newChannelMessage(group, { from: u.id, text: `hello ${i}` });
        }
      }
      dc.updates.setFaults({});
      // A reconnect: getDifference, which names the channel (updateChannelTooLong), then its difference.
      dc.dropConnections();
      t.true(await until(() => senders.length >= 200, 20_000), `delivered: ${senders.length}`);
      const errors: string[] = [];
      for (const [i, userId] of senders.entries()) {
        await reg
          .call(id, 'messages.sendMessage', {
            peer: userId as never,
            message: 'ok',
            randomId: BigInt(50_000 + i),
          })
          .catch((e) => errors.push((e as { errorMessage?: string }).errorMessage ?? String(e)));
      }
      t.deepEqual(errors, []);
      t.is(reg.peers(id)?.resolver?.calls['users.getUsers'] ?? 0, 0);
      // The channel difference carried its senders as min users: addressed through their messages.
      const store = reg.peers(id)?.store;
      t.is(users.filter((u) => store?.peek(u.id)?.min).length, 100);
    } finally {
      await reg.close(id);
    }
  },
);
