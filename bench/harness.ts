// Shared helpers for the benchmarks: measure operations per second and print
// each figure beside a baseline measured in the same run (ratios hold on a
// shared machine where absolute times drift).

import { readFileSync } from 'node:fs';

export interface Measured {
  name: string;
  opsPerSec: number;
  /** Bytes processed per operation, for MB/s. */
  bytesPerOp?: number;
  /** Lowest and highest of the rounds whose median is `opsPerSec`, printed as the spread. */
  spread?: [low: number, high: number];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A row from several rounds: their median, and their range as the spread. */
export function medianOf(name: string, rounds: number[]): Measured {
  return { name, opsPerSec: median(rounds), spread: [Math.min(...rounds), Math.max(...rounds)] };
}

/** Runs `fn` repeatedly for about `ms` milliseconds (after a warm-up) and returns operations per second. */
export function opsPerSecond(fn: () => void, ms = 400): number {
  const warmEnd = performance.now() + Math.min(100, ms / 4);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    now = performance.now();
    if (now - start < ms / 20) batch *= 2;
  }
  return (ops * 1000) / (now - start);
}

/** Like opsPerSecond for an async operation, run `concurrency` at a time. */
export async function opsPerSecondAsync(
  fn: () => Promise<unknown>,
  ms = 1000,
  concurrency = 1,
): Promise<number> {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await fn();
        ops++;
      }
    }),
  );
  return (ops * 1000) / (performance.now() - start);
}

function formatRate(m: Measured): string {
  if (m.bytesPerOp) return `${((m.opsPerSec * m.bytesPerOp) / 1e6).toFixed(1).padStart(9)} MB/s`;
  if (m.opsPerSec >= 1000) return `${(m.opsPerSec / 1000).toFixed(1).padStart(9)} k/s `;
  return `${m.opsPerSec.toFixed(1).padStart(9)} /s  `;
}

/** Prints a table of rows with each one's ratio against the row named `baseline`. */
export function report(title: string, rows: Measured[], baseline: string): void {
  const base = rows.find((r) => r.name === baseline);
  console.log(`\n${title}`);
  for (const r of rows) {
    const ratio = base ? `${(r.opsPerSec / base.opsPerSec).toFixed(2)}x vs ${baseline}` : '';
    const spread = r.spread
      ? `  (${formatRate({ ...r, opsPerSec: r.spread[0] }).trim()} to ${formatRate({ ...r, opsPerSec: r.spread[1] }).trim()})`
      : '';
    console.log(`  ${r.name.padEnd(34)} ${formatRate(r)}  ${ratio}${spread}`);
  }
}

/** CPU time (user + system, in 10 ms ticks) of process `pid` so far, ms; NaN where /proc is not there. */
export function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}
