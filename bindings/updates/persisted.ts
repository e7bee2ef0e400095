// The committed state as JSON (what goes into SessionRecord.updatesState): the common
// sequences and each channel's pts and access hash. Parsing checks every field: a stored
// state that is not one is a typed error, never a half-read state.

export const STATE_VERSION = 1;

export interface PersistedChannel {
  pts: number;
  /** Decimal (signed 64-bit), when known. */
  accessHash?: string;
  /**
   * The engine stood past `pts`, or knew it had to fetch the channel's difference, when the
   * state was committed: a restart fetches it. The common `date` may be committed past the
   * updateChannelTooLong that named the channel, and getDifference then no longer names it.
   */
  behind?: true;
}

export interface PersistedUpdatesState {
  v: typeof STATE_VERSION;
  pts: number;
  qts: number;
  seq: number;
  date: number;
  /** By channel id (decimal). */
  channels: Record<string, PersistedChannel>;
}

export class UpdateStateError extends Error {
  readonly code = 'BAD_UPDATES_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'UpdateStateError';
  }
}

const INT32_MAX = 0x7fffffff;
const ID = /^[1-9]\d{0,15}$/;
const HASH = /^-?\d{1,20}$/;

function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX)
    throw new UpdateStateError(`${what} is not a non-negative 32-bit integer`);
  return v;
}

/** Reads a stored state; throws UpdateStateError when it is not one this engine wrote. */
export function parseUpdatesState(value: unknown): PersistedUpdatesState {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UpdateStateError('the updates state is not an object');
  const o = value as Record<string, unknown>;
  if (o.v !== STATE_VERSION) throw new UpdateStateError(`unknown updates state version ${String(o.v)}`);
  const channels: Record<string, PersistedChannel> = {};
  const raw = o.channels;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new UpdateStateError('channels is not an object');
  for (const [id, c] of Object.entries(raw as Record<string, unknown>)) {
    if (!ID.test(id) || Number(id) > Number.MAX_SAFE_INTEGER)
      throw new UpdateStateError(`channel id ${id} is not one`);
    if (c === null || typeof c !== 'object') throw new UpdateStateError(`channel ${id} is not an object`);
    const ch = c as Record<string, unknown>;
    const hash = ch.accessHash;
    if (
      hash !== undefined &&
      (typeof hash !== 'string' || !HASH.test(hash) || BigInt.asIntN(64, BigInt(hash)) !== BigInt(hash))
    )
      throw new UpdateStateError(`channel ${id}: accessHash is not a 64-bit integer`);
    if (ch.behind !== undefined && ch.behind !== true)
      throw new UpdateStateError(`channel ${id}: behind is not true`);
    channels[id] = {
      pts: int(ch.pts, `channel ${id}: pts`),
      ...(hash === undefined ? {} : { accessHash: hash }),
      ...(ch.behind === true ? { behind: true as const } : {}),
    };
  }
  return {
    v: STATE_VERSION,
    pts: int(o.pts, 'pts'),
    qts: int(o.qts, 'qts'),
    seq: int(o.seq, 'seq'),
    date: int(o.date, 'date'),
    channels,
  };
}
