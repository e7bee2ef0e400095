// The update log of a TestDc, sans-IO: per account the common sequences (pts, qts, seq,
// date) and the events that moved them; channels with their own pts and members. It makes
// the events (new messages, deletions, qts updates for bots) and answers what Telegram
// answers over them (core.telegram.org/api/updates): updates.getState,
// updates.getDifference (slices past `sliceSize`, differenceTooLong past `tooLongAfter`
// or before the oldest kept event) and updates.getChannelDifference (pages, and
// channelDifferenceTooLong past the client's `limit`).

import type * as TL from '../tl';

/** One event of a sequence: the update and the position it moved the sequence to. */
export interface LoggedEvent {
  /** pts (or qts) after the event. */
  end: number;
  count: number;
  update: TL.Types['Update'];
  /** Unix seconds. */
  date: number;
}

export class AccountUpdates {
  pts = 1;
  qts = 0;
  seq = 0;
  /** Message ids of private chats and basic groups (one sequence per account, as Telegram's). */
  lastMessageId = 0;
  readonly ptsEvents: LoggedEvent[] = [];
  readonly qtsEvents: LoggedEvent[] = [];
  /** Oldest positions still kept (older requests get differenceTooLong). */
  firstPts = 1;
  firstQts = 0;
  constructor(readonly userId: bigint) {}
}

export class TestChannel {
  pts = 1;
  lastMessageId = 0;
  /** Unix seconds of its last event (getDifference reports channels touched since the client's date). */
  lastDate = 0;
  readonly events: LoggedEvent[] = [];
  firstPts = 1;
  readonly members = new Set<bigint>();
  /** Its messages by id (inputPeer*FromMessage names one; bounded like `events`). */
  readonly messages = new Map<number, TL.Objects['message']>();
  /** A public channel's username (contacts.resolveUsername finds it). */
  username: string | undefined;
  /** A broadcast channel (else a supergroup). */
  broadcast = false;
  constructor(
    readonly id: bigint,
    readonly accessHash: bigint,
    readonly title: string,
    readonly createdAt: number,
  ) {}

  /** The channel object its members see (`min`: as seen by someone who may not address it: api/min). */
  chat(min = false): TL.Objects['channel'] {
    return {
      _: 'channel',
      id: this.id,
      // A min constructor's hash cannot address the channel (api/min): not the real one.
      accessHash: min ? ~this.accessHash : this.accessHash,
      min: min || undefined,
      title: this.title,
      username: this.username,
      photo: { _: 'chatPhotoEmpty' },
      date: this.createdAt,
      megagroup: this.broadcast ? undefined : true,
      broadcast: this.broadcast || undefined,
    };
  }
}

export interface UpdateLogOptions {
  /** Server clock, ms. */
  now: () => number;
  /** Events per getDifference answer and channel difference page (default 100). */
  sliceSize?: number;
  /** A client further behind than this gets differenceTooLong (default 100 000). */
  tooLongAfter?: number;
  /** Events kept per sequence; older ones are forgotten (default 1 000 000). */
  keep?: number;
  /**
   * A directory user as a difference carries it (full, or `min` as channel members see a
   * sender: api/min); differences then name the users of their messages, as Telegram's do.
   */
  userObject?: (userId: bigint, min: boolean) => TL.Types['User'] | undefined;
}

const FIRST_CHANNEL_ID = 2_000_000_000_000n;

export class UpdateLog {
  private readonly accounts = new Map<bigint, AccountUpdates>();
  private readonly channels = new Map<bigint, TestChannel>();
  private readonly channelsByUsername = new Map<string, TestChannel>();
  private nextChannelId = FIRST_CHANNEL_ID;
  readonly sliceSize: number;
  readonly tooLongAfter: number;
  private readonly keep: number;

  constructor(private readonly options: UpdateLogOptions) {
    this.sliceSize = options.sliceSize ?? 100;
    this.tooLongAfter = options.tooLongAfter ?? 100_000;
    this.keep = options.keep ?? 1_000_000;
  }

  /** Unix seconds now. */
  date(): number {
    return Math.floor(this.options.now() / 1000);
  }

  account(userId: bigint): AccountUpdates {
    let a = this.accounts.get(userId);
    if (!a) {
      a = new AccountUpdates(userId);
      this.accounts.set(userId, a);
    }
    return a;
  }

  addChannel(
    o: {
      members?: Iterable<bigint>;
      title?: string;
      id?: bigint;
      accessHash?: bigint;
      username?: string;
      broadcast?: boolean;
    } = {},
  ): TestChannel {
    const id = o.id ?? this.nextChannelId++;
    if (this.channels.has(id)) throw new RangeError(`channel ${id} exists`);
    const hash = o.accessHash ?? BigInt.asIntN(64, id * 0x9e3779b97f4a7c15n);
    const c = new TestChannel(id, hash, o.title ?? `Channel ${id}`, this.date());
    if (o.username !== undefined) {
      const u = o.username.toLowerCase();
      if (this.channelsByUsername.has(u)) throw new RangeError(`username ${u} is taken`);
      this.channelsByUsername.set(u, c);
      c.username = o.username;
    }
    c.broadcast = o.broadcast ?? false;
    for (const m of o.members ?? []) c.members.add(m);
    this.channels.set(id, c);
    return c;
  }

  channel(id: bigint): TestChannel | undefined {
    return this.channels.get(id);
  }

  /** The channel with this username (any case). */
  channelByUsername(username: string): TestChannel | undefined {
    return this.channelsByUsername.get(username.toLowerCase());
  }

  // --- events -----------------------------------------------------------------

  /** A message in a private chat with `peer` (or in basic group `chatId`) logged for `userId`. */
  newMessage(
    userId: bigint,
    o: { text: string; peer?: bigint; chatId?: bigint; out?: boolean },
  ): { event: LoggedEvent; message: TL.Objects['message'] } {
    const a = this.account(userId);
    const date = this.date();
    const peer = o.peer ?? 777000n;
    const message: TL.Objects['message'] = {
      _: 'message',
      out: o.out || undefined,
      id: ++a.lastMessageId,
      fromId: { _: 'peerUser', userId: o.out ? userId : peer },
      peerId: o.chatId === undefined ? { _: 'peerUser', userId: peer } : { _: 'peerChat', chatId: o.chatId },
      date,
      message: o.text,
    };
    const event = this.logPts(a, { _: 'updateNewMessage', message, pts: 0, ptsCount: 1 }, 1, date);
    return { event, message };
  }

  /** Messages deleted by `userId` (messages.deleteMessages): one pts per message. */
  deleteMessages(userId: bigint, ids: number[]): LoggedEvent {
    const a = this.account(userId);
    const count = Math.max(1, ids.length);
    return this.logPts(
      a,
      { _: 'updateDeleteMessages', messages: ids, pts: 0, ptsCount: count },
      count,
      this.date(),
    );
  }

  /** A qts update for a bot: the user `peer` stopped (or restarted) it. */
  botStopped(userId: bigint, peer: bigint, stopped: boolean): LoggedEvent {
    const a = this.account(userId);
    const date = this.date();
    const update: TL.Objects['updateBotStopped'] = {
      _: 'updateBotStopped',
      userId: peer,
      date,
      stopped,
      qts: ++a.qts,
    };
    const event: LoggedEvent = { end: a.qts, count: 1, update, date };
    a.qtsEvents.push(event);
    this.trim(a.qtsEvents, (first) => {
      a.firstQts = first;
    });
    return event;
  }

  /** A message in a channel (every member sees it). */
  newChannelMessage(
    channel: TestChannel,
    o: { text: string; from?: bigint },
  ): { event: LoggedEvent; message: TL.Objects['message'] } {
    const date = this.date();
    const message: TL.Objects['message'] = {
      _: 'message',
      id: ++channel.lastMessageId,
      fromId: o.from === undefined ? undefined : { _: 'peerUser', userId: o.from },
      peerId: { _: 'peerChannel', channelId: channel.id },
      date,
      message: o.text,
    };
    channel.pts += 1;
    channel.lastDate = date;
    const update: TL.Objects['updateNewChannelMessage'] = {
      _: 'updateNewChannelMessage',
      message,
      pts: channel.pts,
      ptsCount: 1,
    };
    const event: LoggedEvent = { end: channel.pts, count: 1, update, date };
    channel.events.push(event);
    channel.messages.set(message.id, message);
    this.trim(channel.events, (first) => {
      channel.firstPts = first;
      // Forgotten with their events: the oldest message kept is the first kept event's.
      const oldest = channel.events[0]?.update;
      const keepFrom = oldest?._ === 'updateNewChannelMessage' ? oldest.message.id : channel.lastMessageId;
      for (const id of channel.messages.keys()) {
        if (id >= keepFrom) break;
        channel.messages.delete(id);
      }
    });
    return { event, message };
  }

  private logPts(
    a: AccountUpdates,
    update: TL.Types['Update'] & { pts: number },
    count: number,
    date: number,
  ): LoggedEvent {
    a.pts += count;
    update.pts = a.pts;
    const event: LoggedEvent = { end: a.pts, count, update, date };
    a.ptsEvents.push(event);
    this.trim(a.ptsEvents, (first) => {
      a.firstPts = first;
    });
    return event;
  }

  /** Forgets the oldest tenth of a sequence past `keep` (their clients get TooLong). */
  private trim(events: LoggedEvent[], setFirst: (position: number) => void): void {
    if (events.length <= this.keep) return;
    const cut = Math.ceil(this.keep / 10);
    const first = events[cut - 1].end;
    events.splice(0, cut);
    setFirst(first);
  }

  // --- answers ------------------------------------------------------------------

  state(userId: bigint): TL.Objects['updates.state'] {
    const a = this.account(userId);
    return { _: 'updates.state', pts: a.pts, qts: a.qts, date: this.date(), seq: a.seq, unreadCount: 0 };
  }

  /** updates.getDifference for `userId`; undefined when the client claims a state ahead of the server's. */
  difference(
    userId: bigint,
    p: TL.Params<'updates.getDifference'>,
  ): TL.Types['updates.Difference'] | undefined {
    const a = this.account(userId);
    if (p.pts > a.pts || p.qts > a.qts) return undefined;
    const date = this.date();
    const behind = a.pts - p.pts;
    if (
      p.pts < a.firstPts ||
      behind > this.tooLongAfter ||
      (p.ptsTotalLimit !== undefined && behind > p.ptsTotalLimit)
    )
      return { _: 'updates.differenceTooLong', pts: a.pts };
    const limit = Math.max(1, Math.min(this.sliceSize, p.ptsLimit ?? this.sliceSize));
    const ptsEvents = after(a.ptsEvents, p.pts, limit);
    const qtsEvents =
      p.qts < a.firstQts
        ? []
        : after(a.qtsEvents, p.qts, Math.max(1, Math.min(this.sliceSize, p.qtsLimit ?? this.sliceSize)));
    const ptsTo = ptsEvents.at(-1)?.end ?? p.pts;
    const qtsTo = qtsEvents.at(-1)?.end ?? p.qts;
    const more = ptsTo < a.pts || (qtsTo < a.qts && p.qts >= a.firstQts);
    // Channels touched since the client's date, with their pts: the client fetches those
    // it is behind on (api/updates, updateChannelTooLong). Reported on the last page.
    const touched = more ? [] : this.channelsTouched(userId, p.date);
    if (ptsEvents.length === 0 && qtsEvents.length === 0 && touched.length === 0)
      return { _: 'updates.differenceEmpty', date, seq: a.seq };
    const newMessages: TL.Types['Message'][] = [];
    const newEncryptedMessages: TL.Types['EncryptedMessage'][] = [];
    const otherUpdates: TL.Types['Update'][] = [];
    for (const e of [...ptsEvents, ...qtsEvents]) {
      if (e.update._ === 'updateNewMessage') newMessages.push(e.update.message);
      else if (e.update._ === 'updateNewEncryptedMessage') newEncryptedMessages.push(e.update.message);
      else otherUpdates.push(e.update);
    }
    for (const c of touched) otherUpdates.push({ _: 'updateChannelTooLong', channelId: c.id, pts: c.pts });
    const lists = {
      newMessages,
      newEncryptedMessages,
      otherUpdates,
      chats: touched.map((c) => c.chat()),
      users: this.usersOf(newMessages, false),
    };
    // A slice keeps the client's date, so that the last page still names every channel
    // touched since it.
    const state = {
      _: 'updates.state' as const,
      pts: ptsTo,
      qts: qtsTo,
      date: more ? p.date : date,
      seq: a.seq,
      unreadCount: 0,
    };
    return more
      ? { _: 'updates.differenceSlice', ...lists, intermediateState: state }
      : { _: 'updates.difference', ...lists, state };
  }

  private channelsTouched(userId: bigint, since: number): TestChannel[] {
    const out: TestChannel[] = [];
    for (const c of this.channels.values())
      if (c.members.has(userId) && c.lastDate >= since && c.pts > 1) out.push(c);
    return out;
  }

  /**
   * updates.getChannelDifference for `userId`: an error message (CHANNEL_INVALID,
   * CHANNEL_PRIVATE, PERSISTENT_TIMESTAMP_INVALID) or the answer.
   */
  channelDifference(
    userId: bigint,
    p: TL.Params<'updates.getChannelDifference'>,
  ): TL.Types['updates.ChannelDifference'] | string {
    const input = p.channel;
    if (input._ !== 'inputChannel') return 'CHANNEL_INVALID';
    const c = this.channels.get(input.channelId);
    if (!c || c.accessHash !== input.accessHash) return 'CHANNEL_INVALID';
    if (!c.members.has(userId)) return 'CHANNEL_PRIVATE';
    if (p.pts > c.pts || p.pts <= 0 || p.limit <= 0) return 'PERSISTENT_TIMESTAMP_INVALID';
    const timeout = 30;
    if (p.pts === c.pts) return { _: 'updates.channelDifferenceEmpty', final: true, pts: c.pts, timeout };
    const chats = [c.chat()];
    // api/updates: pts + limit < remote pts: too long (also when the events are forgotten).
    if (p.pts + p.limit < c.pts || p.pts < c.firstPts) {
      return {
        _: 'updates.channelDifferenceTooLong',
        final: true,
        timeout,
        dialog: {
          _: 'dialog',
          peer: { _: 'peerChannel', channelId: c.id },
          topMessage: c.lastMessageId,
          readInboxMaxId: c.lastMessageId,
          readOutboxMaxId: c.lastMessageId,
          unreadCount: 0,
          unreadMentionsCount: 0,
          unreadReactionsCount: 0,
          notifySettings: { _: 'peerNotifySettings' },
          pts: c.pts,
        },
        messages: c.events
          .slice(-10)
          .flatMap((e) => (e.update._ === 'updateNewChannelMessage' ? [e.update.message] : [])),
        chats,
        users: [],
      };
    }
    const events = after(c.events, p.pts, Math.min(this.sliceSize, p.limit));
    const to = events.at(-1)!.end;
    const newMessages: TL.Types['Message'][] = [];
    const otherUpdates: TL.Types['Update'][] = [];
    for (const e of events) {
      if (e.update._ === 'updateNewChannelMessage') newMessages.push(e.update.message);
      else otherUpdates.push(e.update);
    }
    return {
      _: 'updates.channelDifference',
      final: to === c.pts || undefined,
      pts: to,
      timeout,
      newMessages,
      otherUpdates,
      chats,
      users: this.usersOf(newMessages, true),
    };
  }

  /** The users the messages name (senders, private chats), as the reader sees them. */
  private usersOf(messages: readonly TL.Types['Message'][], min: boolean): TL.Types['User'][] {
    const get = this.options.userObject;
    if (!get) return [];
    const ids = new Set<bigint>();
    for (const m of messages) {
      if (m._ !== 'message') continue;
      if (m.fromId?._ === 'peerUser') ids.add(m.fromId.userId);
      if (m.peerId._ === 'peerUser') ids.add(m.peerId.userId);
    }
    const out: TL.Types['User'][] = [];
    for (const id of ids) {
      const u = get(id, min);
      if (u) out.push(u);
    }
    return out;
  }
}

/** The events after position `from`, at most `limit` (binary search: logs are in order). */
function after(events: readonly LoggedEvent[], from: number, limit: number): LoggedEvent[] {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].end <= from) lo = mid + 1;
    else hi = mid;
  }
  return events.slice(lo, lo + limit);
}
