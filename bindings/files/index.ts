// Files: chunked parallel upload and download, FILE_MIGRATE, CDN DCs (see README.md).
export { DEFAULT_BUDGET_PARTS, PartBudget } from './budget';
export { CdnUnavailable, ivAt } from './cdn';
export { CdnHashes, checkParts, type FileHash } from './cdn-hashes';
export { download, type FileLocation } from './download';
export { FileError, type FileErrorCode } from './errors';
export {
  BIG_FILE_ABOVE,
  type ChunkRequest,
  chunkAt,
  DEFAULT_MAX_PARTS,
  MAX_DOWNLOAD_PART,
  MAX_UPLOAD_PART,
  planUpload,
  type UploadPlan,
} from './parts';
export type {
  DownloadOptions,
  DownloadResult,
  DownloadTarget,
  FileCallOptions,
  FileProgress,
  FilesPort,
  InputFile,
  TransferOptions,
  UploadOptions,
  UploadSource,
  UseUploaded,
} from './types';
export { upload, uploadAndUse } from './upload';
