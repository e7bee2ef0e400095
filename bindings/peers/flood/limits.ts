// The flood controller's defaults for bots, with where each number comes from. Telegram
// publishes no exact limits; these are the Bot FAQ's
// (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
//   "avoid sending more than one message per second" in a single chat;
//   "bots are not able to broadcast more than about 30 messages per second";
//   "in a group, bots are not be able to send more than 20 messages per minute".
// The same numbers are what the Bot API's documentation and the big bot frameworks use.
import type { RateLimit } from './bucket';

export interface FloodLimits {
  /** Every send of the session together (FAQ: about 30 messages per second). */
  global: RateLimit;
  /** One private chat (FAQ: one message per second). */
  user: RateLimit;
  /** One group or channel (FAQ: 20 messages per minute). */
  group: RateLimit;
  /** The methods that count as sends (the buckets apply to them; a FLOOD_WAIT memory applies to every method). */
  methods: readonly string[];
}

/** Methods that send into a chat: what the FAQ's limits are about. */
export const SENDING_METHODS: readonly string[] = [
  'messages.sendMessage',
  'messages.sendMedia',
  'messages.sendMultiMedia',
  'messages.forwardMessages',
  'messages.sendInlineBotResult',
  'messages.sendScreenshotNotification',
  'messages.sendReaction',
];

export const BOT_FLOOD_LIMITS: FloodLimits = Object.freeze({
  global: { count: 30, perMs: 1000 },
  user: { count: 1, perMs: 1000 },
  group: { count: 20, perMs: 60_000 },
  methods: SENDING_METHODS,
});

/** Queue bounds: past them a send is refused (FloodQueueError FLOOD_QUEUE_FULL), never held without bound. */
export interface FloodQueueLimits {
  /** Calls waiting in the whole session (default 10,000). */
  maxQueued: number;
  /** Calls waiting for one chat (default 1,000). */
  maxPerChat: number;
}

export const DEFAULT_QUEUE_LIMITS: FloodQueueLimits = Object.freeze({ maxQueued: 10_000, maxPerChat: 1_000 });
