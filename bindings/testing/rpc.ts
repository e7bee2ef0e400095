// How a handler answers with an error: throw rpcError(code, 'MESSAGE') (or ctx.rpcError).

/** An RPC error a TestDc handler throws; the client receives rpc_error with these values. */
export class TestRpcError extends Error {
  readonly code: number;
  readonly errorMessage: string;

  constructor(code: number, errorMessage: string) {
    super(`${code} ${errorMessage}`);
    this.name = 'TestRpcError';
    this.code = code;
    this.errorMessage = errorMessage;
  }
}

/** Throws a TestRpcError: `throw`-free sugar for handlers (`return rpcError(400, 'PEER_ID_INVALID')`). */
export function rpcError(code: number, errorMessage: string): never {
  throw new TestRpcError(code, errorMessage);
}
