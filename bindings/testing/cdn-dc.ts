// A CDN DC (core.telegram.org/cdn): its own RSA key (served by the master DCs'
// help.getCdnConfig), keys made by anyone and no authorization, and one method:
// upload.getCdnFile, answering the file's bytes encrypted with AES-256-CTR (never the
// plain file), or upload.cdnFileReuploadNeeded while it does not hold the file. Any
// other method is 400 CDN_METHOD_INVALID ("CDNs support only the following methods:
// upload.getCdnFile, initConnection, invokeWithLayer").

import { randomBytes } from 'node:crypto';
import type * as TL from '../tl';
import { sleep } from './file-methods';
import { checkRange } from './file-rules';
import type { FileStore } from './file-store';
import type { Handler } from './types';

export interface CdnHost {
  readonly dcId: number;
  readonly files: FileStore;
}

/** The answer of a CDN DC to anything but upload.getCdnFile. */
export const cdnMethodInvalid: Handler = (_req, ctx) => ctx.rpcError(400, 'CDN_METHOD_INVALID');

export function cdnHandlers(host: CdnHost): Map<string, Handler> {
  const m = new Map<string, Handler>();
  const add = <M extends TL.MethodName>(name: M, h: Handler<M>) => m.set(name, h as unknown as Handler);
  const files = host.files;
  add('upload.getCdnFile', async (req, ctx) => {
    const copy = files.copy(req.fileToken);
    if (copy.cdnDcId !== host.dcId) return ctx.rpcError(400, 'FILE_TOKEN_INVALID');
    const offset = Number(req.offset);
    checkRange(offset, req.limit, false);
    if (files.faults.needReupload > 0) {
      files.faults.needReupload--;
      copy.present = false;
    }
    if (!copy.present) {
      const requestToken = randomBytes(16);
      copy.requestTokens.add(requestToken.toString('hex'));
      return { _: 'upload.cdnFileReuploadNeeded' as const, requestToken };
    }
    await files.slowPart(sleep);
    files.stats.cdnPartsServed++;
    return { _: 'upload.cdnFile' as const, bytes: files.encrypted(copy, offset, req.limit) };
  });
  return m;
}
