// A generation's connections and the routing of calls among them: the main
// connection, plus upload and download connections opened on demand (the `pool`
// option), each its own MTProto session on the generation's key. File parts go
// to upload connections, file reads to download connections (or
// `CallOptions.connection`), to the one with the fewest pending requests;
// another one opens when all are busy, up to the configured count; one with
// nothing pending for `idleMs` closes.

import type { KeyMaterial } from '../../auth/key';
import type { Driver } from '../driver';
import type { ConnectionKind } from '../types';
import type { GenerationId } from './key-schedule';
import type { TempKey } from './temp-keys';

export type ExtraKind = Exclude<ConnectionKind, 'main'>;

/** The connection kind of a method when the call does not name one. */
export function connectionKindOf(method: string): ConnectionKind {
  switch (method) {
    case 'upload.saveFilePart':
    case 'upload.saveBigFilePart':
      return 'upload';
    case 'upload.getFile':
    case 'upload.getFileHashes':
    case 'upload.getCdnFile':
    case 'upload.getCdnFileHashes':
    case 'upload.getWebFile':
      return 'download';
    default:
      return 'main';
  }
}

/** Connections on one key (a temporary key under PFS). */
export class Generation {
  readonly extras: Record<ExtraKind, Driver[]> = { upload: [], download: [] };
  private readonly opening: Record<ExtraKind, Promise<Driver> | null> = { upload: null, download: null };
  private readonly lastUsed = new Map<Driver, number>();
  /** Replaced by a newer generation: nothing new goes here. */
  draining = false;

  constructor(
    readonly id: GenerationId,
    readonly key: KeyMaterial,
    readonly temp: TempKey | null,
    readonly main: Driver,
  ) {}

  drivers(): Driver[] {
    return [this.main, ...this.extras.upload, ...this.extras.download];
  }

  /**
   * The connection for a call of `kind` (not 'main'): the least loaded extra one,
   * after asking `open` for another when all are busy and fewer than `max` exist.
   * While the first one opens, calls wait for it; without any, the main one serves.
   */
  pick(kind: ExtraKind, max: number, open: () => Promise<Driver>): Driver | Promise<Driver> {
    let best: Driver | undefined;
    for (const d of this.extras[kind]) {
      if (d.status === 'closed' || d.status === 'failed') continue;
      if (!best || d.outstanding < best.outstanding) best = d;
    }
    const busy = !best || best.outstanding > 0;
    if (busy && !this.opening[kind] && this.extras[kind].length < max) {
      const p = open().finally(() => {
        this.opening[kind] = null;
      });
      this.opening[kind] = p;
    }
    if (!best) return this.opening[kind] ?? this.main;
    this.lastUsed.set(best, Date.now());
    return best;
  }

  /** An extra connection of `kind` came up: it takes calls from now on. */
  addExtra(kind: ExtraKind, d: Driver): void {
    this.extras[kind].push(d);
    this.lastUsed.set(d, Date.now());
  }

  /** `d` closed: it is no longer a candidate. */
  forget(d: Driver): void {
    for (const k of ['upload', 'download'] as const) {
      const i = this.extras[k].indexOf(d);
      if (i >= 0) this.extras[k].splice(i, 1);
    }
    this.lastUsed.delete(d);
  }

  /** Extra connections with nothing pending for `idleMs` as of `now`. */
  idle(idleMs: number, now: number): Driver[] {
    const out: Driver[] = [];
    for (const kind of ['upload', 'download'] as const) {
      for (const d of this.extras[kind]) {
        if (d.outstanding === 0 && now - (this.lastUsed.get(d) ?? 0) >= idleMs) out.push(d);
      }
    }
    return out;
  }

  /** Open connections by kind (tests, diagnostics). */
  counts(): Record<ConnectionKind, number> {
    return { main: 1, upload: this.extras.upload.length, download: this.extras.download.length };
  }
}
