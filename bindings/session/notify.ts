// Client notification: a client is a function, an object with a handler per
// event kind, or an EventEmitter. A client that throws never breaks the session:
// the error is caught and reported to `onClientError` (never re-thrown).

import type { SessionClient, SessionEvent } from './types';

export type Notify = (event: SessionEvent) => void;

/** One function that delivers an event to any kind of client. */
export function notifier(client: SessionClient | undefined, onClientError: (e: unknown) => void): Notify {
  if (!client) return () => {};
  const call = (fn: () => unknown) => {
    try {
      const r = fn();
      // An async handler's rejection is caught too.
      if (r && typeof (r as Promise<unknown>).then === 'function')
        (r as Promise<unknown>).then(undefined, onClientError);
    } catch (e) {
      onClientError(e);
    }
  };
  if (typeof client === 'function') return (event) => call(() => client(event));
  if (typeof (client as { emit?: unknown }).emit === 'function') {
    const emitter = client as { emit(kind: string, event: SessionEvent): unknown };
    // An EventEmitter throws on 'error' without a listener; no event kind is named 'error'.
    return (event) => call(() => emitter.emit(event.kind, event));
  }
  const handlers = client as Record<string, ((event: SessionEvent) => unknown) | undefined>;
  return (event) => {
    const h = handlers[event.kind];
    if (typeof h === 'function') call(() => h.call(handlers, event));
  };
}
