// The rules a DC checks on file parts and ranges, with Telegram's errors
// (core.telegram.org/api/files, /cdn). Written here for the server side, apart from the
// client's planning (bindings/files/parts.ts), so that the tests check one against the other.

import { createHash } from 'node:crypto';
import { PartsContent } from './file-content';
import { TestRpcError } from './rpc';

const KIB = 1024;
const MIB = 1024 * KIB;
/** FILE_PART_TOO_BIG past this (api/files: "The size limit (512 KB) for the content of the file part"). */
export const MAX_PART_BYTES = 512 * KIB;
/** upload_max_fileparts_default. */
export const MAX_FILE_PARTS = 4000;
/**
 * A file sent with upload.saveFilePart may hold this much (api/files: saveBigFilePart "in
 * case the full size of the file is more than 10 MB"). Telegram's answer to a bigger
 * inputFile is not documented: TestDc answers FILE_PARTS_INVALID.
 */
export const SMALL_FILE_MAX = 10 * MIB;

function fail(message: string): never {
  throw new TestRpcError(400, message);
}

/** api/files: part_size % 1024 = 0 and 524288 % part_size = 0. */
export function isPartSize(n: number): boolean {
  return n > 0 && n % KIB === 0 && MAX_PART_BYTES % n === 0;
}

/** One upload in progress: the parts saved under one file id. */
export class Upload {
  readonly parts = new Map<number, Buffer>();
  /** file_total_parts once a part gave it (saveBigFilePart; -1 gives none). */
  total: number | null = null;
  /** The size of the parts known not to be the last. */
  partSize: number | null = null;

  constructor(readonly big: boolean) {}

  /** upload.saveFilePart / saveBigFilePart: checks the part and keeps it. */
  save(index: number, bytes: Buffer, totalParts: number | undefined, maxParts = MAX_FILE_PARTS): void {
    if (bytes.length === 0) fail('FILE_PART_EMPTY');
    if (bytes.length > MAX_PART_BYTES) fail('FILE_PART_TOO_BIG');
    if (!Number.isInteger(index) || index < 0 || index >= maxParts) fail('FILE_PART_INVALID');
    if (this.big && totalParts !== -1) {
      const total = totalParts as number;
      if (!(total >= 1 && total <= maxParts)) fail('FILE_PARTS_INVALID');
      if (this.total !== null && this.total !== total) fail('FILE_PARTS_INVALID');
      if (index >= total) fail('FILE_PART_INVALID');
      this.total = total;
    }
    // A part known not to be the last must have the file's part size.
    const notLast = this.total !== null && index < this.total - 1;
    if (notLast) {
      if (!isPartSize(bytes.length)) fail('FILE_PART_SIZE_INVALID');
      if (this.partSize !== null && this.partSize !== bytes.length) fail('FILE_PART_SIZE_CHANGED');
      this.partSize = bytes.length;
    }
    this.parts.set(index, bytes);
  }

  /**
   * The file an inputFile / inputFileBig names: every part 0..parts-1 there, all of one
   * allowed size but the last, which is not larger; md5_checksum (when not empty) right.
   */
  assemble(parts: number, md5Checksum: string | undefined, maxParts = MAX_FILE_PARTS): PartsContent {
    if (!Number.isInteger(parts) || parts < 1 || parts > maxParts) fail('FILE_PARTS_INVALID');
    if (this.big && this.total !== null && this.total !== parts) fail('FILE_PARTS_INVALID');
    const list: Buffer[] = [];
    for (let i = 0; i < parts; i++) {
      const p = this.parts.get(i);
      if (!p) fail(`FILE_PART_${i}_MISSING`);
      list.push(p);
    }
    const size = list[0].length;
    if (parts > 1) {
      if (!isPartSize(size)) fail('FILE_PART_SIZE_INVALID');
      for (let i = 1; i < parts - 1; i++) if (list[i].length !== size) fail('FILE_PART_SIZE_CHANGED');
      if (list[parts - 1].length > size) fail('FILE_PART_SIZE_CHANGED');
    }
    const content = new PartsContent(list, size);
    if (!this.big) {
      if (content.size > SMALL_FILE_MAX) fail('FILE_PARTS_INVALID');
      if (md5Checksum) {
        const md5 = createHash('md5');
        for (const p of list) md5.update(p);
        if (md5.digest('hex') !== md5Checksum.toLowerCase()) fail('MD5_CHECKSUM_INVALID');
      }
    }
    return content;
  }
}

/**
 * upload.getFile's offset and limit (api/files#downloading-files); upload.getCdnFile's are
 * the unprecise ones (cdn#restrictions-on-uploadgetfile-and-uploadgetcdnfile-parameters).
 * Throws OFFSET_INVALID / LIMIT_INVALID.
 */
export function checkRange(offset: number, limit: number, precise: boolean): void {
  const unit = precise ? KIB : 4 * KIB;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % unit !== 0) fail('OFFSET_INVALID');
  if (!Number.isInteger(limit) || limit <= 0 || limit % unit !== 0) fail('LIMIT_INVALID');
  if (precise ? limit > MIB : MIB % limit !== 0) fail('LIMIT_INVALID');
  // "the requested part should be within one 1 MB chunk from the beginning of the file"
  if (Math.floor(offset / MIB) !== Math.floor((offset + limit - 1) / MIB)) fail('LIMIT_INVALID');
}
