// Routed calls travel over Redis pub/sub: a request is published on the owning
// worker's channel, the reply on the caller's. Why pub/sub, not streams or LISTEN/
// NOTIFY: a call is a request with a deadline and an answer, so keeping it is no use
// (a request run after its caller gave up is worse than one never run), and PUBLISH
// answers how many subscribers received the message: 0 means no worker took it, so it
// certainly did not run and may go again at once. A stream would hold requests for a
// dead worker that a frozen one could run on waking; NOTIFY goes through a transaction
// commit per message and caps payloads at 8,000 bytes. One subscriber connection per
// process serves every channel it listens on.

import { FleetError } from './types';

/** The part of ioredis used here (an ioredis `Redis` instance fits). */
export interface BusRedis {
  publish(channel: string, message: Buffer): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'messageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  duplicate(): BusRedis;
  quit(): Promise<unknown>;
}

export interface RedisBusOptions {
  /** Commands (PUBLISH); a second connection is made from it for SUBSCRIBE. */
  client: BusRedis;
  /** Key prefix shared with the storage (default 'tmt:'). */
  prefix?: string;
}

export class RedisBus {
  private readonly pub: BusRedis;
  private sub: BusRedis | null = null;
  private readonly handlers = new Map<string, (data: Buffer) => void>();
  private readonly prefix: string;
  private closed = false;

  constructor(options: RedisBusOptions) {
    this.pub = options.client;
    this.prefix = options.prefix ?? 'tmt:';
  }

  callChannel(workerId: string): string {
    return `${this.prefix}fleet:call:${workerId}`;
  }

  replyChannel(clientId: string): string {
    return `${this.prefix}fleet:reply:${clientId}`;
  }

  /** Delivers every message of `channel` to `handler` (resolves once subscribed). */
  async listen(channel: string, handler: (data: Buffer) => void): Promise<void> {
    if (this.closed) throw new FleetError('FLEET_CLOSED', 'the bus is closed');
    if (!this.sub) {
      this.sub = this.pub.duplicate();
      this.sub.on('messageBuffer', (ch, message) => this.handlers.get(ch.toString())?.(message));
    }
    this.handlers.set(channel, handler);
    await this.sub.subscribe(channel);
  }

  async unlisten(channel: string): Promise<void> {
    this.handlers.delete(channel);
    await this.sub?.unsubscribe(channel).catch(() => {});
  }

  /** Publishes; resolves with the number of subscribers that received it (0: nobody). */
  publish(channel: string, data: Buffer): Promise<number> {
    return this.pub.publish(channel, data);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    await this.sub?.quit().catch(() => {});
    this.sub = null;
  }
}
