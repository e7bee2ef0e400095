// A simulated server for the update engine's property tests: TestDc's sans-IO update log
// (bindings/testing/update-log.ts) makes the events and answers the engine's requests; the
// pushes go through a lossy, reordering, duplicating inbox under the test's control; time
// is a number the test moves. No socket, no timer.

import type { TL } from '../bindings';
import { type TestChannel, UpdateLog } from '../bindings/testing/update-log';
import { channelPush, combinedPush, commonPush, type PushShape } from '../bindings/testing/update-pushes';
import {
  type DeliveredUpdate,
  type EngineOutput,
  type EngineRequest,
  UpdateEngine,
  type UpdateEngineOptions,
  type UpdateError,
  type UpdateGap,
} from '../bindings/updates';

export const USER = 100n;
const START = 1_700_000_000_000;

/** A test's step: an event (pushed or not), delivery of what the inbox holds, time, acks, reconnects. */
export type Step =
  | { kind: 'common'; shape: PushShape; fate: Fate }
  | { kind: 'combined'; n: number; fate: Fate }
  | { kind: 'qts'; fate: Fate }
  | { kind: 'channel'; index: number; fate: Fate }
  | { kind: 'deliver'; count: number; reverse: boolean }
  | { kind: 'answer'; count: number }
  | { kind: 'time'; ms: number }
  | { kind: 'reconnect' };

/** What happens to a push. */
export type Fate = 'push' | 'drop' | 'duplicate' | 'tooLong';

export interface SimOptions {
  channels?: number;
  sliceSize?: number;
  tooLongAfter?: number;
  engine?: UpdateEngineOptions;
  /** Acknowledge every delivered update at once (default true). */
  autoAck?: boolean;
}

export class Sim {
  now = START;
  readonly log: UpdateLog;
  readonly channels: TestChannel[] = [];
  engine: UpdateEngine;
  /** Pushes made but not yet handed to the engine. */
  inbox: TL.Types['Updates'][] = [];
  /** Requests the engine made, not yet answered. */
  pending: EngineRequest[] = [];
  readonly delivered: DeliveredUpdate[] = [];
  readonly gaps: UpdateGap[] = [];
  readonly errors: UpdateError[] = [];
  readonly calls: Record<string, number> = {};
  autoAck: boolean;

  constructor(readonly options: SimOptions = {}) {
    this.log = new UpdateLog({
      now: () => this.now,
      sliceSize: options.sliceSize ?? 100,
      tooLongAfter: options.tooLongAfter ?? 1_000_000,
    });
    this.log.account(USER);
    for (let i = 0; i < (options.channels ?? 0); i++)
      this.channels.push(this.log.addChannel({ members: [USER] }));
    this.autoAck = options.autoAck ?? true;
    this.engine = new UpdateEngine({ gapWaitMs: 500, ...options.engine });
    // The application knows its channels (from its dialogs) before their first update.
    for (const c of this.channels)
      this.engine.setChannel(c.id, { pts: c.pts, accessHash: c.accessHash }, this.now);
    this.engine.start(this.now);
    this.collect();
    // updates.getState answered before the first event: what came before it is not expected.
    this.run({ kind: 'answer', count: this.pending.length });
  }

  /** A new engine from the committed state (a restart); what was in flight is lost. */
  restart(options: UpdateEngineOptions = {}): void {
    const state = this.engine.committedState();
    this.pending = [];
    this.inbox = [];
    this.engine = new UpdateEngine({ gapWaitMs: 500, ...this.options.engine, ...options, state });
    this.engine.start(this.now);
    this.collect();
  }

  private fate(push: TL.Types['Updates'], fate: Fate): void {
    if (fate === 'drop') return;
    const u: TL.Types['Updates'] = fate === 'tooLong' ? { _: 'updatesTooLong' } : push;
    this.inbox.push(u);
    if (fate === 'duplicate') this.inbox.push(u);
  }

  run(step: Step): void {
    const account = this.log.account(USER);
    switch (step.kind) {
      case 'common': {
        const { event } = this.log.newMessage(USER, {
          text: 'm',
          chatId: step.shape === 'short' && account.pts % 2 ? 9n : undefined,
        });
        this.fate(commonPush(account, event, step.shape === 'combined' ? 'updates' : step.shape), step.fate);
        break;
      }
      case 'combined': {
        const events = Array.from({ length: step.n }, () => this.log.newMessage(USER, { text: 'c' }).event);
        this.fate(combinedPush(account, events), step.fate);
        break;
      }
      case 'qts':
        this.fate(commonPush(account, this.log.botStopped(USER, 5n, true), 'updates'), step.fate);
        break;
      case 'channel': {
        if (this.channels.length === 0) return;
        const c = this.channels[step.index % this.channels.length];
        this.fate(channelPush(c, this.log.newChannelMessage(c, { text: 'x' }).event), step.fate);
        break;
      }
      case 'deliver': {
        const batch = this.inbox.splice(0, step.count);
        if (step.reverse) batch.reverse();
        for (const u of batch) {
          this.engine.push(u, this.now);
          this.collect();
        }
        break;
      }
      case 'answer':
        for (const r of this.pending.splice(0, step.count)) this.answer(r);
        break;
      case 'time':
        this.now += step.ms;
        this.engine.tick(this.now);
        this.collect();
        break;
      case 'reconnect':
        this.engine.connectionRestored(this.now);
        this.collect();
        break;
    }
  }

  /** Answers one request from the log (the server side). */
  answer(r: EngineRequest): void {
    this.calls[r.method] = (this.calls[r.method] ?? 0) + 1;
    let result: unknown;
    let error: string | undefined;
    switch (r.method) {
      case 'updates.getState':
        result = this.log.state(USER);
        break;
      case 'updates.getDifference':
        result = this.log.difference(USER, r.params);
        if (!result) error = 'PERSISTENT_TIMESTAMP_INVALID';
        break;
      case 'updates.getChannelDifference': {
        const d = this.log.channelDifference(USER, r.params);
        if (typeof d === 'string') error = d;
        else result = d;
        break;
      }
      case 'channels.getFullChannel': {
        const input = r.params.channel;
        const c = input._ === 'inputChannel' ? this.log.channel(input.channelId) : undefined;
        if (!c) error = 'CHANNEL_INVALID';
        else
          result = {
            _: 'messages.chatFull',
            fullChat: { _: 'channelFull', pts: c.pts },
            chats: [],
            users: [],
          };
        break;
      }
    }
    if (error) this.engine.fail(r.id, { message: error }, this.now);
    else this.engine.answer(r.id, result, this.now);
    this.collect();
  }

  /** Takes the engine's outputs: deliveries (acknowledged when autoAck), requests, gaps, errors. */
  collect(): readonly EngineOutput[] {
    const out = this.engine.takeOutputs();
    for (const o of out) {
      switch (o.kind) {
        case 'update':
          this.delivered.push(o);
          if (this.autoAck) this.engine.acknowledge(o.token);
          break;
        case 'request':
          this.pending.push(o);
          break;
        case 'gap':
          this.gaps.push(o);
          if (this.autoAck) this.engine.acknowledge(o.token);
          break;
        case 'error':
          this.errors.push(o);
          break;
      }
    }
    return out;
  }

  /**
   * Delivers what the inbox holds, answers every request, lets time run to each deadline,
   * and finally resyncs (as a reconnect does) to catch tails whose pushes were lost.
   */
  settle(maxRounds = 10_000): void {
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < maxRounds; i++) {
        if (this.inbox.length > 0) {
          this.run({ kind: 'deliver', count: this.inbox.length, reverse: false });
          continue;
        }
        if (this.pending.length > 0) {
          this.run({ kind: 'answer', count: this.pending.length });
          continue;
        }
        const deadline = this.engine.nextDeadline();
        if (this.engine.busy && deadline !== undefined) {
          this.run({ kind: 'time', ms: Math.max(1, deadline - this.now) });
          continue;
        }
        const held = deadline !== undefined && deadline < this.now + 60_000;
        if (held) {
          this.run({ kind: 'time', ms: Math.max(1, deadline - this.now) });
          continue;
        }
        break;
      }
      if (pass === 0) {
        this.now += 1000;
        this.engine.resync(this.now);
        this.collect();
      }
    }
  }

  /** Message ids (or qts) delivered per box, in delivery order. */
  deliveredByBox(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    const add = (k: string, v: number) => {
      const l = m.get(k);
      if (l) l.push(v);
      else m.set(k, [v]);
    };
    for (const d of this.delivered) {
      const u = d.update;
      if (u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage') add(String(d.box), u.message.id);
      else if (u._ === 'updateBotStopped') add('qts', u.qts);
    }
    return m;
  }

  /** What the log holds per box: 1..n message ids, 1..qts. */
  expectedByBox(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const a = this.log.account(USER);
    if (a.lastMessageId > 0) m.set('common', range(a.lastMessageId));
    if (a.qts > 0) m.set('qts', range(a.qts));
    for (const c of this.channels) if (c.lastMessageId > 0) m.set(String(c.id), range(c.lastMessageId));
    return m;
  }
}

/** Where a delivered update sits for the tests: its box key and id (message id, or qts). */
export function keyOf(d: DeliveredUpdate): [string, number] {
  const u = d.update;
  if (u._ === 'updateBotStopped') return ['qts', u.qts];
  if (u._ === 'updateNewMessage' || u._ === 'updateNewChannelMessage') return [String(d.box), u.message.id];
  return [String(d.box), 0];
}
