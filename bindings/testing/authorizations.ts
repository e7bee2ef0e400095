// auth.exportAuthorization / auth.importAuthorization across the DCs of a world: an
// exported authorization is a one-time ticket for one user to one target DC.

import { randomBytes } from 'node:crypto';

interface Ticket {
  userId: bigint;
  toDc: number;
  bytes: Buffer;
}

export class AuthorizationRegistry {
  private readonly tickets = new Map<bigint, Ticket>();

  constructor(private readonly random: (n: number) => Buffer = randomBytes) {}

  /** A ticket for `userId` to log in on `toDc`. */
  export(userId: bigint, toDc: number): { id: bigint; bytes: Buffer } {
    let id: bigint;
    do id = this.random(8).readBigInt64LE(0);
    while (this.tickets.has(id));
    const bytes = this.random(128);
    this.tickets.set(id, { userId, toDc, bytes });
    return { id, bytes: Buffer.from(bytes) };
  }

  /** The user of a ticket presented on `dc`, consuming it; undefined when it is not valid there. */
  import(id: bigint, bytes: Buffer, dc: number): bigint | undefined {
    const t = this.tickets.get(id);
    if (!t || t.toDc !== dc || !t.bytes.equals(bytes)) return undefined;
    this.tickets.delete(id);
    return t.userId;
  }
}
