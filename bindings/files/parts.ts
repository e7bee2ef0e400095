// Part planning, pure: how a file is cut for upload.saveFilePart / saveBigFilePart and
// which (offset, limit) pairs upload.getFile and upload.getCdnFile are asked for, within
// the rules of core.telegram.org/api/files and /cdn.

import { FileError } from './errors';

export const KIB = 1024;
export const MIB = 1024 * KIB;
/** api/files: every part but the last is part_size bytes, part_size % 1024 == 0 and 524288 % part_size == 0. */
export const MAX_UPLOAD_PART = 512 * KIB;
/** api/files: upload.saveBigFilePart "in case the full size of the file is more than 10 MB". */
export const BIG_FILE_ABOVE = 10 * MIB;
/** upload_max_fileparts_default (api/config); Premium users get upload_max_fileparts_premium (8000). */
export const DEFAULT_MAX_PARTS = 4000;
/**
 * The largest getFile limit asked for. The spec allows 1 MiB, but an answer carrying 1 MiB
 * of bytes is over the 1 MiB a message body may be here (mtcore MAX_BODY_LEN): 512 KiB it is.
 */
export const MAX_DOWNLOAD_PART = 512 * KIB;
/** Parts an upload of known size aims for at least, so that the window has work for several connections. */
const MIN_PARTS_WANTED = 8;
const MIN_AUTO_PART = 32 * KIB;

/** Whether `n` is an allowed upload part size: divisible by 1 KiB, dividing 512 KiB. */
export function isUploadPartSize(n: number): boolean {
  return Number.isInteger(n) && n >= KIB && n % KIB === 0 && MAX_UPLOAD_PART % n === 0;
}

/** What an upload sends: its part size and, when the size is known, its parts and kind. */
export interface UploadPlan {
  partSize: number;
  /** null while the size is unknown (a stream). */
  parts: number | null;
  /** saveBigFilePart / inputFileBig (null while the size is unknown). */
  big: boolean | null;
}

/**
 * The plan of an upload of `size` bytes (null: unknown). Without a given part size: the
 * largest allowed size, 32 KiB to 512 KiB, that still cuts the file in at least 8 parts
 * (work for the window), 512 KiB for a stream of unknown length. Rejects with FILE_EMPTY
 * and FILE_TOO_BIG (more than `maxParts` parts even at 512 KiB), BAD_OPTIONS for a part
 * size outside the rules.
 */
export function planUpload(size: number | null, partSize?: number, maxParts = DEFAULT_MAX_PARTS): UploadPlan {
  if (partSize !== undefined && !isUploadPartSize(partSize)) {
    throw new FileError('BAD_OPTIONS', `partSize ${partSize}: a multiple of 1024 that divides 524288`);
  }
  if (!Number.isInteger(maxParts) || maxParts < 1) throw new FileError('BAD_OPTIONS', `maxParts ${maxParts}`);
  if (size === null) return { partSize: partSize ?? MAX_UPLOAD_PART, parts: null, big: null };
  if (!Number.isSafeInteger(size) || size < 0) throw new FileError('BAD_OPTIONS', `size ${size}`);
  if (size === 0) {
    throw new FileError('FILE_EMPTY', 'an empty file cannot be uploaded (the server refuses an empty part)');
  }
  let chosen = partSize;
  if (chosen === undefined) {
    chosen = MAX_UPLOAD_PART;
    while (chosen > MIN_AUTO_PART && size / chosen < MIN_PARTS_WANTED) chosen /= 2;
  }
  const parts = Math.ceil(size / chosen);
  if (parts > maxParts) {
    throw new FileError(
      'FILE_TOO_BIG',
      `${size} bytes make ${parts} parts of ${chosen} bytes; the server takes at most ${maxParts}`,
    );
  }
  return { partSize: chosen, parts, big: size > BIG_FILE_ABOVE };
}

/** One upload.getFile / upload.getCdnFile request. */
export interface ChunkRequest {
  offset: number;
  limit: number;
}

/** The lowest set bit of `n` (n > 0), as a number: the largest power of two dividing it. */
function lowBit(n: number): number {
  let b = 1;
  while (n % (b * 2) === 0 && b < 2 ** 52) b *= 2;
  return b;
}

/**
 * The request for the bytes from `offset` on, at most `partSize` of them (a power of two,
 * 4 KiB to 512 KiB), and no further than `end` when `end` is known.
 *
 * Without `precise` (api/files#downloading-files): offset and limit divisible by 4 KiB,
 * 1 MiB divisible by limit, and the request inside one 1 MiB block. `offset` is 4 KiB
 * aligned, and limit = min(partSize, the largest power of two dividing offset) keeps it
 * so: an aligned power-of-two block never crosses a 1 MiB boundary. Asking past the end
 * is allowed (the answer is shorter).
 *
 * With `precise`: offset and limit divisible by 1 KiB, limit at most 1 MiB, inside one
 * 1 MiB block; the limit stops at `end` (rounded up to 1 KiB) rather than run past it.
 */
export function chunkAt(offset: number, partSize: number, end: number | null, precise = false): ChunkRequest {
  if (!precise) {
    const limit = offset === 0 ? partSize : Math.min(partSize, lowBit(offset));
    return { offset, limit };
  }
  const toBlockEnd = MIB - (offset % MIB);
  let limit = Math.min(partSize, toBlockEnd);
  if (end !== null) limit = Math.min(limit, Math.ceil((end - offset) / KIB) * KIB);
  return { offset, limit: Math.max(KIB, limit) };
}

/** Where fetching starts for a download from `offset`: rounded down to 4 KiB (1 KiB with precise). */
export function alignedStart(offset: number, precise = false): number {
  const unit = precise ? KIB : 4 * KIB;
  return offset - (offset % unit);
}

/** Checks a download part size: a power of two from 4 KiB to 512 KiB (so every limit divides 1 MiB). */
export function checkDownloadPartSize(partSize: number): void {
  const pow2 = Number.isInteger(partSize) && partSize > 0 && (partSize & (partSize - 1)) === 0;
  if (!pow2 || partSize < 4 * KIB || partSize > MAX_DOWNLOAD_PART) {
    throw new FileError(
      'BAD_OPTIONS',
      `partSize ${partSize}: a power of two from 4096 to ${MAX_DOWNLOAD_PART}`,
    );
  }
}
