// Shared by the session-storage suites: a TestWorld (DCs 2 and 3), open
// options for a stored session, and small waits.
import type { SessionEvent, SessionOpenOptions, SessionStorage } from '../bindings';
import type { TestWorld } from '../bindings/testing';
import { type Adapter, dispose } from './storage-support';

export function storedOptions(
  world: TestWorld,
  storage: SessionStorage,
  name: string,
  extra: Partial<SessionOpenOptions> = {},
): SessionOpenOptions {
  const dc = world.dc(2);
  return {
    address: { host: dc.host, port: dc.port },
    dcAddresses: { 3: { host: world.dc(3).host, port: world.dc(3).port } },
    rsaKeys: [world.rsaPublicKey.pem],
    init: { apiId: 1 },
    reconnect: { baseMs: 10, capMs: 100 },
    storage,
    name,
    ...extra,
    persist: { saveDelayMs: 20, retryBaseMs: 10, ...extra.persist },
  };
}

/** Keys created on every DC of the world (handshakes). */
export function handshakes(world: TestWorld): number {
  let n = 0;
  for (const dc of world.dcs.values()) n += dc.stats.authKeysCreated;
  return n;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function until<T>(fn: () => Promise<T> | T, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves with the first event of `kind` pushed into `events`. */
export function eventOf<K extends SessionEvent['kind']>(
  events: SessionEvent[],
  kind: K,
  ms = 5000,
): Promise<Extract<SessionEvent, { kind: K }>> {
  return until(() => events.find((e) => e.kind === kind) as Extract<SessionEvent, { kind: K }>, ms, kind);
}

/** A fresh storage of one adapter, more connections to the same data, and one cleanup for all. */
export function scoped(a: Adapter): {
  storage: SessionStorage;
  again(): SessionStorage;
  dispose(): Promise<void>;
} {
  const storage = a.create();
  const more: SessionStorage[] = [];
  return {
    storage,
    again() {
      const s = a.reopen(storage);
      if (s !== storage) more.push(s);
      return s;
    },
    async dispose() {
      for (const s of more) await s.close();
      await dispose(storage);
    },
  };
}
