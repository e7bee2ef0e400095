// A TestDc in a child process that pushes updates (bench/peers.bench.ts): the session's CPU
// per received update is then measured alone (the server's encryption runs elsewhere, as a
// real DC's does). The child registers one key logged in as a user, and on { push: n }
// pushes n `updates` (a new message with its sender, a full user of USERS) to that user's
// sessions, one packet each, then answers { pushed: n }.

import { randomBytes } from 'node:crypto';
import type { TL } from '../dist';
import { TestDc } from '../dist/testing';
import { serialize } from '../dist/tl';
import { forkChild } from './child';

const USER = 4242n;
const USERS = 1000;

export interface PushDc {
  host: string;
  port: number;
  pem: string;
  authKey: Buffer;
  salt: bigint;
  userId: bigint;
  push(n: number): Promise<void>;
  stop(): Promise<void>;
}

export async function forkedPushDc(): Promise<PushDc> {
  const child = forkChild(__filename, '--peers-push-child', 'push DC');
  const info = await child.next<{ host: string; port: number; pem: string; authKey: string; salt: string }>();
  return {
    host: info.host,
    port: info.port,
    pem: info.pem,
    authKey: Buffer.from(info.authKey, 'hex'),
    salt: BigInt(info.salt),
    userId: USER,
    push: async (n) => void (await child.ask<{ pushed: number }>({ push: n })),
    stop: child.stop,
  };
}

/** A push as a bot gets it: `updates` with one new message and its sender (a full user). */
export function messagePush(pts: number, userId: bigint, username: string): TL.Types['Updates'] {
  return {
    _: 'updates',
    updates: [
      {
        _: 'updateNewMessage',
        pts,
        ptsCount: 1,
        message: {
          _: 'message',
          id: pts,
          fromId: { _: 'peerUser', userId },
          peerId: { _: 'peerUser', userId },
          date: 1000,
          message: 'hi',
        },
      },
    ],
    users: [{ _: 'user', id: userId, accessHash: userId * 31n, firstName: 'U', username }],
    chats: [],
    date: 1000,
    seq: 0,
  };
}

async function childMain(): Promise<void> {
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  const authKey = randomBytes(256);
  const { salt } = dc.addAuthKey(authKey, { userId: USER });
  let pts = 1;
  process.on('message', (m: { push?: number }) => {
    if (m.push === undefined) return;
    for (let i = 0; i < m.push; i++) {
      const userId = 1_000_000n + BigInt(i % USERS);
      const update = messagePush(++pts, userId, `user${i % USERS}`);
      dc.pushUpdate({ userId: USER }, serialize(update));
    }
    process.send?.({ pushed: m.push });
  });
  process.on('disconnect', () => void dc.stop());
  process.send?.({
    host: dc.host,
    port: dc.port,
    pem: dc.rsaPublicKey.pem,
    authKey: authKey.toString('hex'),
    salt: salt.toString(),
  });
}

if (process.argv.includes('--peers-push-child')) void childMain();
