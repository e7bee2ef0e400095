// The file methods of a (master) TestDc, answering as Telegram's servers do
// (core.telegram.org/api/files, /cdn): upload.saveFilePart and saveBigFilePart with the
// part rules (file-rules.ts), messages.uploadMedia assembling an uploaded file into a
// document on this DC, upload.getFile with its offset/limit rules, FILE_MIGRATE_X for a
// file held by another DC and upload.fileCdnRedirect for one served by a CDN,
// upload.getFileHashes, upload.getCdnFileHashes, upload.reuploadCdnFile, and
// help.getCdnConfig (the CDN DCs' RSA keys). Every method needs a logged-in key.

import type * as TL from '../tl';
import { checkRange } from './file-rules';
import type { FileStore } from './file-store';
import type { Handler, HandlerContext } from './types';

export interface FilesHost {
  readonly dcId: number;
  readonly files: FileStore;
}

/** The 401 of a method that needs a login, for a key without one. */
export function requireUser(ctx: HandlerContext): bigint {
  const id = ctx.userId;
  if (id === undefined) return ctx.rpcError(401, 'AUTH_KEY_UNREGISTERED');
  return id;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * The methods below whose handlers may run on a request that lies in memory TestDc
 * reuses once they finished (query-bodies.ts): they read the part, and what they keep
 * is a copy (FileStore.savePart).
 */
export const PARTS_RUN_IN_PLACE: ReadonlySet<string> = new Set<TL.MethodName>([
  'upload.saveFilePart',
  'upload.saveBigFilePart',
]);

export function fileHandlers(host: FilesHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  const files = host.files;
  const slow = () => files.slowPart(sleep);

  add('upload.saveFilePart', async (req, ctx) => {
    const user = requireUser(ctx);
    files.savePart(user, req.fileId, false, req.filePart, req.bytes);
    await slow();
    return true;
  });
  add('upload.saveBigFilePart', async (req, ctx) => {
    const user = requireUser(ctx);
    files.savePart(user, req.fileId, true, req.filePart, req.bytes, req.fileTotalParts);
    await slow();
    return true;
  });

  // An uploaded document becomes a file held by this DC.
  add('messages.uploadMedia', (req, ctx) => {
    const user = requireUser(ctx);
    const media = req.media;
    if (media._ !== 'inputMediaUploadedDocument') return ctx.rpcError(400, 'MEDIA_INVALID');
    const content = files.assemble(user, media.file);
    const stored = files.put(content, { dcId: host.dcId, mimeType: media.mimeType });
    return { _: 'messageMediaDocument' as const, document: stored.document };
  });

  add('upload.getFile', async (req, ctx) => {
    requireUser(ctx);
    const f = files.find(req.location);
    if (f.dcId !== host.dcId) return ctx.rpcError(303, `FILE_MIGRATE_${f.dcId}`);
    const offset = Number(req.offset);
    checkRange(offset, req.limit, req.precise === true);
    await slow();
    if (f.cdn && req.cdnSupported) {
      files.stats.redirects++;
      return {
        _: 'upload.fileCdnRedirect' as const,
        dcId: f.cdn.cdnDcId,
        fileToken: f.cdn.token,
        encryptionKey: f.cdn.key,
        encryptionIv: f.cdn.iv,
        fileHashes: files.hashes(f, offset),
      };
    }
    files.stats.partsServed++;
    // The part's bytes stay where the store keeps them (a view when it can): serialized
    // as pieces, they are copied once, into the link's packet.
    return {
      _: 'upload.file' as const,
      type: { _: 'storage.filePartial' as const },
      mtime: 0,
      bytes: f.content.read(offset, req.limit),
    };
  });

  add('upload.getFileHashes', (req, ctx) => {
    requireUser(ctx);
    const f = files.find(req.location);
    if (f.dcId !== host.dcId) return ctx.rpcError(303, `FILE_MIGRATE_${f.dcId}`);
    return files.hashes(f, Number(req.offset));
  });

  add('upload.getCdnFileHashes', (req, ctx) => {
    requireUser(ctx);
    const copy = files.copy(req.fileToken);
    if (copy.file.dcId !== host.dcId) return ctx.rpcError(303, `FILE_MIGRATE_${copy.file.dcId}`);
    return files.hashes(copy.file, Number(req.offset));
  });

  add('upload.reuploadCdnFile', (req, ctx) => {
    requireUser(ctx);
    const copy = files.copy(req.fileToken);
    if (copy.file.dcId !== host.dcId) return ctx.rpcError(303, `FILE_MIGRATE_${copy.file.dcId}`);
    const token = req.requestToken.toString('hex');
    if (!copy.requestTokens.delete(token)) return ctx.rpcError(400, 'REQUEST_TOKEN_INVALID');
    copy.present = true;
    files.stats.reuploads++;
    return files.hashes(copy.file, 0);
  });

  add('help.getCdnConfig', () => ({
    _: 'cdnConfig' as const,
    publicKeys: [...files.cdnDcs].map(([dcId, publicKey]) => ({
      _: 'cdnPublicKey' as const,
      dcId,
      publicKey,
    })),
  }));

  return m;
}
