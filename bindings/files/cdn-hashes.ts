// The SHA-256 hashes of a CDN file's parts (core.telegram.org/cdn#verifying-files), as
// the master DC gives them (upload.fileCdnRedirect, upload.reuploadCdnFile,
// upload.getCdnFileHashes), and the check of decrypted bytes against them. Hashes of
// parts already handed over are dropped: what is kept follows the window.

import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../native';
import type * as TL from '../tl';
import { FileError } from './errors';

export type FileHash = TL.Objects['fileHash'];

export class CdnHashes {
  private readonly byOffset = new Map<number, FileHash>();
  /** The usual part length (the first hash's; 0 before any): what a range is widened to. */
  step = 0;
  /** Where the file ends, once the master DC said no hash starts there. */
  endsAt: number | null = null;

  add(hashes: readonly FileHash[]): void {
    for (const h of hashes) {
      const offset = Number(h.offset);
      if (!Number.isSafeInteger(offset) || offset < 0 || h.limit <= 0 || h.hash.length !== 32) {
        throw new FileError('BAD_ANSWER', `a CDN file hash with offset ${h.offset}, limit ${h.limit}`);
      }
      if (this.step === 0) this.step = h.limit;
      this.byOffset.set(offset, h);
    }
  }

  /** The hash whose part holds byte `offset`, if known. */
  covering(offset: number): FileHash | undefined {
    if (this.step > 0) {
      const h = this.byOffset.get(offset - (offset % this.step));
      if (h && Number(h.offset) + h.limit > offset) return h;
    }
    for (const h of this.byOffset.values()) {
      const start = Number(h.offset);
      if (start <= offset && offset < start + h.limit) return h;
    }
    return undefined;
  }

  /** Forgets the hashes of parts that end at or before `offset` (handed over already). */
  forgetBelow(offset: number): void {
    for (const [start, h] of this.byOffset) if (start + h.limit <= offset) this.byOffset.delete(start);
  }

  get size(): number {
    return this.byOffset.size;
  }
}

/**
 * Checks `plain` (decrypted bytes starting at file offset `at`) against each of `parts`,
 * which it must cover whole. Throws CDN_HASH_MISMATCH: such bytes are never handed over.
 */
export function checkParts(plain: Buffer, at: number, parts: readonly FileHash[]): void {
  for (const h of parts) {
    const start = Number(h.offset) - at;
    if (start < 0 || start + h.limit > plain.length) {
      throw new FileError(
        'CDN_HASH_MISMATCH',
        `the CDN sent ${Math.max(0, plain.length - Math.max(0, start))} of the ${h.limit} bytes its hash at ${h.offset} covers`,
        undefined,
        Number(h.offset),
      );
    }
    const got = sha256(plain.subarray(start, start + h.limit));
    if (!timingSafeEqual(got, h.hash)) {
      throw new FileError(
        'CDN_HASH_MISMATCH',
        `the CDN part at ${h.offset} (${h.limit} bytes) does not match its SHA-256 from the master DC`,
        undefined,
        Number(h.offset),
      );
    }
  }
}
