// The deadline and the abort signal of one call, applied to every wait inside it
// (a pool being opened, a migration, a FLOOD_WAIT sleep), not only to the request.

import { aborted, timedOut } from './call-errors';

/** `p`, unless the deadline passes (TIMEOUT) or `signal` aborts (ABORTED) first. */
export function within<T>(
  p: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  timeoutMs?: number,
): Promise<T> {
  if (deadline === Number.POSITIVE_INFINITY && !signal) return p;
  if (signal?.aborted) return Promise.reject(aborted(signal));
  return new Promise<T>((resolve, reject) => {
    const timer =
      deadline === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => finish(() => reject(timedOut(timeoutMs))), Math.max(0, deadline - Date.now()));
    const onAbort = () => finish(() => reject(aborted(signal as AbortSignal)));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (settle: () => void) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    p.then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}
