// Flood limits of a TestDc (issue #14), sans-IO: rules per method and per account, per
// peer or per DC, each a token bucket; a call over a rule is refused unrun with
// 420 FLOOD_WAIT_X, X the whole seconds until the bucket has a token again (at least 1:
// Telegram's waits are whole seconds), as the server answers (core.telegram.org/api/errors#420-flood).
// A refused call takes no token.

/** Where a rule's buckets are kept: one per account, one per (account, peer), or one for the DC. */
export type FloodScope = 'account' | 'peer' | 'dc';

export interface FloodRule {
  /** The method (innermost query), or '*' for every method. */
  method: string;
  scope: FloodScope;
  /** 'peer' rules only: the kind of chat the call's `peer` names (default: any). */
  peerKind?: 'user' | 'group';
  /** Calls per `perMs` ... */
  count: number;
  perMs: number;
  /** ... and how many may come at once (default `count`). */
  burst?: number;
}

/**
 * Telegram's limits for bots as the Bot FAQ gives them (30 messages a second per bot, one a
 * second per private chat, 20 a minute per group), for messages.sendMessage. `speed`
 * multiplies every rate (a test runs 100x faster with speed 100: the same shape, 3,000/s).
 */
export function telegramBotLimits(speed = 1, method = 'messages.sendMessage'): FloodRule[] {
  return [
    { method, scope: 'account', count: 30 * speed, perMs: 1000 },
    { method, scope: 'peer', peerKind: 'user', count: 1 * speed, perMs: 1000 },
    { method, scope: 'peer', peerKind: 'group', count: 20 * speed, perMs: 60_000 },
  ];
}

interface Bucket {
  tokens: number;
  at: number;
}

export class FloodLimiter {
  private rules: FloodRule[] = [];
  private readonly buckets = new Map<string, Bucket>();
  /** FLOOD_WAITs answered. */
  refused = 0;

  set(rules: readonly FloodRule[]): void {
    for (const r of rules)
      if (!(r.count > 0 && r.perMs > 0))
        throw new RangeError(`flood rule for ${r.method}: count and perMs must be > 0`);
    this.rules = [...rules];
    this.buckets.clear();
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  /**
   * Checks one call: 0 when it may run (its tokens are taken), else the seconds of the
   * FLOOD_WAIT to answer (nothing taken).
   */
  check(
    method: string,
    account: string,
    peer: { key: string; group: boolean } | undefined,
    now: number,
  ): number {
    if (this.rules.length === 0) return 0;
    const hits: Array<{ b: Bucket; rule: FloodRule }> = [];
    let wait = 0;
    this.rules.forEach((rule, i) => {
      if (rule.method !== '*' && rule.method !== method) return;
      if (rule.scope === 'peer') {
        if (!peer) return;
        if (rule.peerKind && (rule.peerKind === 'group') !== peer.group) return;
      }
      const key = `${i}|${rule.scope === 'dc' ? '' : account}|${rule.scope === 'peer' ? peer?.key : ''}`;
      const capacity = rule.burst ?? rule.count;
      let b = this.buckets.get(key);
      if (!b) {
        b = { tokens: capacity, at: now };
        this.buckets.set(key, b);
      }
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * rule.count) / rule.perMs);
      b.at = now;
      if (b.tokens < 1) wait = Math.max(wait, ((1 - b.tokens) * rule.perMs) / rule.count);
      hits.push({ b, rule });
    });
    if (wait > 0) {
      this.refused++;
      return Math.max(1, Math.ceil(wait / 1000));
    }
    for (const h of hits) h.b.tokens -= 1;
    return 0;
  }
}
