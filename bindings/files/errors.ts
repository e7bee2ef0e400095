// The one error type of file transfers: a stable `code`, the data that explains it, and
// what caused it (an RpcError, a SessionError, a filesystem error) as `cause`.

/** Stable codes of `FileError`. */
export type FileErrorCode =
  | 'BAD_OPTIONS' // an option out of range (part size, window, offset...)
  | 'FILE_EMPTY' // upload: a file of 0 bytes (Telegram takes no empty part: FILE_PART_EMPTY)
  | 'FILE_TOO_BIG' // upload: more parts than `maxParts` (4000 by default: 2000 MiB at 512 KiB)
  | 'SIZE_MISMATCH' // the source or the file ended before (or ran past) the size it was said to have
  | 'SOURCE_FAILED' // reading the source failed (cause: the read error)
  | 'SINK_FAILED' // writing the destination failed (cause: the write error)
  | 'PART_FAILED' // a part failed for good: a refusal, or every retry used (cause: the last error)
  | 'PART_MISSING' // FILE_PART_X_MISSING that cannot be mended (a stream source cannot be read again)
  | 'PARTS_INVALID' // FILE_PARTS_INVALID: the server refuses the number of parts
  | 'BAD_ANSWER' // the server answered outside the rules (more bytes than asked, data after the end)
  | 'CDN_HASH_MISMATCH' // a CDN part does not match its SHA-256 from the master DC: discarded
  | 'CDN_HASH_MISSING' // the master DC gave no hash for a CDN part: it cannot be checked, so it is not used
  | 'ABORTED'; // options.signal aborted (cause: its reason)

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly code: FileErrorCode,
    message: string,
    override readonly cause?: unknown,
    /** Where in the file it happened, when it concerns one part (bytes from the start). */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** FileError ABORTED with the signal's reason as its cause. */
export function abortedBy(signal: AbortSignal): FileError {
  return new FileError('ABORTED', 'the transfer was aborted', signal.reason);
}
