import test from 'ava';
import { dcAddresses, handshakeDcId } from '../bindings/dcs';

// Values from tdlib's get_default_dc_options (vectors/dcs.json).
test('production DC 2 has two IPv4 addresses and one IPv6, on port 443', (t) => {
  const addrs = dcAddresses(2);
  t.deepEqual(
    addrs.map((a) => [a.host, a.ipv6]),
    [
      ['149.154.167.51', false],
      ['95.161.76.100', false],
      ['2001:67c:4e8:f002::a', true],
    ],
  );
  t.true(addrs.every((a) => a.port === 443 && a.dcId === 2));
  t.is(dcAddresses(2, 'production', true)[0].host, '2001:67c:4e8:f002::a');
});

test('the test environment has DCs 1..3 only', (t) => {
  t.is(dcAddresses(3, 'test')[0].host, '149.154.175.117');
  t.throws(() => dcAddresses(4, 'test'), { instanceOf: RangeError });
  t.throws(() => dcAddresses(6), { instanceOf: RangeError });
});

test('handshake dc id: +10000 on test servers, negative for media', (t) => {
  t.is(handshakeDcId(2), 2);
  t.is(handshakeDcId(2, 'test'), 10002);
  t.is(handshakeDcId(4, 'production', true), -4);
});
