// The typed errors of bindings/peers: a peer that cannot be addressed, a send the flood
// controller refused to queue.

export type PeerErrorCode =
  | 'PEER_UNKNOWN' // no access hash for it in the store, and resolving it was not allowed or found nothing
  | 'PEER_REF_INVALID' // not something a peer can be resolved from
  | 'PEER_KIND_MISMATCH'; // e.g. a basic group where an InputUser is wanted

export class PeerError extends Error {
  override readonly name = 'PeerError';
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export type FloodErrorCode =
  | 'FLOOD_QUEUE_FULL' // the session's queue of sends (or this chat's) is at its limit
  | 'FLOOD_QUEUE_CLOSED'; // the session closed while the send waited

export class FloodQueueError extends Error {
  override readonly name = 'FloodQueueError';
  constructor(
    readonly code: FloodErrorCode,
    message: string,
  ) {
    super(message);
  }
}
