// Transport-level refusals of a TestDc (https://core.telegram.org/mtproto/mtproto-transports#transport-errors),
// as a real DC answers them on a connection's first packet:
// -429 when a client address holds more connections than `maxConnections`, and -444 when the
// obfuscated2 header names another DC than this one (`strictDcId`).

/** Open connections per client address; the ones past the limit are refused. */
export class ConnectionLimits {
  private readonly open = new Map<string, number>();

  constructor(public max: number | undefined) {}

  /** Counts a new connection from `address`; false when it is one too many. */
  admit(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (this.max !== undefined && n >= this.max) return false;
    this.open.set(address, n + 1);
    return true;
  }

  /** An admitted connection from `address` closed. */
  release(address: string): void {
    const n = (this.open.get(address) ?? 1) - 1;
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }
}

/**
 * Whether the dc of an obfuscated2 header names DC `dcId`: the DC itself, its test
 * (+10000) or media (negative) form. A header without a DC (plain transports) passes.
 */
export function headerNamesDc(headerDc: number | null, dcId: number): boolean {
  return headerDc === null || Math.abs(headerDc) % 10000 === dcId;
}
