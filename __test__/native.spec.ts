import test from 'ava';
import { probeAligned } from '../bindings';

test('native errors carry a stable code', (t) => {
  const err = t.throws(() => probeAligned(Buffer.alloc(3)));
  t.is((err as NodeJS.ErrnoException).code, 'ERR_BAD_LENGTH');
});
