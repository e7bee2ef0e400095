import test from 'ava';
import { aesIgeEncrypt } from '../bindings';

test('native errors carry a stable code', (t) => {
  const err = t.throws(() => aesIgeEncrypt(Buffer.alloc(3), Buffer.alloc(32), Buffer.alloc(32)));
  t.is((err as NodeJS.ErrnoException).code, 'ERR_BAD_LENGTH');
  t.regex(err!.message, /length 3 is not a multiple of 16/);
});
