// The errors a call settles with when no answer decides it: its deadline passed, its
// signal aborted, or the link gave the request up.

import { SessionError } from './types';

/** SessionError TIMEOUT for a call bounded by `timeoutMs`. */
export function timedOut(timeoutMs: number | undefined): SessionError {
  return new SessionError('TIMEOUT', `no answer within ${timeoutMs} ms`);
}

/** SessionError ABORTED, with the signal's reason as its cause. */
export function aborted(signal: AbortSignal): SessionError {
  return new SessionError('ABORTED', 'the call was aborted', signal.reason);
}

/** Why the link gave a request up, as the caller's error. */
export function linkFailure(
  reason: 'REJECTED' | 'ANSWER_DROPPED' | 'RESENT_TOO_OFTEN',
  code: number,
): SessionError {
  switch (reason) {
    case 'ANSWER_DROPPED':
      return new SessionError('ANSWER_DROPPED', 'the answer came in a message that could not be read');
    case 'RESENT_TOO_OFTEN':
      return new SessionError('RESENT_TOO_OFTEN', 'the request was sent again too often without an answer');
    default:
      return new SessionError('REQUEST_FAILED', `the server refused the request (code ${code})`);
  }
}
