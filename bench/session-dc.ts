// Shared by session.bench.ts and memory.bench.ts: a TestDc in this process or in a
// forked one (its own event loop and CPU, as a real DC would be), keys registered on
// it without handshakes (dc.addAuthKey), and GramJS clients pointed at it the way
// __test__/testdc-gramjs.spec.ts does (its RSA key map, a connection class that
// dials the TestDc port, a StringSession carrying the pre-made key).

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { TestDc } from '../dist/testing';
import { forkChild } from './child';

export interface DcInfo {
  host: string;
  port: number;
  dcId: number;
  /** TestDc's RSA public key as PEM (what options.rsaKeys takes). */
  pem: string;
  modulusHex: string;
  exponentHex: string;
  /** Unsigned fingerprint, decimal. */
  fingerprint: string;
}

export interface PreparedKey {
  authKey: Buffer;
  salt: bigint;
  userId: number;
}

export interface DcControl {
  info: DcInfo;
  where: 'in this process' | 'in another process';
  /** The DC's process (its CPU time is in /proc/<pid>/stat on Linux). */
  pid: number | undefined;
  /** Registers `n` random keys (logged in as users 1000+i) and returns them. */
  addKeys(n: number): Promise<PreparedKey[]>;
  /** Starts a raw TCP echo server in the DC's process (the limit beside calls/s); its port. */
  startEcho(): Promise<number>;
  stop(): Promise<void>;
}

/** A plain node:net echo server on loopback: every byte straight back, Nagle off. */
function echoServer(): Promise<Server> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

type TestDcType = TestDc;

let nextUser = 1000;

function addKeysTo(dc: TestDcType, n: number): PreparedKey[] {
  const keys: PreparedKey[] = [];
  for (let i = 0; i < n; i++) {
    const authKey = randomBytes(256);
    const userId = nextUser++;
    const { salt } = dc.addAuthKey(authKey, { userId });
    keys.push({ authKey, salt, userId });
  }
  return keys;
}

function infoOf(dc: TestDcType): DcInfo {
  const k = dc.rsaPublicKey;
  return {
    host: dc.host,
    port: dc.port,
    dcId: dc.dcId,
    pem: k.pem,
    modulusHex: k.modulus.toString('hex'),
    exponentHex: k.exponent.toString('hex'),
    fingerprint: k.fingerprint.toString(),
  };
}

/** What every bench DC answers: help.getNearestDc is built in; messages.sendMessage is ours. */
function setUp(dc: TestDcType): void {
  let id = 0;
  dc.handle('messages.sendMessage', () => ({
    _: 'updateShortSentMessage' as const,
    out: true,
    id: ++id,
    pts: id,
    ptsCount: 1,
    date: Math.floor(Date.now() / 1000),
  }));
}

export async function inProcessDc(): Promise<DcControl> {
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  setUp(dc);
  let echo: Server | undefined;
  return {
    info: infoOf(dc),
    where: 'in this process',
    pid: process.pid,
    addKeys: async (n) => addKeysTo(dc, n),
    startEcho: async () => {
      echo ??= await echoServer();
      return portOf(echo);
    },
    stop: async () => {
      echo?.close();
      await dc.stop();
    },
  };
}

interface KeysReply {
  keys: Array<{ authKey: string; salt: string; userId: number }>;
}

interface EchoReply {
  echoPort: number;
}

export async function forkedDc(): Promise<DcControl> {
  const child = forkChild(__filename, '--bench-testdc-child', 'TestDc child');
  const info = await child.next<DcInfo>();
  return {
    info,
    where: 'in another process',
    pid: child.pid,
    addKeys: async (n) => {
      return (await child.ask<KeysReply>({ addKeys: n })).keys.map((k) => ({
        authKey: Buffer.from(k.authKey, 'hex'),
        salt: BigInt(k.salt),
        userId: k.userId,
      }));
    },
    startEcho: async () => (await child.ask<EchoReply>({ echo: true })).echoPort,
    stop: child.stop,
  };
}

async function childMain(): Promise<void> {
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  setUp(dc);
  let echo: Server | undefined;
  process.on('message', async (m: { addKeys?: number; echo?: true }) => {
    if (m.echo) {
      echo ??= await echoServer();
      process.send?.({ echoPort: portOf(echo) });
      return;
    }
    if (m.addKeys === undefined) return;
    const keys = addKeysTo(dc, m.addKeys).map((k) => ({
      authKey: k.authKey.toString('hex'),
      salt: k.salt.toString(),
      userId: k.userId,
    }));
    process.send?.({ keys });
  });
  process.on('disconnect', () => {
    echo?.close();
    void dc.stop();
  });
  process.send?.(infoOf(dc));
}

if (process.argv.includes('--bench-testdc-child')) void childMain();
