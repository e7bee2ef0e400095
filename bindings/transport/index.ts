// The transport layer: TCP connections carrying MTProto packets (see README.md).
export {
  TransportConnection,
  type TransportConnectOptions,
  type TransportHandlers,
  type TransportKind,
} from './connection';
export { describeTransportCode, TransportConnectionError, type TransportConnectionErrorCode } from './errors';
export { fakeTlsHandshake, isFakeTlsSecret, secretTransportKind } from './fake-tls';
export { type OpenSocketOptions, openSocket, type ProxyOptions, type SocketTarget } from './proxy';
export { ConnectError, type ConnectErrorCode, type ProxyErrorCode, proxyFailureCode } from './proxy-errors';
