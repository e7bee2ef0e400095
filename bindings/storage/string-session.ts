// Sessions as one line of text: our own versioned format, and the
// StringSession formats of GramJS and Telethon, so users bring existing logins.
//
// Ours: 'T1' + base64url (no padding) of the record layout (record-codec.ts),
// which ends with a SHA-256-based check, so a truncated or mistyped string is
// refused rather than half-read. 'T' keeps it apart from GramJS and Telethon
// strings, which start with '1', and from Pyrogram's and mtcute's, which are
// bare base64 of a small first byte ('A'/'B').
//
// GramJS (sessions/StringSession.ts): '1' + base64 of
//   dc_id (1) ‖ address length (2, BE) ‖ address (UTF-8 text) ‖ port (2, BE) ‖ auth key (256)
// Telethon (telethon/sessions/string.py, struct '>B{4|16}sH256s'): '1' + urlsafe base64 of
//   dc_id (1) ‖ IP (4 or 16 bytes, packed) ‖ port (2, BE) ‖ auth key (256)
// Neither carries a server salt, time offset or user id: an imported session
// starts with salt 0 (the first request draws bad_server_salt, which the
// session adopts) and learns the rest from the server.
import { dcAddresses } from '../dcs';
import { SessionDecodeError, SessionRecordError } from './errors';
import { packIp, unpackIp } from './ip-bytes';
import { AUTH_KEY_BYTES, type CodecOptions, decodeRecord, encodeRecord } from './record-codec';
import type { SessionRecord } from './types';

export const STRING_SESSION_PREFIX = 'T1';

export type StringSessionFormat = 'telegram-mt' | 'gramjs' | 'telethon';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ImportedSession {
  format: StringSessionFormat;
  record: SessionRecord;
  /** The DC address the string names (GramJS and Telethon strings carry one). */
  address?: ServerAddress;
}

export interface ImportOptions extends CodecOptions {
  /** Which format to expect (default 'auto': recognized by prefix and layout). */
  format?: StringSessionFormat | 'auto';
  /** Test DCs (default: inferred from the address when it is a known test DC). */
  testMode?: boolean;
}

/** Our string for `record` (its name is not included). Sealed keys need `options.cipher` to import. */
export function exportStringSession(record: SessionRecord, options: CodecOptions = {}): string {
  const full = Number.isFinite(record.updatedAt) ? record : { ...record, updatedAt: Date.now() };
  return STRING_SESSION_PREFIX + encodeRecord({ ...full, name: '' }, options).toString('base64url');
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function base64(text: string, what: string): Buffer {
  if (!BASE64.test(text)) throw new SessionDecodeError(`${what} string holds characters outside base64`);
  return Buffer.from(text, 'base64'); // accepts both the standard and the URL-safe alphabet
}

/** Reads a session string of any supported format into a record named `name`. */
export function importStringSession(
  text: string,
  name: string,
  options: ImportOptions = {},
): ImportedSession {
  const s = text.trim();
  const format = options.format ?? 'auto';
  if (format === 'telegram-mt' || (format === 'auto' && s.startsWith(STRING_SESSION_PREFIX))) {
    if (!s.startsWith(STRING_SESSION_PREFIX))
      throw new SessionDecodeError('not a telegram-mt session string');
    const record = decodeRecord('', base64(s.slice(STRING_SESSION_PREFIX.length), 'session'), options);
    return { format: 'telegram-mt', record: { ...record, name } };
  }
  if (s[0] !== '1') throw new SessionDecodeError('unknown session string format (no known version prefix)');
  const bytes = base64(s.slice(1), 'session');
  const gram = format !== 'telethon' ? parseGramJs(bytes) : undefined;
  if (gram) return imported('gramjs', name, gram, options);
  const thon = format !== 'gramjs' ? parseTelethon(bytes) : undefined;
  if (thon) return imported('telethon', name, thon, options);
  throw new SessionDecodeError(
    format === 'auto'
      ? 'a version-1 string that is neither a GramJS nor a Telethon session'
      : `not a ${format} session string`,
  );
}

interface Parsed {
  dcId: number;
  address: ServerAddress;
  authKey: Buffer;
}

function parseGramJs(b: Buffer): Parsed | undefined {
  if (b.length < 5) return undefined;
  const len = b.readUInt16BE(1);
  if (len === 0 || b.length !== 1 + 2 + len + 2 + AUTH_KEY_BYTES) return undefined;
  const host = b.subarray(3, 3 + len);
  if (!host.every((c) => c > 0x20 && c < 0x7f)) return undefined; // an address is printable text
  return {
    dcId: b[0],
    address: { host: host.toString('latin1'), port: b.readUInt16BE(3 + len) },
    authKey: Buffer.from(b.subarray(5 + len)),
  };
}

function parseTelethon(b: Buffer): Parsed | undefined {
  const ipLen = b.length - 1 - 2 - AUTH_KEY_BYTES;
  if (ipLen !== 4 && ipLen !== 16) return undefined;
  return {
    dcId: b[0],
    address: { host: unpackIp(b.subarray(1, 1 + ipLen)), port: b.readUInt16BE(1 + ipLen) },
    authKey: Buffer.from(b.subarray(3 + ipLen)),
  };
}

function isTestAddress(p: Parsed): boolean {
  try {
    return dcAddresses(p.dcId, 'test').some((a) => a.host === p.address.host);
  } catch {
    return false;
  }
}

function imported(
  format: StringSessionFormat,
  name: string,
  p: Parsed,
  options: ImportOptions,
): ImportedSession {
  if (p.dcId < 1) throw new SessionDecodeError(`${format} session string names DC ${p.dcId}`);
  if (!p.authKey.some((x) => x !== 0))
    throw new SessionDecodeError(`${format} session string has no auth key`);
  const testMode = options.testMode ?? (isTestAddress(p) || undefined);
  const record: SessionRecord = {
    name,
    dcId: p.dcId,
    authKeys: { [p.dcId]: { authKey: p.authKey, serverSalt: 0n, timeOffset: 0 } },
    updatedAt: Date.now(),
  };
  if (testMode !== undefined) record.testMode = testMode;
  return { format, record, address: p.address };
}

function homeKey(record: SessionRecord): Buffer {
  const auth = record.authKeys[record.dcId];
  if (!auth || auth.authKey?.length !== AUTH_KEY_BYTES) {
    throw new SessionRecordError(`session "${record.name}" has no auth key for its home DC ${record.dcId}`);
  }
  return auth.authKey;
}

function defaultAddress(record: SessionRecord): ServerAddress {
  const [first] = dcAddresses(record.dcId, record.testMode ? 'test' : 'production');
  return { host: first.host, port: first.port };
}

function port16(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 0xffff)
    throw new SessionRecordError('port must be 1..65535');
  return port;
}

/** A GramJS StringSession for the home DC (address: the DC's first known one unless given). */
export function toGramJsString(
  record: SessionRecord,
  address: ServerAddress = defaultAddress(record),
): string {
  const host = Buffer.from(address.host, 'latin1');
  const head = Buffer.alloc(3 + host.length + 2);
  head[0] = record.dcId;
  head.writeUInt16BE(host.length, 1);
  host.copy(head, 3);
  head.writeUInt16BE(port16(address.port), 3 + host.length);
  return `1${Buffer.concat([head, homeKey(record)]).toString('base64')}`;
}

/** A Telethon StringSession for the home DC (the address must be an IP literal). */
export function toTelethonString(
  record: SessionRecord,
  address: ServerAddress = defaultAddress(record),
): string {
  const ip = packIp(address.host);
  if (!ip) throw new SessionRecordError('a Telethon session string needs an IP address, not a host name');
  const tail = Buffer.alloc(2);
  tail.writeUInt16BE(port16(address.port));
  const body = Buffer.concat([Buffer.from([record.dcId]), ip, tail, homeKey(record)]);
  // Telethon writes urlsafe base64 with its '=' padding.
  return `1${body.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}
