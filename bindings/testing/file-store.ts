// The files of a TestWorld (a lone TestDc is a world of one): uploads in progress, stored
// files (each on one DC: asked elsewhere, FILE_MIGRATE_X), their CDN copies (a token, an
// AES-256-CTR key and IV, whether the CDN holds it), the CDN DCs' public keys, and the
// file faults. Sans-IO: the handlers (file-methods.ts, cdn-dc.ts) read and change it.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type * as TL from '../tl';
import { BytesContent, type FileContent, GeneratedContent } from './file-content';
import { Upload } from './file-rules';
import { TestRpcError } from './rpc';

/** The part of a CDN file each SHA-256 covers (Telegram's CDN hashes 128 KiB parts). */
export const CDN_HASH_PART = 128 * 1024;
/** Hashes given per answer (upload.fileCdnRedirect, upload.getCdnFileHashes, upload.reuploadCdnFile): 1 MiB's worth. */
export const HASHES_PER_ANSWER = 8;

/** A stored file's CDN copy (core.telegram.org/cdn). */
export interface CdnCopy {
  readonly token: Buffer;
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly cdnDcId: number;
  /** Whether the CDN holds it; if not, upload.getCdnFile answers cdnFileReuploadNeeded. */
  present: boolean;
  /** request_tokens the CDN gave out and upload.reuploadCdnFile may redeem. */
  readonly requestTokens: Set<string>;
  readonly file: StoredFile;
}

export interface StoredFile {
  readonly id: bigint;
  readonly accessHash: bigint;
  /** The current file_reference (`renewReference` replaces it; the old one is then stale). */
  fileReference: Buffer;
  /** The DC that holds it. */
  readonly dcId: number;
  readonly content: FileContent;
  readonly mimeType: string;
  readonly date: number;
  /** Served through this CDN copy to clients that say cdn_supported. */
  cdn: CdnCopy | null;
  /** SHA-256 of each 128 KiB part, computed once when first asked. */
  readonly partHashes: Buffer[];
  /** The document (messages.uploadMedia's answer, or a test's message), with the current reference. */
  document: TL.Objects['document'];
  /** Where upload.getFile finds it, with the current reference. */
  location: TL.Objects['inputDocumentFileLocation'];
}

export interface PutOptions {
  /** The DC that holds the file (default: the world's first). */
  dcId?: number;
  mimeType?: string;
  /** Serve it through the world's CDN DC (`reuploadNeeded`: the CDN does not hold it yet). */
  cdn?: boolean | { reuploadNeeded?: boolean };
}

/** Counters of the file methods (a live object). */
export interface FileStats {
  partsSaved: number;
  partsLost: number;
  /** upload.getFile answered with bytes. */
  partsServed: number;
  /** upload.getCdnFile answered with bytes. */
  cdnPartsServed: number;
  redirects: number;
  reuploads: number;
  hashRequests: number;
  /** The most part answers held by `slowParts` at once: how many parts a client had in flight. */
  peakSlowParts: number;
}

/** Faults of the file methods, each for the next `n` times. */
export class FileFaults {
  /** Saved parts answered true but not kept (FILE_PART_X_MISSING later). */
  loseParts = 0;
  /** File part answers held this long, for `slowCount` more of them. */
  slowMs = 0;
  slowCount = 0;
  /** upload.getCdnFile answers with one byte changed. */
  tamperCdn = 0;
  /** Hash lists from the master DC with one hash wrong. */
  wrongHashes = 0;
  /** upload.getCdnFile answers cdnFileReuploadNeeded (the CDN dropped the file). */
  needReupload = 0;

  /** The next `count` file part answers (saveFilePart, saveBigFilePart, getFile, getCdnFile) wait `ms`. */
  slowParts(ms: number, count = Number.POSITIVE_INFINITY): void {
    this.slowMs = Math.max(0, ms);
    this.slowCount = count;
  }

  /** The delay of the next file part answer (ms, 0 for none). */
  takeSlow(): number {
    if (this.slowMs <= 0 || this.slowCount <= 0) return 0;
    this.slowCount--;
    return this.slowMs;
  }

  clear(): void {
    this.loseParts = this.slowMs = this.slowCount = this.tamperCdn = this.wrongHashes = this.needReupload = 0;
  }
}

const NO_BYTES = Buffer.alloc(0);

function fail(code: number, message: string): never {
  throw new TestRpcError(code, message);
}

export class FileStore {
  readonly faults = new FileFaults();
  readonly stats: FileStats = {
    partsSaved: 0,
    partsLost: 0,
    partsServed: 0,
    cdnPartsServed: 0,
    redirects: 0,
    reuploads: 0,
    hashRequests: 0,
    peakSlowParts: 0,
  };
  /**
   * Whether uploaded parts keep their bytes (default). False: each part is checked and
   * counted, then its bytes dropped, as a DC whose disk is elsewhere; a file assembled
   * from such an upload fails with 500 UPLOAD_BYTES_DROPPED. For benches: 64 MiB of parts
   * per upload held in this process's heap put V8 into a full collection every few
   * megabytes for the rest of the run (ArrayBuffer bytes count against a small heap's limit).
   */
  keepUploadedBytes = true;
  private slowNow = 0;
  private readonly uploads = new Map<string, Upload>();
  /** Uploads whose bytes were dropped (keepUploadedBytes false). */
  private readonly dropped = new WeakSet<Upload>();
  private readonly files = new Map<bigint, StoredFile>();
  private readonly copies = new Map<string, CdnCopy>();
  /** The CDN DCs and their RSA public keys (help.getCdnConfig). */
  readonly cdnDcs = new Map<number, string>();
  private nextId = 1n;

  constructor(private readonly defaultDc: () => number) {}

  /** Holds a part answer as the slowParts fault says, counting how many are held at once. */
  async slowPart(sleep: (ms: number) => Promise<void>): Promise<void> {
    const ms = this.faults.takeSlow();
    if (ms <= 0) return;
    this.slowNow++;
    this.stats.peakSlowParts = Math.max(this.stats.peakSlowParts, this.slowNow);
    try {
      await sleep(ms);
    } finally {
      this.slowNow--;
    }
  }

  // --- uploads ------------------------------------------------------------

  private upload(owner: bigint, fileId: bigint, big: boolean, create: boolean): Upload | undefined {
    const key = `${owner}:${big ? 'big' : 'small'}:${fileId}`;
    let u = this.uploads.get(key);
    if (!u && create) {
      u = new Upload(big);
      this.uploads.set(key, u);
    }
    return u;
  }

  /** upload.saveFilePart / saveBigFilePart of `owner` (the user). */
  savePart(owner: bigint, fileId: bigint, big: boolean, index: number, bytes: Buffer, total?: number): void {
    const u = this.upload(owner, fileId, big, true) as Upload;
    // `bytes` may be a view of memory the DC reuses once this query finished
    // (query-bodies.ts): what is kept is a copy.
    u.save(index, this.keepUploadedBytes ? Buffer.from(bytes) : bytes, total);
    if (!this.keepUploadedBytes) {
      u.parts.set(index, NO_BYTES);
      this.dropped.add(u);
    }
    if (this.faults.loseParts > 0) {
      this.faults.loseParts--;
      this.stats.partsLost++;
      u.parts.delete(index);
      return;
    }
    this.stats.partsSaved++;
  }

  /** The contents an inputFile / inputFileBig of `owner` names (FILE_PART_X_MISSING, FILE_PARTS_INVALID...). */
  assemble(owner: bigint, file: TL.Types['InputFile']): FileContent {
    if (file._ === 'inputFileStoryDocument') return fail(400, 'FILE_ID_INVALID');
    const big = file._ === 'inputFileBig';
    const u = this.upload(owner, file.id, big, false);
    if (!u) return fail(400, file.parts >= 1 ? 'FILE_PART_0_MISSING' : 'FILE_PARTS_INVALID');
    if (this.dropped.has(u)) return fail(500, 'UPLOAD_BYTES_DROPPED');
    return u.assemble(file.parts, big ? undefined : (file as TL.Objects['inputFile']).md5Checksum);
  }

  /** Forgets every upload in progress (their parts' memory). */
  clearUploads(): void {
    this.uploads.clear();
  }

  // --- stored files -------------------------------------------------------

  /**
   * Stores a file: given bytes, or `{ size, seed }` for generated ones (any size, no
   * memory). Returns it, with its document and input location.
   */
  put(content: Buffer | FileContent | { size: number; seed: string }, options: PutOptions = {}): StoredFile {
    const c: FileContent = Buffer.isBuffer(content)
      ? new BytesContent(content)
      : 'read' in content
        ? content
        : new GeneratedContent(content.size, content.seed);
    const id = (BigInt(Date.now()) << 20n) + this.nextId++;
    const accessHash = randomBytes(8).readBigInt64LE(0);
    const fileReference = randomBytes(16);
    const dcId = options.dcId ?? this.defaultDc();
    const mimeType = options.mimeType ?? 'application/octet-stream';
    const date = Math.floor(Date.now() / 1000);
    const file: StoredFile = {
      id,
      accessHash,
      fileReference,
      dcId,
      content: c,
      mimeType,
      date,
      cdn: null,
      partHashes: [],
      document: {
        _: 'document',
        id,
        accessHash,
        fileReference,
        date,
        mimeType,
        size: BigInt(c.size),
        dcId,
        attributes: [],
      },
      location: { _: 'inputDocumentFileLocation', id, accessHash, fileReference, thumbSize: '' },
    };
    this.files.set(id, file);
    if (options.cdn) {
      const reuploadNeeded = typeof options.cdn === 'object' && options.cdn.reuploadNeeded === true;
      this.serveThroughCdn(file, !reuploadNeeded);
    }
    return file;
  }

  /** Gives `file` a CDN copy on the world's (first) CDN DC. */
  serveThroughCdn(file: StoredFile, present = true): CdnCopy {
    const cdnDcId = [...this.cdnDcs.keys()][0];
    if (cdnDcId === undefined)
      throw new RangeError('this world has no CDN DC (TestWorld.start({ cdn: ... }))');
    const copy: CdnCopy = {
      token: randomBytes(32),
      key: randomBytes(32),
      iv: randomBytes(16),
      cdnDcId,
      present,
      requestTokens: new Set(),
      file,
    };
    file.cdn = copy;
    this.copies.set(copy.token.toString('hex'), copy);
    return copy;
  }

  /**
   * Gives `file` a new file_reference, as Telegram does after a while (api/file_reference):
   * from now on the old one gets 400 FILE_REFERENCE_EXPIRED. Returns the new location.
   */
  renewReference(file: StoredFile): TL.Objects['inputDocumentFileLocation'] {
    const fileReference = randomBytes(16);
    file.fileReference = fileReference;
    file.document = { ...file.document, fileReference };
    file.location = { ...file.location, fileReference };
    return file.location;
  }

  /** The file a location names, or the 400 Telegram answers. */
  find(location: TL.Types['InputFileLocation']): StoredFile {
    if (location._ !== 'inputDocumentFileLocation') return fail(400, 'LOCATION_INVALID');
    const f = this.files.get(location.id);
    if (!f || f.accessHash !== location.accessHash) return fail(400, 'FILE_ID_INVALID');
    if (!f.fileReference.equals(location.fileReference)) return fail(400, 'FILE_REFERENCE_EXPIRED');
    if (location.thumbSize !== '') return fail(400, 'LOCATION_INVALID');
    return f;
  }

  /** A stored file by id. */
  get(id: bigint): StoredFile | undefined {
    return this.files.get(id);
  }

  /** Forgets a stored file (and its CDN copy). */
  remove(id: bigint): boolean {
    const f = this.files.get(id);
    if (f?.cdn) this.copies.delete(f.cdn.token.toString('hex'));
    return this.files.delete(id);
  }

  // --- CDN ----------------------------------------------------------------

  /** The CDN copy of a file_token, or FILE_TOKEN_INVALID. */
  copy(fileToken: Buffer): CdnCopy {
    return this.copies.get(fileToken.toString('hex')) ?? fail(400, 'FILE_TOKEN_INVALID');
  }

  /** SHA-256 of the file's parts from the one holding `offset` (128 KiB each), at most `count`. */
  hashes(file: StoredFile, offset: number, count = HASHES_PER_ANSWER): TL.Objects['fileHash'][] {
    this.stats.hashRequests++;
    const size = file.content.size;
    const out: TL.Objects['fileHash'][] = [];
    for (let at = offset - (offset % CDN_HASH_PART); at < size && out.length < count; at += CDN_HASH_PART) {
      const limit = Math.min(CDN_HASH_PART, size - at);
      const i = at / CDN_HASH_PART;
      file.partHashes[i] ??= createHash('sha256').update(file.content.read(at, limit)).digest();
      out.push({ _: 'fileHash', offset: BigInt(at), limit, hash: file.partHashes[i] });
    }
    if (this.faults.wrongHashes > 0 && out.length > 0) {
      this.faults.wrongHashes--;
      const last = out[out.length - 1];
      const wrong = Buffer.from(last.hash);
      wrong[0] ^= 0xff;
      out[out.length - 1] = { ...last, hash: wrong };
    }
    return out;
  }

  /** The CDN's bytes: the file encrypted with AES-256-CTR, IV's last 4 bytes = offset / 16 big-endian. */
  encrypted(copy: CdnCopy, offset: number, length: number): Buffer {
    const plain = copy.file.content.read(offset, length);
    const iv = Buffer.from(copy.iv);
    iv.writeUInt32BE(Math.floor(offset / 16) >>> 0, 12);
    const out = createCipheriv('aes-256-ctr', copy.key, iv).update(plain);
    if (this.faults.tamperCdn > 0 && out.length > 0) {
      this.faults.tamperCdn--;
      out[out.length >> 1] ^= 0x01;
    }
    return out;
  }
}
