// rpc_error#2144ca19 error_code:int error_message:string as a typed JS error
// (core.telegram.org/api/errors). Parameterized names carry their number:
// FLOOD_WAIT_X and the other waits give `seconds`, *_MIGRATE_X gives `dcId`.
import { RPC_ERRORS } from '../generated/errors';
import { EXTRA_RPC_ERRORS } from './extra-errors';

/** `wait`: retry after `seconds`; `migrate`: repeat on DC `dcId`; `plain`: anything else. */
export type RpcErrorKind = 'wait' | 'migrate' | 'plain';

type Param = 'seconds' | 'minutes' | 'dc' | 'value';

interface Pattern {
  re: RegExp;
  /** Name with X for the parameter: FLOOD_WAIT_X. */
  type: string;
  code: number;
  description: string;
  param: Param;
}

function paramOf(name: string): Param {
  if (/_MIGRATE_%d$/.test(name) || /^INTERDC_%d_/.test(name)) return 'dc';
  if (/_%dMIN$/.test(name)) return 'minutes';
  if (/(_WAIT|_DELAY|_TOO_FRESH)_%d$/.test(name)) return 'seconds';
  return 'value';
}

const CATALOG: Record<string, readonly [number, string]> = { ...RPC_ERRORS, ...EXTRA_RPC_ERRORS };

const PATTERNS: Pattern[] = Object.entries(CATALOG)
  .filter(([name]) => name.includes('%d'))
  .map(([name, [code, description]]) => ({
    re: new RegExp(`^${name.replace('%d', '(\\d+)')}$`),
    type: name.replace('%d', 'X'),
    code,
    description,
    param: paramOf(name),
  }));

export interface RpcErrorInfo {
  /** The name with X for its parameter (FLOOD_WAIT_X), or the message itself. */
  type: string;
  kind: RpcErrorKind;
  value?: number;
  seconds?: number;
  dcId?: number;
  description?: string;
}

/** Parses an error_message against the catalog. */
export function parseRpcErrorMessage(message: string): RpcErrorInfo {
  const exact = CATALOG[message];
  if (exact && !message.includes('%d')) return { type: message, kind: 'plain', description: exact[1] };
  for (const p of PATTERNS) {
    const m = p.re.exec(message);
    if (m) return withParam(p.type, p.param, Number(m[1]), p.description);
  }
  // Not in the catalog: still honour the two families every client must handle.
  const m = /^(.+)_(MIGRATE|WAIT)_(\d+)$/.exec(message);
  if (m) return withParam(`${m[1]}_${m[2]}_X`, m[2] === 'MIGRATE' ? 'dc' : 'seconds', Number(m[3]));
  return { type: message, kind: 'plain' };
}

function withParam(type: string, param: Param, value: number, description?: string): RpcErrorInfo {
  const info: RpcErrorInfo = { type, kind: 'plain', value, description };
  if (param === 'dc') {
    info.dcId = value;
    if (type.endsWith('_MIGRATE_X')) info.kind = 'migrate';
  } else if (param === 'seconds' || param === 'minutes') {
    info.seconds = param === 'minutes' ? value * 60 : value;
    info.kind = 'wait';
  }
  return info;
}

/** An rpc_error answer. `code` is Telegram's error_code (400, 420, 303, ...). */
export class RpcError extends Error {
  readonly code: number;
  /** error_message as sent: FLOOD_WAIT_30. */
  readonly errorMessage: string;
  /** The catalog name, X for the parameter: FLOOD_WAIT_X. */
  readonly type: string;
  readonly kind: RpcErrorKind;
  /** The number in a parameterized name. */
  readonly value?: number;
  /** For waits: how long to wait before retrying. */
  readonly seconds?: number;
  /** For *_MIGRATE_X (and INTERDC_X_*): the data center. */
  readonly dcId?: number;
  readonly description?: string;

  constructor(code: number, errorMessage: string, info: RpcErrorInfo = parseRpcErrorMessage(errorMessage)) {
    super(`${code} ${errorMessage}${info.description ? `: ${info.description}` : ''}`);
    this.name = new.target.name;
    this.code = code;
    this.errorMessage = errorMessage;
    this.type = info.type;
    this.kind = info.kind;
    this.value = info.value;
    this.seconds = info.seconds;
    this.dcId = info.dcId;
    this.description = info.description;
  }

  /** The error for an rpc_error: a FloodWaitError, a MigrateError, or a plain RpcError. */
  static from(code: number, errorMessage: string): RpcError {
    const info = parseRpcErrorMessage(errorMessage);
    if (info.kind === 'wait') return new FloodWaitError(code, errorMessage, info);
    if (info.kind === 'migrate') return new MigrateError(code, errorMessage, info);
    return new RpcError(code, errorMessage, info);
  }
}

/** FLOOD_WAIT_X and every other "retry after X seconds" error (SLOWMODE_WAIT_X, FLOOD_PREMIUM_WAIT_X, ...). */
export class FloodWaitError extends RpcError {
  declare readonly kind: 'wait';
  declare readonly seconds: number;
}

/** PHONE_MIGRATE_X, USER_MIGRATE_X, NETWORK_MIGRATE_X, FILE_MIGRATE_X, STATS_MIGRATE_X: go to DC X. */
export class MigrateError extends RpcError {
  declare readonly kind: 'migrate';
  declare readonly dcId: number;
}
