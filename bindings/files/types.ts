// Public types of file transfers (bindings/files/README.md).

import type { Readable, Writable } from 'node:stream';
import type * as TL from '../tl';
import type { RpcError } from '../tl';
import type { PartBudget } from './budget';

/** A call as a file transfer makes it: the session's `call` with its options (narrowed). */
export interface FileCallOptions {
  /** 'upload' and 'download': the session's extra connections for files. */
  connection?: 'main' | 'upload' | 'download';
  /** The DC the call runs on (FILE_MIGRATE_X, a CDN DC). */
  dc?: number;
  /** `dc` is a CDN DC (upload.fileCdnRedirect). */
  cdn?: boolean;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Where upload.getFile's bytes may land (CallOptions.into). */
  into?: Buffer;
}

/** What a transfer needs from a session: one call at a time, typed by the TL layer. */
export interface FilesPort {
  call<M extends TL.MethodName>(
    method: M,
    params: TL.Params<M>,
    options?: FileCallOptions,
  ): Promise<TL.Result<M>>;
}

/** Where an upload reads from: bytes, a file path, or a stream (its length may be unknown). */
export type UploadSource = Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

/** Where a download writes: a file path, or a writable stream. Without one, it resolves with a Buffer. */
export type DownloadTarget = string | Writable;

/** How far a transfer got. */
export interface FileProgress {
  /** Bytes sent (upload: acknowledged parts) or handed to the destination (download). */
  bytes: number;
  /** The whole size, when known. */
  total: number | null;
}

/** What both directions share. */
export interface TransferOptions {
  /** Part size in bytes (upload: a multiple of 1 KiB dividing 512 KiB; download: a power of two, 4 KiB to 512 KiB). */
  partSize?: number;
  /** Parts in flight at once, and the most parts held in memory (default 8). */
  window?: number;
  /** Attempts of each part after its first (default 5). */
  retries?: number;
  /** One part's call, ms (default 60000): a part that takes longer is sent again. */
  partTimeoutMs?: number;
  /** FLOOD_WAIT_X on a part is waited out up to this many seconds, then fails the transfer (default 60). */
  maxFloodWaitSec?: number;
  onProgress?: (progress: FileProgress) => void;
  signal?: AbortSignal;
  /**
   * The parts this transfer may hold counts against this budget, shared with every
   * transfer given the same one (default `PartBudget.shared`: 512 parts, 256 MiB at
   * 512 KiB, for the whole process). A transfer waits for a unit before it reads or asks
   * for a part, and gives it back once the part was handed over.
   */
  budget?: PartBudget;
}

export interface UploadOptions extends TransferOptions {
  /** InputFile.name (default: the path's base name, else 'file'). */
  name?: string;
  /** A stream's length in bytes, when known (a Buffer's and a path's are known). */
  size?: number;
  /** Most parts the server takes (upload_max_fileparts_default 4000, premium 8000). */
  maxParts?: number;
  /** The file id (random by default). */
  fileId?: bigint;
}

/** An uploaded file, for inputMediaUploadedDocument, photos.uploadProfilePhoto and the like. */
export type InputFile = TL.Objects['inputFile'] | TL.Objects['inputFileBig'];

/**
 * Runs with the uploaded file (messages.sendMedia, messages.uploadMedia...). When it fails
 * with FILE_PART_X_MISSING (the server lost a part), part X is sent again and it runs again.
 */
export type UseUploaded<R> = (file: InputFile) => Promise<R>;

export interface DownloadOptions extends TransferOptions {
  /** The file's DC (document.dc_id, photo.dc_id...): else the session's, until FILE_MIGRATE_X says. */
  dcId?: number;
  /** The file's size when known (document.size): the parts are planned from it. */
  size?: number;
  /** Start here (resume): bytes before it are neither fetched nor written. A file target is written from this position. */
  offset?: number;
  /** Bytes to fetch from `offset` (default: to the end). */
  length?: number;
  /** upload.getFile's `precise` (1 KiB alignment, e.g. streaming by key frames); not for CDN files. */
  precise?: boolean;
  /** Say cdn_supported, follow upload.fileCdnRedirect (default true). */
  cdn?: boolean;
  /** Where to write (default: a Buffer is returned). */
  to?: DownloadTarget;
  /**
   * Called when the server says the location's file reference went stale
   * (FILE_REFERENCE_EXPIRED / _INVALID, api/file_reference): resolve with the location
   * carrying a fresh `fileReference` (fetch the message, the sticker set... again). The
   * download goes on from where it was; one call serves every part waiting, at most 3
   * per download. Without it the stale reference fails the part (PART_FAILED, cause the
   * RpcError): resume with `offset` once the caller has a new reference.
   */
  refreshLocation?: (error: RpcError) => Promise<TL.Types['InputFileLocation']>;
}

/** What a download to a path or a stream resolves with. */
export interface DownloadResult {
  /** Bytes written (from `offset`). */
  bytes: number;
  /** The DC that holds the file (after FILE_MIGRATE_X). */
  dcId: number | undefined;
  /** Whether the file came through a CDN DC (upload.fileCdnRedirect). */
  cdn: boolean;
}
