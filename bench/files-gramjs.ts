// For files.bench.ts: GramJS in a process of its own (it loads nothing of telegram-mt),
// against the same forked TestDc, driven over IPC. Each library is measured in a process that loads only itself, as a
// user's would: with GramJS loaded beside telegram-mt, each one's heap made the other's
// full collections longer (10-15 % of telegram-mt's rate in this bench).

import { randomBytes } from 'node:crypto';
import { forkChild } from './child';
import type { FilesDcInfo, StoredDoc } from './files-dc';
import { type GramClient, gramjsClient } from './gramjs-peer';

/** What the child runs: an uploadFile of `size` random bytes, or a downloadMedia. */
export type GramjsJob = { upload: { workers: number } } | { download: StoredDoc };

/** A job's wall time and the child's CPU time for it (all its threads), ms. */
export interface GramjsTiming {
  ms: number;
  cpuMs: number;
}

export interface GramjsProcess {
  run(job: GramjsJob): Promise<GramjsTiming>;
  stop(): Promise<void>;
}

interface Init {
  dc: FilesDcInfo;
  key: { authKey: string; salt: string; userId: number };
  size: number;
}

type Reply = { ready: true } | ({ done: true } & GramjsTiming) | { error: string };

/** Starts the child, connected with `key` and holding `size` random bytes to upload. */
export async function gramjsProcess(
  dc: FilesDcInfo,
  key: { authKey: Buffer; salt: bigint; userId: number },
  size: number,
): Promise<GramjsProcess> {
  const child = forkChild(__filename, '--files-gramjs-child', 'the GramJS child');
  const ask = async (message: Init | GramjsJob) => {
    const r = await child.ask<Reply>(message);
    if ('error' in r) throw new Error(`GramJS: ${r.error}`);
    return r;
  };
  await ask({
    dc,
    key: { authKey: key.authKey.toString('hex'), salt: key.salt.toString(), userId: key.userId },
    size,
  });
  return {
    run: async (job) => {
      const r = await ask(job);
      if (!('done' in r)) throw new Error('GramJS: no timing');
      return { ms: r.ms, cpuMs: r.cpuMs };
    },
    stop: child.stop,
  };
}

/** GramJS's downloadMedia of a message carrying the stored document (GramJS objects, big-integer longs). */
function download(client: GramClient, doc: StoredDoc): Promise<unknown> {
  const bigInt = require('big-integer');
  const { Api } = require('telegram');
  const document = new Api.Document({
    id: bigInt(doc.id),
    accessHash: bigInt(doc.accessHash),
    fileReference: Buffer.from(doc.fileReference, 'hex'),
    date: 0,
    mimeType: 'application/octet-stream',
    size: bigInt(doc.size),
    dcId: doc.dcId,
    attributes: [],
  });
  const message = new Api.Message({
    id: 1,
    peerId: new Api.PeerUser({ userId: bigInt(1) }),
    date: 0,
    message: '',
    media: new Api.MessageMediaDocument({ document }),
  });
  return client.downloadMedia(message, {});
}

function upload(client: GramClient, data: Buffer, workers: number): Promise<unknown> {
  const { CustomFile } = require('telegram/client/uploads');
  // maxBufferSize: from memory, as ours (above 20 MB GramJS reads a path by default).
  return client.uploadFile({
    file: new CustomFile('bench.bin', data.length, '', data),
    workers,
    maxBufferSize: data.length + 1,
  });
}

async function childMain(): Promise<void> {
  let client: GramClient | undefined;
  let data = Buffer.alloc(0);
  process.on('message', async (m: Init | GramjsJob) => {
    try {
      if ('dc' in m) {
        const key = {
          authKey: Buffer.from(m.key.authKey, 'hex'),
          salt: BigInt(m.key.salt),
          userId: m.key.userId,
        };
        client = await gramjsClient(m.dc, key, 'ConnectionTCPFull');
        data = randomBytes(m.size);
        process.send?.({ ready: true });
        return;
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      if ('upload' in m) await upload(client, data, m.upload.workers);
      else await download(client, m.download);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      process.send?.({ done: true, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    } catch (e) {
      process.send?.({ error: (e as Error).message });
    }
  });
  process.on('disconnect', () => {
    void Promise.resolve(client?.destroy()).finally(() => process.exit(0));
  });
}

if (process.argv.includes('--files-gramjs-child')) void childMain();
