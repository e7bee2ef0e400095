// GramJS (npm `telegram`) against TestDc: trusting a TestDc's RSA key, and dialing TestDc's
// ports instead of Telegram's.

import bigInt from 'big-integer';
import { _serverKeys } from 'telegram/crypto/RSA';
import { ConnectionTCPFull } from 'telegram/network';
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
