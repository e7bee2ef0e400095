// Opening what a session's connections stand on, with the transport errors a real
// client must honour while doing so (transport-errors.ts): -429 is retried after a
// growing, jittered delay (up to `reconnect.maxAttempts`, default 8 tries), -444 ends
// in BAD_DC at once, and the rest maps to the registry's error codes.

import type { AuthKeyResult } from '../auth';
import type { KeyMaterial } from '../auth/key';
import { proxyFailureCode } from '../transport';
import type { Driver, DriverConfig } from './driver';
import { floodDelay } from './transport-errors';
import { type ReconnectOptions, type SessionAddress, SessionError } from './types';

export type DriverHooks = Pick<DriverConfig, 'onTransportError' | 'onClosed' | 'withoutUpdates'>;

/** How a session makes keys and connections to one DC (built by the session with its options). */
export interface Dialer {
  readonly dcId: number;
  /** The DC's addresses in the order to try. */
  readonly addresses: SessionAddress[];
  readonly reconnect: ReconnectOptions | undefined;
  /** Connecting and the key exchange, ms. */
  readonly timeoutMs: number;
  /** Runs the key exchange with the session's options, by `deadline` (local ms; throws AuthKeyError). */
  exchangeKey(temp: { expiresIn: number } | undefined, deadline: number): Promise<AuthKeyResult>;
  /** A driver over `key` (not started); throws SessionError BAD_OPTIONS. */
  newDriver(key: KeyMaterial, hooks: DriverHooks): Driver;
}

const DEFAULT_FLOOD_TRIES = 8;

function floodTries(host: Dialer): number {
  return host.reconnect?.maxAttempts ?? DEFAULT_FLOOD_TRIES;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Creates a key (temporary with `temp`); -429 retried; by `deadline` (local ms, default
 * connectTimeoutMs from now: the whole of it, retries included). Errors as SessionError.
 */
export async function createKey(
  host: Dialer,
  temp?: { expiresIn: number },
  deadline = Date.now() + host.timeoutMs,
): Promise<AuthKeyResult> {
  const dcId = host.dcId;
  for (let n = 1; ; n++) {
    try {
      return await host.exchangeKey(temp, deadline);
    } catch (e) {
      const err = e as { code?: string; transportCode?: number; message?: string };
      if (err.transportCode === -429 && n < floodTries(host)) {
        const wait = floodDelay(n, host.reconnect);
        if (Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
      }
      if (err.code === 'ERR_AUTH_ABORTED' && Date.now() >= deadline) {
        throw new SessionError('CONNECT_FAILED', `no key with DC ${dcId} within ${host.timeoutMs} ms`, e);
      }
      const what = `key exchange with DC ${dcId} failed: ${err.message}`;
      if (err.transportCode === -444) throw new SessionError('BAD_DC', what, e);
      if (err.transportCode === -429) throw new SessionError('TRANSPORT_FLOOD', what, e);
      const code =
        proxyFailureCode(e) ?? (err.code === 'ERR_AUTH_BAD_OPTIONS' ? 'BAD_OPTIONS' : 'CONNECT_FAILED');
      throw new SessionError(code, what, e);
    }
  }
}

/**
 * A started driver over `key`; -429 while starting is retried on a new connection.
 * `hooks(driver)` gives the driver's hooks (they may need the driver itself).
 */
export async function startDriver(
  host: Dialer,
  key: KeyMaterial,
  hooks: (driver: () => Driver) => DriverHooks = () => ({}),
  deadline = Date.now() + host.timeoutMs,
): Promise<Driver> {
  for (let n = 1; ; n++) {
    let driver: Driver | undefined;
    const d = host.newDriver(
      key,
      hooks(() => {
        if (!driver) throw new Error('the driver is not made yet');
        return driver;
      }),
    );
    driver = d;
    try {
      await d.start(deadline);
      return d;
    } catch (e) {
      if (e instanceof SessionError && e.code === 'TRANSPORT_FLOOD' && n < floodTries(host)) {
        const wait = floodDelay(n, host.reconnect);
        if (Date.now() + wait < deadline) {
          await sleep(wait);
          continue;
        }
      }
      throw e;
    }
  }
}
