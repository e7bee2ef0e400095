// Uploads (core.telegram.org/api/files#uploading-files): the file is cut into parts
// (parts.ts), sent in a window over the upload connections with upload.saveFilePart
// (up to 10 MB, with the md5 the server checks) or upload.saveBigFilePart, each part
// retried on its own; the result is the inputFile / inputFileBig to use in a call.
// FILE_PART_X_MISSING when that call runs sends part X again (`use`).
//
// A stream of unknown length: its first 10 MiB are read before anything is sent (then
// it is known whether the file is big); past that, parts go with file_total_parts -1
// until the end is read, as TDLib does, and each part is sent only once the next one
// was read, so that the last one always carries the count.

import { createHash, randomBytes } from 'node:crypto';
import { RpcError } from '../tl';
import { PartBudget } from './budget';
import { FileError } from './errors';
import { BIG_FILE_ABOVE, DEFAULT_MAX_PARTS, planUpload } from './parts';
import { type RetryPolicy, withRetries } from './retry';
import { type PartReader, readerOf } from './sources';
import type { FilesPort, InputFile, UploadOptions, UploadSource, UseUploaded } from './types';
import { runWindow, windowOf } from './window';

interface Part {
  index: number;
  bytes: Buffer;
}

/** The parts as they are read: sizes checked, md5 kept, the count learned at the end. */
class PartFeed {
  private readonly held: Part[] = [];
  private lookahead: Buffer | null = null;
  private index = 0;
  private readBytes = 0;
  private ended = false;
  private readonly md5 = createHash('md5');
  /** Parts in all, once known. */
  total: number | null;
  big: boolean | null;

  constructor(
    private readonly reader: PartReader,
    private readonly size: number | null,
    readonly partSize: number,
    parts: number | null,
    big: boolean | null,
    private readonly maxParts: number,
  ) {
    this.total = parts;
    this.big = big;
  }

  /** A stream of unknown length: reads up to 10 MiB + 1 byte to learn whether the file is big. */
  async probe(): Promise<void> {
    let bytes = 0;
    while (bytes <= BIG_FILE_ABOVE) {
      const part = await this.read();
      if (!part) break;
      this.held.push(part);
      bytes += part.bytes.length;
    }
    if (this.total === 0) throw new FileError('FILE_EMPTY', 'an empty file cannot be uploaded');
    this.big = bytes > BIG_FILE_ABOVE;
  }

  /** The next part to send, or null after the last. */
  async next(): Promise<Part | null> {
    return this.held.shift() ?? (await this.read());
  }

  /** Reads one part ahead, so that the part handed out is known to be the last when it is. */
  private async read(): Promise<Part | null> {
    if (this.lookahead === null && !this.ended) this.lookahead = await this.pull();
    const bytes = this.lookahead;
    if (bytes === null) {
      this.total ??= this.index;
      return null;
    }
    this.lookahead = this.ended ? null : await this.pull();
    const part = { index: this.index++, bytes };
    if (this.lookahead === null) this.total = this.index;
    if (this.big !== true) this.md5.update(bytes);
    return part;
  }

  /** The next part's bytes from the source, checked against the declared size; null at the end. */
  private async pull(): Promise<Buffer | null> {
    const bytes = await this.reader.next(this.partSize);
    this.readBytes += bytes.length;
    if (this.size !== null && this.readBytes > this.size) {
      throw new FileError(
        'SIZE_MISMATCH',
        `the source has more than the ${this.size} bytes it was said to have`,
      );
    }
    if (bytes.length < this.partSize) {
      this.ended = true;
      if (this.size !== null && this.readBytes < this.size) {
        throw new FileError(
          'SIZE_MISMATCH',
          `the source ended after ${this.readBytes} of ${this.size} bytes`,
        );
      }
    }
    if (bytes.length === 0) return null;
    if (this.index + (this.lookahead ? 2 : 1) > this.maxParts) {
      throw new FileError('FILE_TOO_BIG', `more than ${this.maxParts} parts of ${this.partSize} bytes`);
    }
    return bytes;
  }

  md5Hex(): string {
    return this.md5.digest('hex');
  }
}

/** An upload's parts sent; what `use` needs to mend a missing part. */
interface Uploaded {
  file: InputFile;
  reader: PartReader;
  /** Sends part `index` again (a source that can be read again only). */
  resend(index: number, signal: AbortSignal): Promise<void>;
}

function checkedSize(size: number | undefined): void {
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0))
    throw new FileError('BAD_OPTIONS', `size ${size}`);
}

/** FILE_PARTS_INVALID (api/files): the server takes no such number of parts. */
function partsInvalid(e: unknown): FileError | null {
  const cause = e instanceof FileError ? e.cause : e;
  if (!(cause instanceof RpcError) || cause.errorMessage !== 'FILE_PARTS_INVALID') return null;
  return new FileError(
    'PARTS_INVALID',
    `the server refuses the number of parts (${cause.errorMessage})`,
    cause,
  );
}

async function sendParts(port: FilesPort, source: UploadSource, o: UploadOptions): Promise<Uploaded> {
  const window = windowOf(o.window);
  checkedSize(o.size);
  const reader = await readerOf(source, o.size);
  try {
    const size = reader.size ?? o.size ?? null;
    const maxParts = o.maxParts ?? DEFAULT_MAX_PARTS;
    const plan = planUpload(size, o.partSize, maxParts);
    const feed = new PartFeed(reader, size, plan.partSize, plan.parts, plan.big, maxParts);
    if (plan.big === null) await feed.probe();
    const fileId = o.fileId ?? randomBytes(8).readBigInt64LE(0);
    const timeoutMs = o.partTimeoutMs ?? 60_000;
    const policy = (signal: AbortSignal): RetryPolicy => ({
      retries: o.retries ?? 5,
      maxFloodWaitSec: o.maxFloodWaitSec ?? 60,
      signal,
    });
    const save = async (part: Part, signal: AbortSignal) => {
      const options = { connection: 'upload' as const, signal, timeoutMs };
      const ok = feed.big
        ? await port.call(
            'upload.saveBigFilePart',
            { fileId, filePart: part.index, fileTotalParts: feed.total ?? -1, bytes: part.bytes },
            options,
          )
        : await port.call(
            'upload.saveFilePart',
            { fileId, filePart: part.index, bytes: part.bytes },
            options,
          );
      // boolFalse: the part was not saved (TDLib treats it as a server error): try again.
      if (ok !== true) throw new RpcError(500, 'FILE_PART_NOT_SAVED');
    };
    const send = (part: Part, signal: AbortSignal) =>
      withRetries(() => save(part, signal), policy(signal), `part ${part.index}`, part.index * plan.partSize);
    let sent = 0;
    try {
      await runWindow<Part, void>(
        window,
        {
          next: () => feed.next(),
          run: send,
          take: (part) => {
            sent += part.bytes.length;
            o.onProgress?.({ bytes: sent, total: size });
          },
        },
        { ordered: false, signal: o.signal, budget: o.budget ?? PartBudget.shared },
      );
    } catch (e) {
      throw partsInvalid(e) ?? e;
    }
    const parts = feed.total ?? 0;
    const name = o.name ?? reader.name ?? 'file';
    const file: InputFile = feed.big
      ? { _: 'inputFileBig', id: fileId, parts, name }
      : { _: 'inputFile', id: fileId, parts, name, md5Checksum: feed.md5Hex() };
    const resend = async (index: number, signal: AbortSignal) => {
      const bytes = await (reader.reread as NonNullable<PartReader['reread']>)(
        index * plan.partSize,
        plan.partSize,
      );
      await send({ index, bytes }, signal);
    };
    return { file, reader, resend };
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** Uploads `source`; resolves with the inputFile / inputFileBig to use in a call. Rejects with FileError. */
export async function upload(
  port: FilesPort,
  source: UploadSource,
  o: UploadOptions = {},
): Promise<InputFile> {
  const up = await sendParts(port, source, o);
  await up.reader.close();
  return up.file;
}

const MISSING = /^FILE_PART_(\d+)_MISSING$/;

/**
 * Uploads `source` and runs `use` with the file. FILE_PART_X_MISSING (api/files: "Try
 * repeating the method call to resave the part") sends part X again and runs `use`
 * again, up to `retries` times; FILE_PARTS_INVALID rejects with PARTS_INVALID.
 */
export async function uploadAndUse<R>(
  port: FilesPort,
  source: UploadSource,
  use: UseUploaded<R>,
  o: UploadOptions = {},
): Promise<R> {
  const up = await sendParts(port, source, o);
  const signal = o.signal ?? new AbortController().signal;
  try {
    for (let n = 0; ; n++) {
      try {
        return await use(up.file);
      } catch (e) {
        const missing = e instanceof RpcError ? MISSING.exec(e.errorMessage) : null;
        const part = missing ? Number(missing[1]) : -1;
        if (missing && (!up.reader.reread || part >= up.file.parts)) {
          throw new FileError(
            'PART_MISSING',
            `the server lost part ${part}, and the source cannot be read again`,
            e,
          );
        }
        if (missing && n < (o.retries ?? 5)) {
          await up.resend(part, signal);
          continue;
        }
        if (missing) throw new FileError('PART_MISSING', `the server keeps losing part ${missing[1]}`, e);
        throw partsInvalid(e) ?? e;
      }
    }
  } finally {
    await up.reader.close();
  }
}
