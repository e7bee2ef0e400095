// GramJS (npm `telegram`) against TestDc: trusting a TestDc's RSA key, and dialing TestDc's
// ports instead of Telegram's.

import bigInt from 'big-integer';
import { TelegramClient } from 'telegram';
import { _serverKeys } from 'telegram/crypto/RSA';
import { Logger, LogLevel } from 'telegram/extensions/Logger';
import { ConnectionTCPFull } from 'telegram/network';
import { StringSession } from 'telegram/sessions';
import type { RsaPublicKeyInfo } from '../bindings/testing';

export type ConnectionClass = typeof ConnectionTCPFull;

/** Lets GramJS trust a TestDc key: its RSA module keeps known keys by signed fingerprint. */
export function trust(key: RsaPublicKeyInfo): void {
  _serverKeys.set(BigInt.asIntN(64, key.fingerprint).toString(), {
    n: bigInt(key.modulus.toString('hex'), 16),
    e: Number(BigInt(`0x${key.exponent.toString('hex')}`)),
  });
}

/**
 * GramJS's TelegramClient dials port 80 (443 for WSS) whatever the session says: a
 * subclass of its connection class sends it to the TestDc of the DC it wants instead.
 */
export function toTestPorts(
  portOf: (dcId: number) => number,
  base: ConnectionClass = ConnectionTCPFull,
): ConnectionClass {
  return class extends base {
    constructor(opts: ConstructorParameters<ConnectionClass>[0]) {
      super({ ...opts, ip: '127.0.0.1', port: portOf(opts.dcId) });
    }
  } as ConnectionClass;
}

/** A TelegramClient on an empty session for DC `dcId`, without logs or reconnection. */
export function gramjsClient(dcId: number, connection: ConnectionClass): TelegramClient {
  const session = new StringSession('');
  session.setDC(dcId, '127.0.0.1', 80);
  return new TelegramClient(session, 12345, 'testdc', {
    connection,
    // GramJS fails about one handshake in 256 on its own (it drops a leading zero byte of
    // the auth key before hashing it); a second attempt makes tests deterministic.
    connectionRetries: 3,
    retryDelay: 100,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
    deviceModel: 'ava',
    appVersion: '0.0.1',
    langCode: 'en',
    systemLangCode: 'en',
  });
}
