// The schedule of a session's temporary keys (Perfect Forward Secrecy,
// core.telegram.org/api/pfs), sans-IO: what happened and the time go in, the
// actions to take and the next deadline come out. No sockets, timers or
// promises here; dc-pool.ts carries the actions out and feeds their outcomes
// back.
//
// A generation is the set of connections on one temporary key. Its life:
// makeKey (a temp key and its main connection) -> bind (auth.bindTempAuthKey)
// -> current (new calls go there) -> drained (in-flight calls answered where
// they were sent, then closed) or, when the server forgot its key (-404),
// resent (its unanswered calls go again on the current generation).
//
// - Renewal: `renewBeforeSec` plus a random part of `jitterSec` before the key
//   expires, a new generation is made; once bound it becomes current and the
//   old one drains. A failed renewal is tried again with backoff.
// - -404 on the current key: a new generation at once; the dead one's calls go
//   again once it is bound. On an old generation: its calls go again now.
// - A binding refused with ENCRYPTED_MESSAGE_INVALID: the permanent key itself
//   is probed (a ping under it). -404 there means the server does not know it
//   (AUTH_KEY_UNKNOWN, the one case that ends everything); a known key gets one
//   more binding, then BIND_FAILED.
// - 401 AUTH_KEY_PERM_EMPTY on the current key (another client bound its own key
//   to the permanent key, unbinding ours): the same key is bound again; a new
//   generation if that fails. A permanent key binds one temporary key at a time,
//   so such a call did not run and is sent again by its caller.

import { backoffDelay } from '../reconnect';
import type { ReconnectOptions } from '../types';
import { type PfsConfig, renewDelayMs } from './temp-keys';

export type GenerationId = number;

export type ScheduleAction =
  /** Create a temporary key and start a main connection on it. */
  | { kind: 'makeKey'; gen: GenerationId }
  /** Start a main connection on the stored temporary key (bound by an earlier owner). */
  | { kind: 'resumeKey'; gen: GenerationId }
  /** Bind the generation's key with auth.bindTempAuthKey on its main connection. */
  | { kind: 'bind'; gen: GenerationId }
  /** Bind the current key again (it lost its binding). */
  | { kind: 'rebind'; gen: GenerationId }
  /** Ask the server (a ping under the permanent key itself) whether it knows the permanent key. */
  | { kind: 'probePermKey'; gen: GenerationId }
  /** The generation is bound and current: route new calls there. */
  | { kind: 'adopt'; gen: GenerationId; expiresAtMs: number }
  /** An old generation: answer what is in flight where it was sent, then close. */
  | { kind: 'drain'; gen: GenerationId }
  /** An old generation whose key the server forgot: send its calls again on the current one. */
  | { kind: 'resend'; gen: GenerationId }
  /** Close the generation's connections now (failed, or no longer wanted). */
  | { kind: 'discard'; gen: GenerationId }
  /** After a rebinding: initConnection again on every connection of the generation (api/pfs). */
  | { kind: 'resetInit'; gen: GenerationId }
  /** The first generation is bound: the pool is open. */
  | { kind: 'opened'; gen: GenerationId }
  /** The first generation could not be made: opening fails with `error`. */
  | { kind: 'openFailed'; error: unknown }
  /** Nothing can go on (the permanent key is unknown, the DC refuses us): everything fails. */
  | { kind: 'fail'; error: unknown };

/** Why a generation could not be made, as far as the schedule cares. */
export type FailureKind =
  /** Worth trying again later (network, timeouts, a refused binding). */
  | 'transient'
  /** Trying again cannot help (AUTH_KEY_UNKNOWN, BAD_DC). */
  | 'fatal';

interface GenState {
  id: GenerationId;
  phase: 'making' | 'current' | 'old';
  /** The server forgot its key (-404). */
  dead: boolean;
  /** Bindings sent for this generation's key (a probe allows one more). */
  bindTries: number;
}

export interface KeyScheduleOptions {
  pfs: PfsConfig;
  reconnect?: ReconnectOptions;
  /** Randomness for the renewal jitter and the retry backoff. */
  random?: () => number;
}

/** Bindings of one key before BIND_FAILED, probes of the permanent key included. */
const MAX_BIND_TRIES = 2;

export class KeySchedule {
  private readonly gens = new Map<GenerationId, GenState>();
  private nextId = 1;
  private current: GenState | null = null;
  /** The generation being made to replace the current one (or the first one). */
  private making: GenState | null = null;
  private rebinding = false;
  private renewAt = Number.POSITIVE_INFINITY;
  /** The stored key's expiry (local ms) while it is being resumed. */
  private resumeExpiresAtMs = 0;
  /** The generation connecting on a stored key, if any. */
  private resuming: GenerationId | null = null;
  private failures = 0;
  private closed = false;
  private readonly random: () => number;

  constructor(private readonly o: KeyScheduleOptions) {
    this.random = o.random ?? Math.random;
  }

  /** A generation is being made or the current key re-bound: calls wait for it to settle. */
  get busy(): boolean {
    return this.making !== null || this.rebinding;
  }

  get currentId(): GenerationId | null {
    return this.current?.id ?? null;
  }

  /** Whether the server forgot `gen`'s key. */
  isDead(gen: GenerationId): boolean {
    return this.gens.get(gen)?.dead ?? false;
  }

  /** When `tick` has something to do (ms), or +Infinity. */
  deadline(): number {
    return this.closed || this.making ? Number.POSITIVE_INFINITY : this.renewAt;
  }

  /**
   * Opening: make the first generation, or, given a stored temporary key that is still
   * valid (`resume`), connect on it first: it is bound already (api/pfs: a binding lasts
   * until the key expires unless another key is bound to the permanent one), so a
   * takeover or a restart makes no key exchange. If it is no longer bound, the first
   * call gets AUTH_KEY_PERM_EMPTY unrun and the key is bound again (permEmpty); if the
   * server forgot it, a new generation is made (resumeFailed, keyLost).
   */
  start(resume?: { expiresAtMs: number }): ScheduleAction[] {
    if (!resume) return this.makeGeneration();
    const g: GenState = { id: this.nextId++, phase: 'making', dead: false, bindTries: 0 };
    this.gens.set(g.id, g);
    this.making = g;
    this.resumeExpiresAtMs = resume.expiresAtMs;
    this.resuming = g.id;
    return [{ kind: 'resumeKey', gen: g.id }];
  }

  /** The stored key's main connection is up: it becomes current, as if just bound. */
  resumed(gen: GenerationId, now: number): ScheduleAction[] {
    if (this.resuming === gen) this.resuming = null;
    return this.bound(gen, this.resumeExpiresAtMs, now);
  }

  /** The stored key could not be used (the server forgot it, the connection failed): a new one. */
  resumeFailed(gen: GenerationId): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    this.resuming = null;
    this.making = null;
    this.gens.delete(gen);
    if (this.closed)
      return [
        { kind: 'discard', gen },
        { kind: 'openFailed', error: null },
      ];
    return [{ kind: 'discard', gen }, ...this.makeGeneration()];
  }

  /** The clock reached `now`: renew when due. */
  tick(now: number): ScheduleAction[] {
    if (this.closed || this.making || now < this.renewAt) return [];
    return this.makeGeneration();
  }

  /** `gen`'s key exists and its main connection is up: bind it. */
  keyMade(gen: GenerationId): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    if (this.closed) return this.abandon(g);
    g.bindTries = 1;
    return [{ kind: 'bind', gen }];
  }

  /** `gen`'s key is bound (its binding expires at `expiresAtMs`, local clock). */
  bound(gen: GenerationId, expiresAtMs: number, now: number): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    if (this.closed) return this.abandon(g);
    this.making = null;
    this.failures = 0;
    const old = this.current;
    this.current = g;
    g.phase = 'current';
    this.renewAt = now + renewDelayMs(expiresAtMs, now, this.o.pfs, this.random);
    const out: ScheduleAction[] = [{ kind: 'adopt', gen, expiresAtMs }];
    if (!old) out.push({ kind: 'opened', gen });
    else out.push(this.retire(old));
    return out;
  }

  /** `gen`'s binding was refused; `encryptedMessageInvalid` says whether as ENCRYPTED_MESSAGE_INVALID. */
  bindRefused(
    gen: GenerationId,
    error: unknown,
    encryptedMessageInvalid: boolean,
    now: number,
  ): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    // Does the server know the permanent key? Only a probe under it can tell.
    if (encryptedMessageInvalid && !this.closed) return [{ kind: 'probePermKey', gen }];
    return this.failed(g, error, 'transient', now);
  }

  /**
   * The permanent key was probed for `gen`'s refused binding: `known` (the server
   * answered under it), or the probe failed with `error` (AUTH_KEY_UNKNOWN is fatal).
   */
  probed(
    gen: GenerationId,
    known: boolean,
    error: unknown,
    kind: FailureKind,
    now: number,
  ): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    if (!known) return this.failed(g, error, kind, now);
    if (g.bindTries >= MAX_BIND_TRIES) return this.failed(g, error, 'transient', now);
    g.bindTries++;
    return [{ kind: 'bind', gen }];
  }

  /** Making `gen` (its key or its connection) failed with `error`. */
  makeFailed(gen: GenerationId, error: unknown, kind: FailureKind, now: number): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g !== this.making) return [{ kind: 'discard', gen }];
    return this.failed(g, error, kind, now);
  }

  /** -404 on `gen`'s key at `now`: the server forgot it. */
  keyLost(gen: GenerationId, now: number): ScheduleAction[] {
    const g = this.gens.get(gen);
    if (!g || g.dead) return [];
    g.dead = true;
    // A stored key the server forgot: a new one, as if there had been none.
    if (g === this.making && this.resuming === gen) return this.resumeFailed(gen);
    if (g === this.making) {
      return this.failed(
        g,
        new Error('the server forgot the temporary key before it was bound (-404)'),
        'transient',
        now,
      );
    }
    if (g !== this.current) return [{ kind: 'resend', gen }];
    // The dead generation's calls go again once its successor is bound (see bound()).
    if (this.closed || this.making) return [];
    return this.makeGeneration();
  }

  /** A call on `gen` was refused with 401 AUTH_KEY_PERM_EMPTY (the key is not bound). */
  permEmpty(gen: GenerationId): ScheduleAction[] {
    // Old generations: the caller sends the call again on the current one.
    if (this.closed || this.current?.id !== gen || this.busy) return [];
    this.rebinding = true;
    return [{ kind: 'rebind', gen }];
  }

  /** The rebinding of `gen` ended. */
  rebound(gen: GenerationId, ok: boolean): ScheduleAction[] {
    this.rebinding = false;
    if (this.closed || this.current?.id !== gen) return [];
    if (ok) return [{ kind: 'resetInit', gen }];
    return this.making ? [] : this.makeGeneration();
  }

  /** The executor closed every connection of old generation `gen`: it is forgotten. */
  retired(gen: GenerationId): void {
    if (this.gens.get(gen)?.phase === 'old') this.gens.delete(gen);
  }

  /** The pool closed: nothing more is made; what is being made is discarded when it reports. */
  close(): void {
    this.closed = true;
    this.renewAt = Number.POSITIVE_INFINITY;
  }

  /** Generations the schedule still tracks (tests, diagnostics). */
  get size(): number {
    return this.gens.size;
  }

  private makeGeneration(): ScheduleAction[] {
    const g: GenState = { id: this.nextId++, phase: 'making', dead: false, bindTries: 0 };
    this.gens.set(g.id, g);
    this.making = g;
    return [{ kind: 'makeKey', gen: g.id }];
  }

  /** The generation being made is given up. */
  private failed(g: GenState, error: unknown, kind: FailureKind, now: number): ScheduleAction[] {
    this.making = null;
    this.gens.delete(g.id);
    const out: ScheduleAction[] = [{ kind: 'discard', gen: g.id }];
    if (!this.current) {
      this.closed = true;
      out.push({ kind: 'openFailed', error });
      return out;
    }
    if (kind === 'fatal') {
      this.closed = true;
      out.push({ kind: 'fail', error });
      return out;
    }
    // Try again after a backoff (the network may be down); a lost key has no other way back.
    this.renewAt = now + backoffDelay(this.failures++, this.o.reconnect, this.random) + 100;
    return out;
  }

  /** Closed while making `g`. */
  private abandon(g: GenState): ScheduleAction[] {
    this.making = null;
    this.gens.delete(g.id);
    const out: ScheduleAction[] = [{ kind: 'discard', gen: g.id }];
    if (!this.current) out.push({ kind: 'openFailed', error: null });
    return out;
  }

  /** The previous current generation, once its successor is bound: tracked until `retired`. */
  private retire(old: GenState): ScheduleAction {
    old.phase = 'old';
    return { kind: old.dead ? 'resend' : 'drain', gen: old.id };
  }
}
