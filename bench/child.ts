// A bench's child process: this same file forked with a flag (its own event loop and
// CPU, as a DC or another library would be), spoken to one message at a time.

import type { Serializable } from 'node:child_process';
import { fork } from 'node:child_process';

export interface BenchChild {
  /** The child's process (its CPU time is in /proc/<pid>/stat on Linux). */
  pid: number | undefined;
  /** The child's next message; rejects, naming `what`, if it exits first. */
  next<T>(): Promise<T>;
  /** Sends `message` and resolves with the reply. */
  ask<T>(message: Serializable): Promise<T>;
  /** Disconnects (the child ends on 'disconnect') and waits for its exit. */
  stop(): Promise<void>;
}

/** Forks `file` with `flag` under tsx; `what` names it in errors. */
export function forkChild(file: string, flag: string, what: string): BenchChild {
  const child = fork(file, [flag], { execArgv: ['--import', 'tsx'] });
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${what} exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
    });
  return {
    pid: child.pid,
    next,
    ask: <T>(message: Serializable) => {
      const reply = next<T>();
      child.send(message);
      return reply;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
