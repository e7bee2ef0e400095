// Downloads (core.telegram.org/api/files#downloading-files): upload.getFile in parts
// planned by parts.ts, fetched in a window over the download connections, handed to the
// destination in order. FILE_MIGRATE_X moves the parts to DC X (the session connects
// there, authorized as at home, media-only addresses first); upload.fileCdnRedirect moves
// them to the CDN DC (cdn.ts), and back to the file's DC if the CDN gives up.

import type * as TL from '../tl';
import { MigrateError, RpcError } from '../tl';
import { PartBudget } from './budget';
import { CdnFile, type CdnRedirect, CdnUnavailable } from './cdn';
import { abortedBy, FileError } from './errors';
import { alignedStart, type ChunkRequest, checkDownloadPartSize, chunkAt, MAX_DOWNLOAD_PART } from './parts';
import { withRetries } from './retry';
import { BufferSink, type ChunkSink, fileSink, streamSink } from './sinks';
import type { DownloadOptions, DownloadResult, FilesPort } from './types';
import { NOT_YET, runWindow, windowOf } from './window';

export type FileLocation = TL.Types['InputFileLocation'];

/** FILE_MIGRATE hops one part may follow (a DC that sends it on and on is broken). */
const MAX_HOPS = 4;

/**
 * Fresh file references one download may ask `refreshLocation` for: a reference that
 * expires again at once, over and over, is not going to start working.
 */
const MAX_REFRESHES = 3;

/** FILE_REFERENCE_EXPIRED and its kin (api/file_reference): the reference must be fetched again. */
function isReferenceStale(e: unknown): e is RpcError {
  return e instanceof RpcError && /^FILE_REFERENCE_(\d+_)?(EXPIRED|INVALID)$/.test(e.errorMessage);
}

function nonNegativeInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
    throw new FileError('BAD_OPTIONS', `${name} ${v}`);
}

/** One download: where the file is (its DC, a CDN) and what was handed over. */
class Download {
  /** The DC the parts go to (undefined: the session's own) until FILE_MIGRATE_X says. */
  dc: number | undefined;
  /** Where the file is: the caller's location, or the one `refreshLocation` gave last. */
  private location: FileLocation;
  /** A refresh under way: every part that hit the stale reference waits for this one. */
  private refreshing: Promise<void> | null = null;
  private refreshes = 0;
  private cdnSupported: boolean;
  private cdn: CdnFile | null = null;
  usedCdn = false;
  /** Where the file ends, once a short answer said so. */
  private endsAt: number | null = null;
  private nextOffset: number;
  /** Whether an answer came yet: until then one part goes alone (it may be FILE_MIGRATE or a CDN redirect). */
  private answered = false;
  written = 0;
  /** Where a request's bytes will end up in the destination, when it holds that memory (ChunkSink.placeOf). */
  placeOf: (r: ChunkRequest) => Buffer | undefined = () => undefined;

  constructor(
    private readonly port: FilesPort,
    location: FileLocation,
    private readonly o: DownloadOptions,
    private readonly partSize: number,
    start: number,
    /** Where to stop (offset + length, or the size), when known. */
    private readonly end: number | null,
    private readonly timeoutMs: number,
  ) {
    this.dc = o.dcId;
    this.location = location;
    this.cdnSupported = o.cdn !== false;
    this.nextOffset = alignedStart(start, o.precise);
    this.firstOffset = this.nextOffset;
  }

  private readonly firstOffset: number;

  /** The next request, until the known end (or the end a short answer showed). */
  next(): ChunkRequest | null | typeof NOT_YET {
    const stop = Math.min(this.end ?? Number.POSITIVE_INFINITY, this.endsAt ?? Number.POSITIVE_INFINITY);
    if (this.nextOffset >= stop) return null;
    if (!this.answered && this.nextOffset !== this.firstOffset) return NOT_YET;
    const r = chunkAt(this.nextOffset, this.partSize, this.end, this.o.precise);
    this.nextOffset += r.limit;
    return r;
  }

  /** A request's bytes: from the file's DC or its CDN, with FILE_MIGRATE followed. */
  async fetch(r: ChunkRequest, signal: AbortSignal): Promise<Buffer> {
    const bytes = await withRetries(
      () => this.fetchOnce(r, signal),
      this.policy(signal),
      `the part at ${r.offset}`,
      r.offset,
    );
    this.answered = true;
    if (bytes.length > r.limit) {
      throw new FileError(
        'BAD_ANSWER',
        `${bytes.length} bytes for a limit of ${r.limit}`,
        undefined,
        r.offset,
      );
    }
    // A short answer is the end of the file: nothing past it is asked for.
    if (bytes.length < r.limit)
      this.endsAt = Math.min(this.endsAt ?? Number.POSITIVE_INFINITY, r.offset + bytes.length);
    return bytes;
  }

  private policy(signal: AbortSignal) {
    return { retries: this.o.retries ?? 5, maxFloodWaitSec: this.o.maxFloodWaitSec ?? 60, signal };
  }

  private async fetchOnce(r: ChunkRequest, signal: AbortSignal): Promise<Buffer> {
    for (let hops = 0; ; hops++) {
      if (this.cdn) {
        try {
          return await this.cdn.read(r.offset, r.limit, signal);
        } catch (e) {
          if (!(e instanceof CdnUnavailable)) throw e;
          // cdn: "Continue downloading the file from the master DC using upload.getFile".
          this.cdn = null;
          this.cdnSupported = false;
          continue;
        }
      }
      let answer: TL.Types['upload.File'];
      const dc = this.dc;
      const location = this.location;
      try {
        answer = await this.port.call(
          'upload.getFile',
          {
            location,
            offset: BigInt(r.offset),
            limit: r.limit,
            precise: this.o.precise || undefined,
            cdnSupported: this.cdnSupported || undefined,
          },
          { dc, connection: 'download', signal, timeoutMs: this.timeoutMs, into: this.placeOf(r) },
        );
      } catch (e) {
        if (e instanceof MigrateError && e.errorMessage.startsWith('FILE_MIGRATE_') && hops < MAX_HOPS) {
          // The file lives on DC X: this part and every later one go there.
          if (this.dc === dc) this.dc = e.dcId;
          continue;
        }
        if (isReferenceStale(e) && this.o.refreshLocation) {
          await this.refreshed(location, e, signal);
          continue;
        }
        throw e;
      }
      if (answer._ === 'upload.file') return answer.bytes;
      if (!this.cdnSupported) {
        // Asked without cdn_supported (or after leaving the CDN): a redirect breaks the rules.
        if (this.o.cdn === false || hops >= MAX_HOPS) {
          throw new FileError(
            'BAD_ANSWER',
            'upload.fileCdnRedirect without cdn_supported',
            undefined,
            r.offset,
          );
        }
        continue;
      }
      this.toCdn(answer);
    }
  }

  /**
   * The file reference in `stale` expired: once `refreshLocation` gave a new location,
   * every part goes again with it. One call serves all the parts that hit it; a part that
   * was sent with a location replaced since just goes again.
   */
  private async refreshed(stale: FileLocation, error: RpcError, signal: AbortSignal): Promise<void> {
    if (this.location === stale && !this.refreshing) {
      if (this.refreshes >= MAX_REFRESHES) throw error;
      this.refreshes++;
      const refresh = this.o.refreshLocation as NonNullable<DownloadOptions['refreshLocation']>;
      this.refreshing = Promise.resolve()
        .then(() => refresh(error))
        .then(
          (fresh) => {
            this.location = fresh;
          },
          (cause: unknown) => {
            throw new FileError('PART_FAILED', 'refreshLocation failed', cause);
          },
        )
        .finally(() => {
          this.refreshing = null;
        });
    }
    if (this.refreshing) await this.refreshing;
    if (signal.aborted) throw abortedBy(signal);
  }

  /** upload.fileCdnRedirect: later parts come from that CDN DC (one CdnFile per token). */
  private toCdn(redirect: CdnRedirect): void {
    if (this.cdn?.redirect.fileToken.equals(redirect.fileToken)) return;
    this.cdn = new CdnFile(this.port, redirect, this.dc, this.timeoutMs);
    this.usedCdn = true;
  }

  /** After `r`'s bytes went to the destination: hashes of parts before it are not needed again. */
  handedOver(end: number): void {
    this.cdn?.hashes.forgetBelow(end);
  }
}

function targetSink(
  o: DownloadOptions,
  start: number,
  expected: number | null,
): Promise<ChunkSink> | ChunkSink {
  const to = o.to;
  if (to === undefined) return new BufferSink(expected);
  if (typeof to === 'string') return fileSink(to, start, o.length === undefined);
  if (typeof (to as { write?: unknown }).write === 'function') return streamSink(to);
  throw new FileError('BAD_OPTIONS', 'download `to`: a file path or a writable stream');
}

/**
 * Downloads `location` in parts (see the file's header). Resolves with the bytes (no
 * `to`), or how many went to `to`. Rejects with FileError.
 */
export async function download(
  port: FilesPort,
  location: FileLocation,
  o: DownloadOptions = {},
): Promise<Buffer | DownloadResult> {
  const partSize = o.partSize ?? MAX_DOWNLOAD_PART;
  checkDownloadPartSize(partSize);
  const window = windowOf(o.window);
  nonNegativeInt('offset', o.offset);
  nonNegativeInt('length', o.length);
  nonNegativeInt('size', o.size);
  const start = o.offset ?? 0;
  const end = o.length !== undefined ? start + o.length : (o.size ?? null);
  const timeoutMs = o.partTimeoutMs ?? 60_000;
  const job = new Download(port, location, o, partSize, start, end, timeoutMs);
  const total = end === null ? null : Math.max(0, end - start);
  const sink = await targetSink(o, start, total);
  const placeOf = sink.placeOf?.bind(sink);
  // A part from `start` on can be written into the destination as it is decrypted.
  if (placeOf) job.placeOf = (r) => (r.offset >= start ? placeOf(r.offset - start, r.limit) : undefined);
  // Bytes seen so far: where the next answer starts, and whether the file ended.
  let position = alignedStart(start, o.precise);
  let ended = false;
  try {
    await runWindow<ChunkRequest, Buffer>(
      window,
      {
        next: () => job.next(),
        run: (r, signal) => job.fetch(r, signal),
        take: async (r, bytes) => {
          if (ended) {
            if (bytes.length > 0)
              throw new FileError('BAD_ANSWER', 'data past the end of the file', undefined, r.offset);
            return;
          }
          position = r.offset + bytes.length;
          if (bytes.length < r.limit) ended = true;
          // Bytes before `start` (an aligned first request) and after `end` are not the caller's.
          const from = Math.max(0, start - r.offset);
          const to = end === null ? bytes.length : Math.min(bytes.length, end - r.offset);
          if (to > from) {
            await sink.write(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to));
            job.written += to - from;
            o.onProgress?.({ bytes: job.written, total });
          }
          job.handedOver(position);
        },
      },
      { ordered: true, signal: o.signal, budget: o.budget ?? PartBudget.shared },
    );
    if (o.size !== undefined && o.length === undefined && job.written !== total) {
      throw new FileError('SIZE_MISMATCH', `the file has ${job.written} bytes from ${start}, not ${total}`);
    }
    await sink.finish();
  } catch (e) {
    await sink.abandon();
    throw e;
  }
  if (sink instanceof BufferSink && o.to === undefined) return sink.result();
  return { bytes: job.written, dcId: job.dc, cdn: job.usedCdn };
}
