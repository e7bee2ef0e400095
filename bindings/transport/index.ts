// The transport layer: TCP connections carrying MTProto packets (see README.md).
export {
  TransportConnection,
  type TransportConnectOptions,
  type TransportHandlers,
  type TransportKind,
} from './connection';
export { describeTransportCode, TransportConnectionError, type TransportConnectionErrorCode } from './errors';
