// Turns the exceptions that escape a read or a write into the typed errors.
// Fixed-size reads rely on DataView's own bounds check: its RangeError means
// the input ended; a stack overflow (also a RangeError) means nesting too deep.
import { TlError, TlSerializeError, TlTooDeepError, TlTruncatedError } from './errors';
import type { TlReader } from './reader';

function isStackOverflow(e: RangeError): boolean {
  return /call stack/i.test(e.message);
}

/** The typed error for an exception thrown while reading with `r`. */
export function readError(e: unknown, r: TlReader): unknown {
  if (e instanceof TlError || !(e instanceof RangeError)) return e;
  if (isStackOverflow(e)) return new TlTooDeepError(r.at(r.pos));
  return new TlTruncatedError(r.at(r.pos), r.at(r.length));
}

/** The typed error for an exception thrown while writing. */
export function writeError(e: unknown): unknown {
  if (e instanceof TlError) return e;
  if (e instanceof TypeError || e instanceof RangeError) {
    const err = new TlSerializeError(
      e instanceof RangeError && isStackOverflow(e) ? 'object nested too deeply (or cyclic)' : e.message,
    );
    (err as { cause?: unknown }).cause = e;
    return err;
  }
  return e;
}
