// Figures for the demo's summary: latency percentiles and memory snapshots.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The p-th percentile (0..100) of `samples` by nearest rank; sorts a copy. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export interface Memory {
  heap: number;
  external: number;
  rss: number;
}

/** A full GC: node's own when started with --expose-gc, else V8's exposed on demand. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let gc: (() => void) | undefined;

/**
 * Heap, external (Buffers and native memory V8 is told about) and RSS, after full
 * GCs with turns of the event loop between them (napi finalizers run there).
 */
export async function memory(): Promise<Memory> {
  gc ??= collector();
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function rate(count: number, ms: number): string {
  const perSec = (count * 1000) / ms;
  return perSec >= 1000 ? `${(perSec / 1000).toFixed(1)}k/s` : `${perSec.toFixed(0)}/s`;
}
