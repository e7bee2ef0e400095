// Raw messages of `send()` on a temporary key. No call awaits their answers, so
// when the server forgets the key (-404), nothing else would send them again:
// the ones still in flight (not answered, not acknowledged) move to the next
// key's main connection. A send() that had resolved already named the old
// msg_id, so the client is told the new one (`resent`); one that cannot move
// (the session is closing) is reported (`sendLost`). Never a silent drop.

import type { Driver } from '../driver';
import type { SessionEvent, SessionId } from '../types';

/** A raw message: where it went last (after a move, its new msg_id). */
export interface RawSend {
  readonly body: Buffer;
  at: { msgId: bigint; driver: Driver };
}

/** Raw messages remembered before the answered ones are pruned. */
const PRUNE_AT = 256;

/** The raw messages sent on one generation's main connection, by msg_id. */
export class RawSends {
  private readonly byId = new Map<bigint, RawSend>();

  constructor(private readonly main: Driver) {}

  /** Remembers a message the main connection just sent as `msgId` (its send() resolves with it). */
  track(body: Buffer, msgId: bigint): RawSend {
    if (this.byId.size >= PRUNE_AT) this.prune();
    const sent: RawSend = { body, at: { msgId, driver: this.main } };
    this.byId.set(msgId, sent);
    return sent;
  }

  /**
   * The key is lost: what is still in flight goes on `target` (another generation's
   * main connection, tracked there by `into` when that one is on a temporary key too).
   */
  moveTo(
    target: Driver,
    into: RawSends | null,
    report: (e: SessionEvent) => void,
    sessionId: SessionId,
  ): void {
    if (this.byId.size === 0) return;
    const inFlight = new Set(this.main.link.inFlight());
    for (const [msgId, sent] of this.byId) {
      if (!inFlight.has(msgId)) continue;
      this.main.link.cancel(msgId);
      target.send(sent.body).then(
        (moved) => {
          sent.at = { msgId: moved, driver: target };
          into?.byId.set(moved, sent);
          report({ kind: 'resent', sessionId, msgId, newMsgId: moved });
        },
        (e: Error) => {
          const message = `message ${msgId} was refused with its lost temporary key and not sent again: ${e.message}`;
          report({ kind: 'sendLost', sessionId, msgId, message });
        },
      );
    }
    this.byId.clear();
  }

  /** Forgets messages the server answered or acknowledged (no longer in flight). */
  private prune(): void {
    const inFlight = new Set(this.main.link.inFlight());
    for (const id of this.byId.keys()) if (!inFlight.has(id)) this.byId.delete(id);
  }
}
