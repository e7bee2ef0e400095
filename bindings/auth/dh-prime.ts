// The safe-prime test of a dh_prime that is not Telegram's, off the event loop.
// The native side keeps each verdict (a bounded table), so a prime is tested once per
// process; this file makes exchanges that meet the same new prime at the same time
// share that one test instead of each queueing its own.
import { testDhPrime } from '../native';

/** Tests in flight, by prime (hex); an entry lives only while its test runs. */
const running = new Map<string, Promise<boolean>>();

/** Whether `dhPrime` is a 2048-bit safe prime, tested on the libuv pool. */
export function testDhPrimeShared(dhPrime: Buffer): Promise<boolean> {
  const key = dhPrime.toString('hex');
  let test = running.get(key);
  if (!test) {
    test = testDhPrime(dhPrime).finally(() => running.delete(key));
    running.set(key, test);
  }
  return test;
}
