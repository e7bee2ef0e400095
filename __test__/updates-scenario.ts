// The catch-up scenario shared by our engine and the peer clients against TestDc: a bot
// in N channels; a warm-up (one message in each box, no fault) so that every client knows
// its channels; then updates across the common box and the channels with pushes dropped,
// reordered and duplicated; then what each client saw, box by box, against the log.

import type {
  GeneratedUpdate,
  GenerateOptions,
  PushStats,
  TestChannel,
  TestDc,
  UpdateFaults,
} from '../bindings/testing';
import type { DeliveredUpdate } from '../bindings/updates';

export const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

/** What a client saw of one box: message ids (qts for 'qts'), in arrival order. */
export type Seen = Map<string, number[]>;

export function see(seen: Seen, box: string, id: number): void {
  const l = seen.get(box);
  if (l) l.push(id);
  else seen.set(box, [id]);
}

/** Our engine's deliveries as Seen. */
export function seenOfDelivered(delivered: readonly DeliveredUpdate[]): Seen {
  const seen: Seen = new Map();
  for (const d of delivered) {
    const u = d.update;
    if (u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage')
      see(seen, String(d.box), u.message.id);
    else if (u._ === 'updateBotStopped') see(seen, 'qts', u.qts);
  }
  return seen;
}

/** What the log made, per box, in order. */
export function expectedOf(events: readonly GeneratedUpdate[]): Seen {
  const m: Seen = new Map();
  for (const e of events) {
    if (e.kind === 'qts') see(m, 'qts', e.position);
    else see(m, String(e.box), e.messageId!);
  }
  return m;
}

export interface Comparison {
  expected: number;
  /** Expected updates seen at least once. */
  delivered: number;
  missing: number;
  /** Extra copies of updates seen more than once. */
  duplicates: number;
  /** Boxes whose first sightings are not in the log's order. */
  outOfOrderBoxes: number;
  /** Every box exactly as the log: once each, in order. */
  exact: boolean;
}

/** `seen` against `expected`, counting only ids the scenario made (warm-up excluded). */
export function compare(expected: Seen, seen: Seen): Comparison {
  let total = 0;
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let exact = true;
  for (const [box, ids] of expected) {
    const wanted = new Set(ids);
    const got = (seen.get(box) ?? []).filter((id) => wanted.has(id));
    const unique = new Set(got);
    total += ids.length;
    delivered += unique.size;
    duplicates += got.length - unique.size;
    const firsts = [...unique];
    if (firsts.some((v, i) => i > 0 && v < firsts[i - 1])) outOfOrder++;
    if (got.length !== ids.length || got.some((v, i) => v !== ids[i])) exact = false;
  }
  return {
    expected: total,
    delivered,
    missing: total - delivered,
    duplicates,
    outOfOrderBoxes: outOfOrder,
    exact,
  };
}

/** Channels with the bot as member, and one warm-up message in each box (no fault). */
export function warmUp(
  dc: TestDc,
  botId: bigint,
  channels: number,
): { channels: TestChannel[]; expected: Seen } {
  const list = Array.from({ length: channels }, () => dc.updates.addChannel({ members: [botId] }));
  const events: GeneratedUpdate[] = [];
  const first = dc.updates.newMessage(botId, { text: 'warm-up' });
  events.push({ box: 'common', position: first.end, kind: 'pts', messageId: messageIdOf(first.update) });
  for (const c of list) {
    const e = dc.updates.newChannelMessage(c, { text: 'warm-up' });
    events.push({ box: c.id, position: e.end, kind: 'pts', messageId: messageIdOf(e.update) });
  }
  return { channels: list, expected: expectedOf(events) };
}

function messageIdOf(u: { _: string; message?: unknown }): number | undefined {
  const m = u.message as { id?: number } | undefined;
  return m?.id;
}

/** Waits until `done()` or `ms` pass; returns whether it got done. */
export async function until(done: () => boolean, ms: number, stepMs = 25): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}

/**
 * The faulty part: `generate` under `faults`, the reorder window flushed, the faults
 * cleared. Returns what the log made per box, and what the faults did in this part.
 */
export function faultyStream(
  dc: TestDc,
  botId: bigint,
  faults: Partial<UpdateFaults>,
  options: GenerateOptions,
): { expected: Seen; count: number; stats: PushStats } {
  const before = { ...dc.updates.pusher.stats };
  dc.updates.setFaults(faults);
  const { events } = dc.updates.generate(botId, options);
  dc.updates.flush();
  dc.updates.setFaults({});
  const after = dc.updates.pusher.stats;
  const stats = Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, v - before[k as keyof PushStats]]),
  ) as unknown as PushStats;
  return { expected: expectedOf(events), count: events.length, stats };
}
