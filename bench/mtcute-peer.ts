// mtcute (npm @mtcute/node, the fastest TypeScript MTProto client we know) pointed at a
// TestDc, for the session, memory and handshake benches. Nothing here is used outside
// bench/.
//
// Two run-time hacks, both here:
// - mtcute knows only Telegram's RSA keys; its key table is a module-level object keyed
//   by fingerprint (hex), which the bench extends with TestDc's key.
// - mtcute (0.30.3) numbers its msgs_ack messages as content-related (odd seqno).
//   TestDc holds clients to the rule (spec: "Sequence numbers": acknowledgments are
//   not content-related, so their seqno is even) and answers bad_msg_notification 34;
//   mtcute resets its session, TestDc soon closes the connection, and the second call
//   stalls. Telegram evidently lets it pass, so the bench gives those messages an even
//   seqno: one bit of a header, no change to mtcute's work per call.
// Its Node transport speaks TCP intermediate (it has no abridged codec); the others run
// abridged, one byte of length instead of four per packet.
import { join } from 'node:path';
import type { DcInfo, PreparedKey } from './session-dc';

// mtcute ships CommonJS bundles that warn once that they are deprecated; the bench
// loads them from tsx's CommonJS and does not need to hear it on every run.
(globalThis as { _MTCUTE_CJS_DEPRECATION_WARNED?: boolean })._MTCUTE_CJS_DEPRECATION_WARNED = true;

// biome-ignore lint/suspicious/noExplicitAny: mtcute's client type, loaded lazily
export type MtcuteClient = any;

interface TlPublicKey {
  modulus: string;
  exponent: string;
  fingerprint: string;
  old: boolean;
}

/** The first hack: TestDc's RSA key in mtcute's key table (a module it does not export). */
function trustTestDcKey(dc: DcInfo): void {
  const core = require.resolve('@mtcute/core');
  const { __publicKeyIndex } = require(join(core, '..', 'tl', 'binary', 'rsa-keys.cjs')) as {
    __publicKeyIndex: Record<string, TlPublicKey>;
  };
  // mtcute looks a server's fingerprints up as unpadded lowercase hex.
  const fingerprint = BigInt(dc.fingerprint).toString(16);
  __publicKeyIndex[fingerprint] = {
    modulus: dc.modulusHex,
    exponent: dc.exponentHex,
    fingerprint,
    old: false,
  };
}

/** msgs_ack's constructor id (mtproto schema: msgs_ack#62d6b459). */
const MSGS_ACK = 0x62d6b459;
let seqnoPatched = false;

/** The second hack: msgs_ack written with an even seqno (see the top of this file). */
function evenSeqnoForAcks(): void {
  if (seqnoPatched) return;
  seqnoPatched = true;
  const core = require.resolve('@mtcute/core');
  const { MtprotoSession } = require(join(core, '..', 'network', 'mtproto-session.cjs'));
  const write = MtprotoSession.prototype.writeMessage;
  MtprotoSession.prototype.writeMessage = function (
    this: unknown,
    writer: unknown,
    content: unknown,
    contentRelated = true,
  ) {
    const isAck =
      ArrayBuffer.isView(content) &&
      content.byteLength >= 4 &&
      new DataView(content.buffer, content.byteOffset, 4).getUint32(0, true) === MSGS_ACK;
    return write.call(this, writer, content, contentRelated && !isAck);
  };
}

function dcOption(dc: DcInfo) {
  return { id: dc.dcId, ipAddress: dc.host, port: dc.port, ipv6: false, mediaOnly: false, testMode: false };
}

/** A new mtcute TelegramClient for TestDc, in memory, updates off (like our bench sessions). */
export function mtcuteNewClient(dc: DcInfo): MtcuteClient {
  trustTestDcKey(dc);
  evenSeqnoForAcks();
  const { TelegramClient } = require('@mtcute/node');
  const { MemoryStorage } = require('@mtcute/core');
  return new TelegramClient({
    apiId: 12345,
    apiHash: '0123456789abcdef0123456789abcdef',
    storage: new MemoryStorage(),
    defaultDcs: { main: dcOption(dc), media: dcOption(dc) },
    disableUpdates: true,
    logLevel: Number(process.env.MTCUTE_LOG ?? 0),
  });
}

/** A connected mtcute client using `key` (registered on the DC): no handshake. */
export async function mtcuteClient(dc: DcInfo, key: PreparedKey): Promise<MtcuteClient> {
  const client = mtcuteNewClient(dc);
  await client.importSession({
    authKey: key.authKey,
    primaryDcs: { main: dcOption(dc), media: dcOption(dc) },
    self: { userId: key.userId, isBot: false, isPremium: false, usernames: [] },
    testMode: false,
  });
  await client.connect();
  return client;
}

/** One help.getNearestDc by mtcute. */
export function mtcuteNearestDc(client: MtcuteClient): Promise<unknown> {
  return client.call({ _: 'help.getNearestDc' });
}
