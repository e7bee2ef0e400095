// Faults a TestDc injects at run time (sans-IO state; the DC consults it).

import type { HandshakeFault } from './server-handshake';

export interface InjectedRpcError {
  code: number;
  message: string;
}

/** The migration errors Telegram answers with (*_MIGRATE_X, code 303). */
export type MigrateKind = 'USER' | 'PHONE' | 'NETWORK' | 'FILE' | 'STATS';

export class DcFaults {
  /** Applied to every key exchange until cleared. */
  handshake: HandshakeFault | null = null;
  /** The next this many encrypted packets get bad_server_salt (the key's salts are replaced first). */
  badSaltPackets = 0;
  /** Close the connection that receives the packet that brings this to 0 (null: off). */
  dropAfterPackets: number | null = null;
  /** Answers are held this long before they are queued. */
  replyDelayMs = 0;
  /** The next this many answers are held, then sent in reverse order. */
  reorderCount = 0;
  private readonly rpcErrors = new Map<string, Array<InjectedRpcError & { remaining: number }>>();

  /** Answers the next `times` calls of `method` (the innermost query's name) with `error`. */
  addRpcError(method: string, error: InjectedRpcError, times: number): void {
    const list = this.rpcErrors.get(method) ?? [];
    list.push({ ...error, remaining: times });
    this.rpcErrors.set(method, list);
  }

  /** The error to answer this call of `method` with, if one is injected. */
  takeRpcError(method: string): InjectedRpcError | undefined {
    const list = this.rpcErrors.get(method);
    const first = list?.[0];
    if (!list || !first) return undefined;
    if (--first.remaining <= 0) list.shift();
    if (list.length === 0) this.rpcErrors.delete(method);
    return { code: first.code, message: first.message };
  }

  /** Counts one received packet; true when the connection must be dropped now. */
  countPacket(): boolean {
    if (this.dropAfterPackets === null) return false;
    this.dropAfterPackets--;
    if (this.dropAfterPackets > 0) return false;
    this.dropAfterPackets = null;
    return true;
  }

  clear(): void {
    this.handshake = null;
    this.badSaltPackets = 0;
    this.dropAfterPackets = null;
    this.replyDelayMs = 0;
    this.reorderCount = 0;
    this.rpcErrors.clear();
  }
}
