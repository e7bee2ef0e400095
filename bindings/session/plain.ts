// send(..., 'plain'): unencrypted messages (auth_key_id 0, mtproto/description
// "Unencrypted Message") cannot share the encrypted connection's obfuscated
// stream with the link, so they go on a connection of their own, opened on
// first use and closed with the session. Answers are reported as `message`
// events (seqno 0).

import { PlainMsgIds, wrapPlain } from '../auth';
import { handshakeDcId } from '../dcs';
import * as TL from '../tl';
import { TransportConnection } from '../transport';
import {
  type SessionAddress,
  SessionError,
  type SessionEvent,
  type SessionId,
  type SessionOpenOptions,
} from './types';

/** What the plain sender needs from its session. */
export interface PlainHost {
  readonly sessionId: SessionId;
  /** The DC the connection goes to (its obfuscated2 header names it). */
  readonly dcId: number;
  readonly options: SessionOpenOptions;
  notify(e: SessionEvent): void;
}

export class PlainSender {
  private conn: Promise<TransportConnection> | null = null;
  private readonly ids = new PlainMsgIds();
  private closed = false;

  constructor(
    private readonly s: PlainHost,
    private readonly address: SessionAddress,
  ) {}

  private connection(): Promise<TransportConnection> {
    if (this.conn) return this.conn;
    const t = this.s.options.transport ?? {};
    const c = TransportConnection.connect(
      {
        host: this.address.host,
        port: this.address.port,
        kind: t.kind ?? 'intermediate',
        obfuscated: t.obfuscated,
        secret: t.secret,
        dcId: handshakeDcId(this.s.dcId, this.s.options.environment),
      },
      {
        onPacket: (packet) => {
          if (packet.length < 20 || packet.readBigUInt64LE(0) !== 0n) return;
          const msgId = packet.readBigUInt64LE(8);
          const body = packet.subarray(20, 20 + packet.readUInt32LE(16));
          let object: TL.TlObject | undefined;
          try {
            object = TL.deserialize(body);
          } catch {}
          this.s.notify({ kind: 'message', sessionId: this.s.sessionId, msgId, seqno: 0, body, object });
        },
        onClose: () => {
          this.conn = null;
        },
      },
    );
    this.conn = c;
    c.catch(() => {
      this.conn = null;
    });
    return c;
  }

  async send(body: Buffer): Promise<bigint> {
    if (this.closed) throw new SessionError('SESSION_CLOSED', 'the session is closed');
    let conn: TransportConnection;
    try {
      conn = await this.connection();
    } catch (e) {
      throw new SessionError('NOT_CONNECTED', (e as Error).message, e);
    }
    if (this.closed) {
      conn.close();
      throw new SessionError('SESSION_CLOSED', 'the session is closed');
    }
    const msgId = this.ids.next(Date.now());
    conn.send(wrapPlain(msgId, body));
    return msgId;
  }

  close(): void {
    this.closed = true;
    this.conn?.then(
      (c) => c.close(),
      () => {},
    );
    this.conn = null;
  }
}
