// The client's fake-TLS handshake for MTProxy `ee` secrets, on a connected
// socket: send the ClientHello, read the server's answer until the native
// FakeTlsClient has checked it (its HMAC proves the proxy knows the secret).
// What follows is the data phase: a TransportCodec / MtpLink made with the
// same secret wraps obfuscated2 in TLS records (crates/mtcore fake_tls).
import type { Socket } from 'node:net';
import { FakeTlsClient } from '../native';
import { ConnectError } from './proxy-errors';

/** Whether `secret` is the `ee` (fake-TLS) form: 0xee, 16 bytes, a domain. */
export function isFakeTlsSecret(secret: Buffer): boolean {
  return secret.length > 17 && secret[0] === 0xee;
}

/**
 * The transport an MTProxy secret implies when none is named: `dd` and `ee`
 * secrets require padded intermediate (as Telegram's clients pick it).
 */
export function secretTransportKind(secret: Buffer | string | undefined): 'padded' | undefined {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'hex') : secret;
  // A plain secret is 16 bytes, whatever its first byte.
  if (!bytes || bytes.length <= 16) return undefined;
  return bytes[0] === 0xdd || bytes[0] === 0xee ? 'padded' : undefined;
}

/** The server's answer is a few KiB; more than this without a complete answer is not one. */
const MAX_ANSWER = 64 * 1024;

/**
 * Runs the handshake. Resolves with the socket paused and any bytes after
 * the answer pushed back into it; rejects with ConnectError MTPROXY_REJECTED
 * (or the codec's ERR_TRANSPORT_BAD_SECRET for a malformed secret).
 *
 * `timeOffsetMs` is server time minus local time as the session learned it:
 * the hello's timestamp is taken on the server's clock, since an MTProxy
 * refuses hellos outside its window (about 20 minutes) of its own clock.
 */
export function fakeTlsHandshake(socket: Socket, secret: Buffer, timeOffsetMs = 0): Promise<void> {
  const client = new FakeTlsClient(secret, Date.now() + timeOffsetMs);
  return new Promise((resolve, reject) => {
    let received: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
    };
    const fail = (message: string, cause?: unknown) => {
      cleanup();
      socket.destroy();
      reject(new ConnectError('MTPROXY_REJECTED', message, cause === undefined ? undefined : { cause }));
    };
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let used: number | null;
      try {
        used = client.checkAnswer(received);
      } catch (e) {
        fail(`the proxy's fake-TLS answer failed its check (${(e as { code?: string }).code})`, e);
        return;
      }
      if (used === null) {
        if (received.length > MAX_ANSWER) fail('the proxy sent no fake-TLS answer');
        return;
      }
      cleanup();
      if (used < received.length) socket.unshift(received.subarray(used));
      resolve();
    };
    const onClose = () => fail('the proxy closed the connection during the fake-TLS handshake');
    const onError = (e: Error) => fail(`socket error during the fake-TLS handshake: ${e.message}`);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    socket.write(client.hello);
    socket.resume();
  });
}
