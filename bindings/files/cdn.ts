// Reading a file from a CDN DC (core.telegram.org/cdn) after upload.fileCdnRedirect:
// upload.getCdnFile on the CDN DC (keys from help.getCdnConfig, no authorization: the
// session's `cdn` calls), upload.cdnFileReuploadNeeded answered by upload.reuploadCdnFile
// on the master DC, the hashes from the master DC (upload.getCdnFileHashes for those the
// redirect did not carry), AES-256-CTR decryption in the native core, and every part
// checked against its SHA-256 before its bytes are returned. A range is widened to whole
// hashed parts, so every byte returned was checked.

import { aesCtrInPlace } from '../native';
import { RpcError } from '../tl';
import { CdnHashes, checkParts, type FileHash } from './cdn-hashes';
import { FileError } from './errors';
import { chunkAt, KIB, MAX_DOWNLOAD_PART } from './parts';
import type { FilesPort } from './types';

export interface CdnRedirect {
  dcId: number;
  fileToken: Buffer;
  encryptionKey: Buffer;
  encryptionIv: Buffer;
  fileHashes: readonly FileHash[];
}

/** The master DC no longer lets the CDN serve this file (FILE_TOKEN_INVALID, REQUEST_TOKEN_INVALID): back to upload.getFile. */
export class CdnUnavailable extends Error {
  override readonly name = 'CdnUnavailable';
  constructor(override readonly cause: unknown) {
    super('the CDN cannot serve this file any more');
  }
}

/** cdn#decrypting-files: the IV for `offset` is encryption_iv with its last 4 bytes set to offset / 16, big-endian. */
export function ivAt(iv: Buffer, offset: number): Buffer {
  const out = Buffer.from(iv);
  out.writeUInt32BE(Math.floor(offset / 16) >>> 0, 12);
  return out;
}

const TOKEN_GONE = new Set(['FILE_TOKEN_INVALID', 'REQUEST_TOKEN_INVALID']);
/** Re-uploads asked for one request before giving up (a CDN that keeps asking is broken). */
const MAX_REUPLOADS = 3;

function nextPowerOfTwo(n: number): number {
  let p = 4 * KIB;
  while (p < n) p *= 2;
  return p;
}

export class CdnFile {
  readonly hashes = new CdnHashes();
  private readonly hashesAsked = new Map<number, Promise<void>>();
  private readonly reuploads = new Map<string, Promise<void>>();

  constructor(
    private readonly port: FilesPort,
    readonly redirect: CdnRedirect,
    /** The DC that answered upload.getFile with the redirect: it re-uploads and gives hashes. */
    private readonly masterDc: number | undefined,
    private readonly timeoutMs: number,
  ) {
    if (redirect.encryptionKey.length !== 32 || redirect.encryptionIv.length !== 16) {
      throw new FileError(
        'BAD_ANSWER',
        'upload.fileCdnRedirect with a key that is not 32 bytes or an IV that is not 16',
      );
    }
    this.hashes.add(redirect.fileHashes);
  }

  /**
   * The checked bytes of [offset, offset + limit), fewer at the end of the file. Throws
   * CDN_HASH_MISMATCH, CDN_HASH_MISSING, BAD_ANSWER, CdnUnavailable, or the call's error.
   */
  async read(offset: number, limit: number, signal: AbortSignal): Promise<Buffer> {
    // The bytes of the hashed parts around the range are asked for while the hashes are
    // (when the part length is known): one round trip, not two.
    const step = this.hashes.step;
    const guess =
      step > 0 ? { from: offset - (offset % step), to: Math.ceil((offset + limit) / step) * step } : null;
    const early = guess ? this.fetchDecrypted(guess.from, guess.to, signal) : null;
    early?.catch(() => {});
    const parts = await this.partsCovering(offset, offset + limit, signal);
    if (parts.length === 0) return Buffer.alloc(0);
    const from = Number(parts[0].offset);
    const last = parts[parts.length - 1];
    const to = Number(last.offset) + last.limit;
    const plain =
      early && guess?.from === from && guess.to >= to
        ? (await early).subarray(0, to - from)
        : await this.fetchDecrypted(from, to, signal);
    checkParts(plain, from, parts);
    return plain.subarray(offset - from, Math.min(offset + limit, to) - from);
  }

  /** The hashed parts that hold [start, end) (up to the end of the file), asking the master DC for missing ones. */
  private async partsCovering(start: number, end: number, signal: AbortSignal): Promise<FileHash[]> {
    const parts: FileHash[] = [];
    let at = start;
    while (at < end) {
      if (this.hashes.endsAt !== null && at >= this.hashes.endsAt) break;
      let h = this.hashes.covering(at);
      if (!h) {
        await this.askHashes(at, signal);
        h = this.hashes.covering(at);
        if (!h) {
          if (this.hashes.endsAt !== null && at >= this.hashes.endsAt) break;
          throw new FileError(
            'CDN_HASH_MISSING',
            `the master DC gave no hash for the CDN part at ${at}`,
            undefined,
            at,
          );
        }
      }
      parts.push(h);
      at = Number(h.offset) + h.limit;
    }
    return parts;
  }

  /** upload.getCdnFileHashes from `offset` (one request per offset at a time). An empty answer marks the end. */
  private askHashes(offset: number, signal: AbortSignal): Promise<void> {
    let p = this.hashesAsked.get(offset);
    if (!p) {
      p = (async () => {
        const got = await this.port.call(
          'upload.getCdnFileHashes',
          { fileToken: this.redirect.fileToken, offset: BigInt(offset) },
          { dc: this.masterDc, signal, timeoutMs: this.timeoutMs },
        );
        this.hashes.add(got);
        if (!got.some((h) => Number(h.offset) + h.limit > offset)) {
          this.hashes.endsAt = Math.min(this.hashes.endsAt ?? offset, offset);
        }
      })().finally(() => this.hashesAsked.delete(offset));
      this.hashesAsked.set(offset, p);
    }
    return p;
  }

  /** The decrypted bytes of [from, to), in requests the CDN takes (4 KiB aligned, inside 1 MiB blocks). */
  private async fetchDecrypted(from: number, to: number, signal: AbortSignal): Promise<Buffer> {
    const pieces: Buffer[] = [];
    let at = from;
    while (at < to) {
      const want = chunkAt(at, Math.min(MAX_DOWNLOAD_PART, nextPowerOfTwo(to - at)), null);
      const bytes = await this.getCdnFile(want.offset, want.limit, signal);
      if (bytes.length > want.limit) {
        throw new FileError('BAD_ANSWER', `the CDN sent ${bytes.length} bytes for a limit of ${want.limit}`);
      }
      const used = bytes.subarray(0, Math.min(bytes.length, to - at));
      // The answer's bytes are this read's alone: decrypted where they lie, no Buffer more.
      aesCtrInPlace(this.redirect.encryptionKey, ivAt(this.redirect.encryptionIv, at), used);
      pieces.push(used);
      at += used.length;
      // Fewer bytes than asked: the CDN's file ends here (the hash check says whether it may).
      if (bytes.length < want.limit) break;
    }
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }

  /** upload.getCdnFile, with upload.cdnFileReuploadNeeded answered by upload.reuploadCdnFile. */
  private async getCdnFile(offset: number, limit: number, signal: AbortSignal): Promise<Buffer> {
    for (let reuploads = 0; ; reuploads++) {
      let answer: Awaited<ReturnType<FilesPort['call']>>;
      try {
        answer = await this.port.call(
          'upload.getCdnFile',
          { fileToken: this.redirect.fileToken, offset: BigInt(offset), limit },
          { dc: this.redirect.dcId, cdn: true, connection: 'download', signal, timeoutMs: this.timeoutMs },
        );
      } catch (e) {
        if (e instanceof RpcError && TOKEN_GONE.has(e.errorMessage)) throw new CdnUnavailable(e);
        throw e;
      }
      const a = answer as { _: string; bytes?: Buffer; requestToken?: Buffer };
      if (a._ === 'upload.cdnFile') return a.bytes as Buffer;
      if (reuploads >= MAX_REUPLOADS) {
        throw new FileError(
          'BAD_ANSWER',
          `the CDN asked for a re-upload ${reuploads + 1} times for the part at ${offset}`,
        );
      }
      await this.reupload(a.requestToken as Buffer, signal);
    }
  }

  /** upload.reuploadCdnFile on the master DC (once per request token, shared by the parts waiting for it). */
  private reupload(requestToken: Buffer, signal: AbortSignal): Promise<void> {
    const key = requestToken.toString('hex');
    let p = this.reuploads.get(key);
    if (!p) {
      p = (async () => {
        try {
          const hashes = await this.port.call(
            'upload.reuploadCdnFile',
            { fileToken: this.redirect.fileToken, requestToken },
            { dc: this.masterDc, signal, timeoutMs: this.timeoutMs },
          );
          this.hashes.add(hashes);
        } catch (e) {
          if (e instanceof RpcError && TOKEN_GONE.has(e.errorMessage)) throw new CdnUnavailable(e);
          throw e;
        }
      })().finally(() => this.reuploads.delete(key));
      this.reuploads.set(key, p);
    }
    return p;
  }
}
