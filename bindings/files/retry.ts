// Each part is retried on its own: what a retry can mend (a timeout, a server-side
// hiccup, FLOOD_WAIT within the budget) is tried again after a pause; anything else
// (a refusal such as FILE_REFERENCE_EXPIRED, LIMIT_INVALID) fails the transfer at once,
// with the server's error as the cause.

import { SessionError } from '../session/types';
import { FloodWaitError, RpcError } from '../tl';
import { abortedBy, FileError } from './errors';

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** FLOOD_WAIT_X up to this many seconds is waited out. */
  maxFloodWaitSec: number;
  signal: AbortSignal;
}

/** Session errors a new attempt can mend (the connection's own retries did not). */
const TRANSIENT_SESSION = new Set(['TIMEOUT', 'REQUEST_FAILED', 'NOT_CONNECTED']);

/** How long to wait before trying again after `e`, or null when trying again cannot help. */
export function retryDelayMs(e: unknown, attempt: number, maxFloodWaitSec: number): number | null {
  if (e instanceof FloodWaitError) return e.seconds <= maxFloodWaitSec ? e.seconds * 1000 : null;
  const backoff = Math.min(2000, 50 * 2 ** attempt);
  if (e instanceof RpcError) return e.code === 500 || e.code === -503 || e.code === 503 ? backoff : null;
  if (e instanceof SessionError) return TRANSIENT_SESSION.has(e.code) ? backoff : null;
  return null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds. Rejects with FileError PART_FAILED (cause: the last
 * error) when the error cannot be mended or the retries are used up; with the window's
 * abort reason when it stopped meanwhile.
 */
export async function withRetries<R>(
  attempt: () => Promise<R>,
  policy: RetryPolicy,
  what: string,
  offset?: number,
): Promise<R> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (policy.signal.aborted) throw policy.signal.reason ?? abortedBy(policy.signal);
      if (e instanceof FileError) throw e;
      const delay = retryDelayMs(e, n, policy.maxFloodWaitSec);
      if (delay === null || n >= policy.retries) {
        const reason = e instanceof RpcError ? e.errorMessage : ((e as Error)?.message ?? String(e));
        const tries = n + 1;
        throw new FileError(
          'PART_FAILED',
          `${what}: ${reason} (${tries} attempt${tries > 1 ? 's' : ''})`,
          e,
          offset,
        );
      }
      await sleep(delay, policy.signal);
    }
  }
}
