// GramJS (npm `telegram`) as a peer in the benches: a client connected to TestDc with a
// key registered there (no handshake), and one help.getNearestDc. Kept apart from
// session-dc.ts so that a process running only GramJS loads nothing of telegram-mt.
import type { DcInfo, PreparedKey } from './session-dc';

// biome-ignore lint/suspicious/noExplicitAny: GramJS's client type, loaded lazily
export type GramClient = any;

/**
 * A connected GramJS client using `key` (registered on the DC), over TCP abridged (or
 * `transport`: GramJS's abridged and intermediate codecs read a large packet with one
 * `read` that may return it short, so file transfers use its default, TCP full).
 */
export async function gramjsClient(
  dc: DcInfo,
  key: PreparedKey,
  transport: 'ConnectionTCPAbridged' | 'ConnectionTCPFull' = 'ConnectionTCPAbridged',
): Promise<GramClient> {
  const bigInt = require('big-integer');
  const { TelegramClient } = require('telegram');
  const { _serverKeys } = require('telegram/crypto/RSA');
  const { AuthKey } = require('telegram/crypto/AuthKey');
  const { Logger, LogLevel } = require('telegram/extensions/Logger');
  const Base = require('telegram/network')[transport];
  const { StringSession } = require('telegram/sessions');
  // GramJS keeps known keys by signed fingerprint (decimal); only needed for handshakes.
  _serverKeys.set(BigInt.asIntN(64, BigInt(dc.fingerprint)).toString(), {
    n: bigInt(dc.modulusHex, 16),
    e: Number(BigInt(`0x${dc.exponentHex}`)),
  });
  // GramJS dials port 80 whatever the session says: this subclass dials TestDc.
  class ToTestDc extends Base {
    constructor(opts: Record<string, unknown>) {
      super({ ...opts, ip: dc.host, port: dc.port });
    }
  }
  const session = new StringSession('');
  session.setDC(dc.dcId, dc.host, 80);
  const authKey = new AuthKey();
  await authKey.setKey(key.authKey);
  session.setAuthKey(authKey);
  const client = new TelegramClient(session, 12345, 'bench', {
    connection: ToTestDc,
    connectionRetries: 1,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
    deviceModel: 'bench',
    appVersion: '0.0.1',
    langCode: 'en',
    systemLangCode: 'en',
  });
  await client.connect();
  return client;
}

/** One help.getNearestDc by GramJS (same constructor in its layer 198 and ours). */
export function gramjsNearestDc(client: GramClient): Promise<unknown> {
  const { Api } = require('telegram');
  return client.invoke(new Api.help.GetNearestDc());
}
