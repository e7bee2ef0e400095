// Shared by the file suites: a TestWorld with DCs 2 and 4 (each with a media-only
// address) and a CDN DC, a bot session logged in on DC 2 with upload and download
// connections, and messages.uploadMedia as the call that uses an uploaded file.

import { createHash } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { type InputFile, type SessionOpenOptions, SessionRegistry, type TL } from '../bindings';
import { TestWorld } from '../bindings/testing';

export const KIB = 1024;
export const MIB = 1024 * KIB;
const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

export async function filesWorld(): Promise<TestWorld> {
  return TestWorld.start({ dcs: [2, 4], rsaKey: 'shared', media: true, cdn: {} });
}

/** A bot logged in on DC 2 (its own registry): upload and download connections, 4 each by default. */
export async function botSession(
  world: TestWorld,
  options: SessionOpenOptions = {},
): Promise<{ reg: SessionRegistry; id: string; userId: bigint }> {
  const bot = world.accounts.addBot({ homeDcId: 2 });
  const reg = new SessionRegistry();
  const dc2 = world.dc(2);
  const id = await reg.open(2, undefined, {
    address: { host: dc2.host, port: dc2.port },
    rsaKeys: [dc2.rsaPublicKey.pem],
    init: { apiId: API.apiId },
    pool: { upload: 4, download: 4 },
    ...options,
  });
  await reg.loginBot(id, bot.token as string, API);
  return { reg, id, userId: bot.id };
}

/** messages.uploadMedia with an uploaded file: the document TestDc stored. */
export function uploadMedia(reg: SessionRegistry, id: string) {
  return async (file: InputFile): Promise<TL.Objects['document']> => {
    const media = await reg.call(id, 'messages.uploadMedia', {
      peer: { _: 'inputPeerSelf' },
      media: { _: 'inputMediaUploadedDocument', file, mimeType: 'application/octet-stream', attributes: [] },
    });
    if (media._ !== 'messageMediaDocument' || media.document?._ !== 'document')
      throw new Error('no document');
    return media.document;
  };
}

export function locationOf(doc: TL.Objects['document']): TL.Objects['inputDocumentFileLocation'] {
  return {
    _: 'inputDocumentFileLocation',
    id: doc.id,
    accessHash: doc.accessHash,
    fileReference: doc.fileReference,
    thumbSize: '',
  };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Asserts equal bytes without printing megabytes on failure. */
export function sameBytes(t: ExecutionContext, got: Buffer, want: Buffer, what: string): void {
  t.is(got.length, want.length, `${what}: length`);
  t.is(sha256(got), sha256(want), `${what}: contents`);
}
