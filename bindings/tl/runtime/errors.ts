// Errors of the TL layer. Each has a stable `code` string and carries its data
// (the constructor id, the byte offset), never the bytes themselves.

/** Base class of every TL codec error. */
export class TlError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

const hex = (id: number) => `#${(id >>> 0).toString(16).padStart(8, '0')}`;

/** The input holds a constructor id that the schema does not know. */
export class TlUnknownConstructorError extends TlError {
  constructor(
    /** The unknown id, unsigned. */
    readonly id: number,
    /** Offset of the id in the input. */
    readonly offset: number,
  ) {
    super('ERR_TL_UNKNOWN_CONSTRUCTOR', `unknown constructor ${hex(id)} at offset ${offset}`);
  }
}

/** A known constructor stands where the schema expects another type. */
export class TlUnexpectedConstructorError extends TlError {
  constructor(
    readonly id: number,
    /** The constructor's name. */
    readonly constructorName: string,
    /** The type the schema expects here. */
    readonly expected: string,
    readonly offset: number,
  ) {
    super(
      'ERR_TL_UNEXPECTED_CONSTRUCTOR',
      `constructor ${constructorName} (${hex(id)}) at offset ${offset} where ${expected} was expected`,
    );
  }
}

/** The input ends before the value being read. */
export class TlTruncatedError extends TlError {
  constructor(
    /** Offset where the value that does not fit starts. */
    readonly offset: number,
    /** Where the input (or the length-delimited part being read) ends. */
    readonly length: number,
  ) {
    super(
      'ERR_TL_TRUNCATED',
      `input truncated: value at offset ${offset} runs past the end (${length} bytes)`,
    );
  }
}

/** Bytes remain after the object (deserialize reads exactly one object). */
export class TlTrailingBytesError extends TlError {
  constructor(
    readonly offset: number,
    readonly remaining: number,
  ) {
    super('ERR_TL_TRAILING_BYTES', `${remaining} bytes left after the object, at offset ${offset}`);
  }
}

/** A value that cannot be valid: a Bool that is neither boolTrue nor boolFalse, a bad length prefix. */
export class TlBadValueError extends TlError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super('ERR_TL_BAD_VALUE', `${message} at offset ${offset}`);
  }
}

/** gzip_packed data that does not inflate, or inflates past the size limit. */
export class TlGzipError extends TlError {
  constructor(
    message: string,
    readonly offset: number,
    code = 'ERR_TL_GZIP',
  ) {
    super(code, `gzip_packed at offset ${offset}: ${message}`);
  }
}

/**
 * The gzip_packed of one decoded object (every layer and every element together)
 * would inflate past `limit` bytes (`MAX_INFLATED`). A TlGzipError, with its own code.
 */
export class TlInflateBudgetError extends TlGzipError {
  constructor(
    readonly limit: number,
    offset: number,
  ) {
    super(`the object's gzip_packed inflate past ${limit} bytes in all`, offset, 'ERR_TL_INFLATE_BUDGET');
  }
}

/**
 * Objects nested deeper than the stack allows, or gzip_packed / message bodies nested
 * past `MAX_NESTING` (then `limit` is set).
 */
export class TlTooDeepError extends TlError {
  constructor(
    readonly offset: number,
    readonly limit?: number,
  ) {
    super(
      'ERR_TL_TOO_DEEP',
      limit === undefined
        ? `objects nested too deeply at offset ${offset}`
        : `gzip_packed or message bodies nested past ${limit} levels at offset ${offset}`,
    );
  }
}

/** An object that cannot be serialized: unknown `_`, a missing field, a value of the wrong kind. */
export class TlSerializeError extends TlError {
  constructor(message: string) {
    super('ERR_TL_SERIALIZE', message);
  }
}
