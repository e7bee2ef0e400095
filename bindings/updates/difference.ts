// Answers of updates.getState / getDifference / getChannelDifference: checked whole before
// anything is applied (a malformed answer leaves the state as it was), and a difference's
// updates put in the order of their positions.

import type * as TL from '../tl';

const INT32_MAX = 0x7fffffff;

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= INT32_MAX;
}

function isObjectArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const x of v)
    if (x === null || typeof x !== 'object' || typeof (x as { _?: unknown })._ !== 'string') return false;
  return true;
}

/** Why `s` is no updates.state, or undefined when it is one. */
export function stateProblem(s: unknown): string | undefined {
  if (s === null || typeof s !== 'object' || (s as { _?: unknown })._ !== 'updates.state')
    return 'not an updates.state';
  const o = s as TL.Objects['updates.state'];
  if (!isInt(o.pts) || !isInt(o.qts) || !isInt(o.seq) || !isInt(o.date))
    return 'a counter of the state is out of range';
  return undefined;
}

/** Why a getDifference answer cannot be applied on (pts, qts), or undefined. */
export function differenceProblem(d: unknown, pts: number, qts: number): string | undefined {
  if (d === null || typeof d !== 'object') return 'not an object';
  const o = d as TL.Types['updates.Difference'];
  switch (o._) {
    case 'updates.differenceEmpty':
      return isInt(o.date) && isInt(o.seq) ? undefined : 'differenceEmpty: date or seq out of range';
    case 'updates.differenceTooLong':
      if (!isInt(o.pts)) return 'differenceTooLong: pts out of range';
      return o.pts < pts ? `differenceTooLong: pts ${o.pts} is behind ${pts}` : undefined;
    case 'updates.difference':
    case 'updates.differenceSlice': {
      const state = o._ === 'updates.difference' ? o.state : o.intermediateState;
      const bad = stateProblem(state);
      if (bad) return `${o._}: ${bad}`;
      if (state.pts < pts || state.qts < qts)
        return `${o._}: the state goes back (pts ${state.pts}, qts ${state.qts})`;
      for (const k of ['newMessages', 'newEncryptedMessages', 'otherUpdates', 'chats', 'users'] as const)
        if (!isObjectArray(o[k])) return `${o._}: ${k} is not a list of objects`;
      return undefined;
    }
    default:
      return 'not an updates.Difference';
  }
}

/** Why a getChannelDifference answer cannot be applied on `pts`, or undefined. */
export function channelDifferenceProblem(d: unknown, pts: number): string | undefined {
  if (d === null || typeof d !== 'object') return 'not an object';
  const o = d as TL.Types['updates.ChannelDifference'];
  if (o.timeout !== undefined && !isInt(o.timeout)) return 'timeout out of range';
  switch (o._) {
    case 'updates.channelDifferenceEmpty':
      if (!isInt(o.pts)) return 'channelDifferenceEmpty: pts out of range';
      return o.pts < pts ? `channelDifferenceEmpty: pts ${o.pts} is behind ${pts}` : undefined;
    case 'updates.channelDifferenceTooLong': {
      const dialog = o.dialog as { _?: unknown; pts?: unknown } | undefined;
      if (dialog?._ !== 'dialog' || !isInt(dialog.pts)) return 'channelDifferenceTooLong: no dialog pts';
      for (const k of ['messages', 'chats', 'users'] as const)
        if (!isObjectArray(o[k])) return `channelDifferenceTooLong: ${k} is not a list of objects`;
      return undefined;
    }
    case 'updates.channelDifference':
      if (!isInt(o.pts)) return 'channelDifference: pts out of range';
      if (o.pts < pts) return `channelDifference: pts ${o.pts} is behind ${pts}`;
      for (const k of ['newMessages', 'otherUpdates', 'chats', 'users'] as const)
        if (!isObjectArray(o[k])) return `channelDifference: ${k} is not a list of objects`;
      return undefined;
    default:
      return 'not an updates.ChannelDifference';
  }
}

/** An update of a batch that names its own position. */
export interface Positioned {
  update: TL.Types['Update'];
  end: number;
  count: number;
}

/** An update of a batch in delivery order; `end` -1 when its position is unknown. */
export interface Ordered {
  update: TL.Types['Update'];
  end: number;
  count: number;
}

/**
 * Orders a batch going from position `from` to `to`: `positioned` updates (other_updates
 * with their pts or qts) and `loose` ones (new_messages, new_encrypted_messages: one
 * position each, not named). When the loose ones fill exactly the positions the others
 * leave free, each gets its position and everything leaves in position order; otherwise
 * the loose ones go first without a position (a consumer then de-duplicates them by id).
 * Positioned updates at or before `from` were applied already and are left out.
 */
export function orderBatch<L>(
  from: number,
  to: number,
  positioned: Positioned[],
  loose: readonly L[],
  wrap: (item: L, end: number, count: number) => TL.Types['Update'],
): Ordered[] {
  const fresh = positioned.filter((p) => p.end - p.count >= from && p.end <= to);
  fresh.sort((a, b) => a.end - b.end);
  let covered = 0;
  let prev = from;
  let disjoint = true;
  for (const p of fresh) {
    if (p.end - p.count < prev) disjoint = false;
    prev = p.end;
    covered += p.count;
  }
  const out: Ordered[] = [];
  if (!disjoint || to - from - covered !== loose.length) {
    for (const l of loose) out.push({ update: wrap(l, 0, 0), end: -1, count: 0 });
    for (const p of fresh) out.push(p);
    return out;
  }
  let at = from;
  let next = 0;
  for (const p of fresh) {
    while (at < p.end - p.count) {
      at++;
      out.push({ update: wrap(loose[next++], at, 1), end: at, count: 1 });
    }
    out.push(p);
    at = p.end;
  }
  while (next < loose.length) {
    at++;
    out.push({ update: wrap(loose[next++], at, 1), end: at, count: 1 });
  }
  return out;
}
