// `dc.updates`: a TestDc's update log with its push path. Tests make events (messages,
// channel messages, qts updates for bots), each logged and pushed to the account's sessions
// in a chosen shape, through faults (drop, duplicate, reorder, updatesTooLong, connections
// dropped or sessions forgotten mid-stream); `generate` makes N of them across the common
// box and K channels for tests and benchmarks.

import type * as TL from '../tl';
import type { LoggedEvent, TestChannel, UpdateLog } from './update-log';
import {
  channelPush,
  combinedPush,
  commonPush,
  FaultyPusher,
  type PushFaults,
  type PushShape,
  seededRandom,
} from './update-pushes';

/** Push faults plus connection faults. */
export interface UpdateFaults extends PushFaults {
  /** After every this many pushes, every connection is dropped (0: never). */
  dropConnectionsEvery: number;
  /** After every this many pushes, the account's sessions are forgotten: new_session_created (0: never). */
  forgetSessionsEvery: number;
}

/** What a TestUpdates needs of its DC. */
export interface UpdatePushHost {
  /** Pushes to every session of `userId`; returns how many. */
  push(userId: bigint, updates: TL.Types['Updates']): number;
  dropConnections(): void;
  forgetSessions(userId: bigint): number;
  /** A directory user as a push carries it (full, or `min` as group members see a sender: api/min). */
  userObject?(userId: bigint, min: boolean): TL.Types['User'] | undefined;
}

/** One generated event: where it sits, for tests that check delivery. */
export interface GeneratedUpdate {
  box: 'common' | bigint;
  /** pts (qts for `kind` 'qts') after it. */
  position: number;
  kind: 'pts' | 'qts';
  /** Message id for messages (per account in the common box, per channel in channels). */
  messageId: number | undefined;
}

export interface GenerateOptions {
  /** Events to make. */
  count: number;
  /** Channels to spread events over: existing ones, or how many to create with the account as member. */
  channels?: TestChannel[] | number;
  /** Share of events going to channels (default: channels / (channels + 1)). */
  channelShare?: number;
  /** Share of events that are qts updates (updateBotStopped; default 0). */
  qtsShare?: number;
  /** Shapes of common pushes, in turn (default: short, updates, updateShort, combined). */
  shapes?: PushShape[];
  /** Seed of the choices (default 7). */
  seed?: number;
}

const DEFAULT_SHAPES: PushShape[] = ['short', 'updates', 'updateShort', 'combined'];

export class TestUpdates {
  readonly pusher: FaultyPusher<bigint>;
  private connectionFaults = { dropConnectionsEvery: 0, forgetSessionsEvery: 0 };
  private sincePush = 0;

  constructor(
    readonly log: UpdateLog,
    private readonly host: UpdatePushHost,
  ) {
    this.pusher = new FaultyPusher((userId, updates) => {
      host.push(userId, updates);
      this.afterPush(userId);
    });
  }

  /** Sets the faults (unset ones off); held reordered pushes are sent first. */
  setFaults(f: Partial<UpdateFaults>): void {
    const { dropConnectionsEvery, forgetSessionsEvery, ...push } = f;
    this.pusher.setFaults(push);
    this.connectionFaults = {
      dropConnectionsEvery: dropConnectionsEvery ?? 0,
      forgetSessionsEvery: forgetSessionsEvery ?? 0,
    };
    this.sincePush = 0;
  }

  /** Sends the pushes a reorder window holds. */
  flush(): void {
    this.pusher.flush();
  }

  addChannel(
    o: { members?: Iterable<bigint | number>; title?: string; username?: string; broadcast?: boolean } = {},
  ): TestChannel {
    return this.log.addChannel({
      title: o.title,
      username: o.username,
      broadcast: o.broadcast,
      members: [...(o.members ?? [])].map((m) => BigInt(m)),
    });
  }

  /** The users a push names, as its receiver sees them (none for users outside the directory). */
  private usersOf(id: bigint | undefined, min: boolean): TL.Types['User'][] {
    const u = id === undefined ? undefined : this.host.userObject?.(id, min);
    return u ? [u] : [];
  }

  /** A message to `userId` (from `peer`, or in basic group `chatId`), pushed in `shape` (default 'updates'). */
  newMessage(
    userId: bigint | number,
    o: { text?: string; peer?: bigint; chatId?: bigint; shape?: PushShape } = {},
  ): LoggedEvent {
    const id = BigInt(userId);
    const { event } = this.log.newMessage(id, { text: o.text ?? 'hello', peer: o.peer, chatId: o.chatId });
    const push = commonPush(
      this.log.account(id),
      event,
      o.shape === 'combined' ? 'updates' : (o.shape ?? 'updates'),
    );
    // As Telegram: an `updates` container carries the sender it names (the short forms do not).
    if (push._ === 'updates') push.users = this.usersOf(o.peer, false);
    this.pusher.offer(id, push);
    return event;
  }

  /** A qts update for bot `userId` (updateBotStopped from `peer`). */
  botStopped(userId: bigint | number, o: { peer?: bigint; stopped?: boolean } = {}): LoggedEvent {
    const id = BigInt(userId);
    const event = this.log.botStopped(id, o.peer ?? 777000n, o.stopped ?? true);
    this.pusher.offer(id, commonPush(this.log.account(id), event, 'updates'));
    return event;
  }

  /** A message in `channel`, pushed to every member. */
  newChannelMessage(channel: TestChannel, o: { text?: string; from?: bigint } = {}): LoggedEvent {
    const { event } = this.log.newChannelMessage(channel, { text: o.text ?? 'hello', from: o.from });
    const push = channelPush(channel, event);
    // The members see the sender as a min user (api/min): addressable only through this message.
    push.users = this.usersOf(o.from, true);
    for (const m of channel.members) this.pusher.offer(m, push);
    return event;
  }

  /** Makes `count` events for `userId` across its common box and channels, pushed as they are made. */
  generate(
    userId: bigint | number,
    o: GenerateOptions,
  ): { events: GeneratedUpdate[]; channels: TestChannel[] } {
    const id = BigInt(userId);
    const channels =
      typeof o.channels === 'number'
        ? Array.from({ length: o.channels }, () => this.addChannel({ members: [id] }))
        : (o.channels ?? []);
    const random = seededRandom(o.seed ?? 7);
    const channelShare = o.channelShare ?? channels.length / (channels.length + 1);
    const qtsShare = o.qtsShare ?? 0;
    const shapes = o.shapes ?? DEFAULT_SHAPES;
    const account = this.log.account(id);
    const events: GeneratedUpdate[] = [];
    let combined: LoggedEvent[] = [];
    let turn = 0;
    const flushCombined = () => {
      if (combined.length > 0) this.pusher.offer(id, combinedPush(account, combined));
      combined = [];
    };
    for (let i = 0; i < o.count; i++) {
      const r = random();
      if (channels.length > 0 && r < channelShare) {
        const c = channels[Math.floor(random() * channels.length)];
        const { event, message } = this.log.newChannelMessage(c, { text: `gen ${i}` });
        for (const m of c.members) this.pusher.offer(m, channelPush(c, event));
        events.push({ box: c.id, position: event.end, kind: 'pts', messageId: message.id });
        continue;
      }
      if (r < channelShare + qtsShare) {
        flushCombined();
        const event = this.log.botStopped(id, 777000n + BigInt(i), i % 2 === 0);
        this.pusher.offer(id, commonPush(account, event, 'updates'));
        events.push({ box: 'common', position: event.end, kind: 'qts', messageId: undefined });
        continue;
      }
      const shape = shapes[turn++ % shapes.length];
      const { event, message } = this.log.newMessage(id, {
        text: `gen ${i}`,
        chatId: i % 5 === 0 ? 42n : undefined,
      });
      events.push({ box: 'common', position: event.end, kind: 'pts', messageId: message.id });
      if (shape === 'combined') {
        combined.push(event);
        if (combined.length >= 3) flushCombined();
        continue;
      }
      flushCombined();
      this.pusher.offer(id, commonPush(account, event, shape));
    }
    flushCombined();
    return { events, channels };
  }

  private afterPush(userId: bigint): void {
    const { dropConnectionsEvery, forgetSessionsEvery } = this.connectionFaults;
    this.sincePush++;
    if (dropConnectionsEvery > 0 && this.sincePush % dropConnectionsEvery === 0) this.host.dropConnections();
    if (forgetSessionsEvery > 0 && this.sincePush % forgetSessionsEvery === 0)
      this.host.forgetSessions(userId);
  }
}
