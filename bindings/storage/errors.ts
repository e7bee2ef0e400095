// Errors of the storage layer, each with a stable `code`. Messages name the
// session and the owner, never key material.

export class StorageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The session is held by another owner whose lease has not expired. */
export class SessionLockedError extends StorageError {
  declare readonly code: 'ERR_SESSION_LOCKED';
  constructor(
    readonly session: string,
    /** Who holds it. */
    readonly owner: string,
    /** ms since the epoch when that lease runs out unless renewed. */
    readonly expiresAt: number,
  ) {
    super(
      'ERR_SESSION_LOCKED',
      `session "${session}" is in use by ${owner} until ${new Date(expiresAt).toISOString()}: ` +
        'one auth key must not run in two places at once (AUTH_KEY_DUPLICATED)',
    );
  }
}

/** renew() or a fenced save found no lease held by this owner (it expired and is gone). */
export class SessionLeaseLostError extends StorageError {
  declare readonly code: 'ERR_SESSION_LEASE_LOST';
  constructor(
    readonly session: string,
    readonly owner: string,
  ) {
    super('ERR_SESSION_LEASE_LOST', `session "${session}": ${owner} no longer holds its lease`);
  }
}

/** An optional database driver is not installed. */
export class StorageDriverMissingError extends StorageError {
  declare readonly code: 'ERR_STORAGE_DRIVER_MISSING';
  constructor(
    readonly driver: string,
    readonly range: string,
    cause: unknown,
  ) {
    super(
      'ERR_STORAGE_DRIVER_MISSING',
      `this storage adapter needs the "${driver}" package: npm install ${driver}@${range}`,
      { cause },
    );
  }
}

/** A stored record or a session string that cannot be decoded. */
export class SessionDecodeError extends StorageError {
  declare readonly code: 'ERR_SESSION_DECODE';
  constructor(message: string) {
    super('ERR_SESSION_DECODE', message);
  }
}

/** A record that cannot be stored as given (wrong key length, bad DC id...). */
export class SessionRecordError extends StorageError {
  declare readonly code: 'ERR_SESSION_RECORD';
  constructor(message: string) {
    super('ERR_SESSION_RECORD', message);
  }
}

/** Encrypted key material that no configured key opens (wrong key or tampered). */
export class SessionKeyDecryptError extends StorageError {
  declare readonly code: 'ERR_SESSION_KEY_DECRYPT';
  constructor(message: string) {
    super('ERR_SESSION_KEY_DECRYPT', message);
  }
}
