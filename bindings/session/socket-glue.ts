// How sockets reach the connection that owns them: shared listener functions (not
// closures per socket) that find the owner on the socket, one read buffer for the
// whole process, and one scratch where large frames are written from.

import type net from 'node:net';
import { FILE_FRAME_ROOM, WriteScratch } from '../transport/write-scratch';

/** What a socket's listeners call on the connection that owns it. */
export interface SocketOwner {
  /** Whether `socket` is still the owner's current connection. */
  isSocket(socket: net.Socket): boolean;
  onData(chunk: Buffer): void;
  onSocketClosed(socket: net.Socket): void;
}

const OWNER = Symbol('socket owner');
type OwnedSocket = net.Socket & { [OWNER]?: SocketOwner };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  const d = this[OWNER];
  if (d?.isSocket(this)) d.onData(chunk);
}

/**
 * Where every socket's reads land (net's `onread`): one buffer for the process
 * instead of a fresh 64 KiB allocation per read, shrunk and wrapped in a Buffer
 * for a 'data' event. The link copies what it is given at once.
 */
let readBuffer: Buffer | null = null;
const READ_BUFFER_LEN = 64 * 1024;

/** The `onread` option for a socket that `attach` will own. */
export function socketReads() {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_LEN);
  return { buffer: readBuffer, callback: onSocketRead };
}

/** Where a large frame (a file part) is framed before its write: one for the process. */
export const frameScratch = new WriteScratch(FILE_FRAME_ROOM);

function onSocketRead(this: unknown, nread: number, buf: Uint8Array): boolean {
  const socket = this as OwnedSocket;
  const d = socket[OWNER];
  if (d?.isSocket(socket)) d.onData((buf as Buffer).subarray(0, nread));
  return true;
}

function onSocketClose(this: OwnedSocket): void {
  this[OWNER]?.onSocketClosed(this);
}

// Errors end in 'close', which is where the owner hears of them.
function ignoreError(): void {}

/** Makes `owner` hear `socket`'s reads and its close. */
export function attach(socket: net.Socket, owner: SocketOwner): void {
  (socket as OwnedSocket)[OWNER] = owner;
  // Sockets made with `socketReads()` deliver through onread; others through 'data'.
  socket.on('data', onSocketData);
  socket.on('error', ignoreError);
  socket.on('close', onSocketClose);
}
