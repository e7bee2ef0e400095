// TestDc's file methods checked with an independent client: GramJS (npm `telegram`)
// uploads with its own part sizes (saveFilePart and saveBigFilePart), and TestDc's rules
// accept them and assemble the same bytes; GramJS downloads what TestDc stores, and what
// telegram-mt uploaded. Over TCP full (GramJS's abridged and intermediate codecs read a
// large packet with one socket read that may come back short).

import { randomBytes } from 'node:crypto';
import test from 'ava';
import bigInt from 'big-integer';
import { Api, type TelegramClient } from 'telegram';
import { CustomFile } from 'telegram/client/uploads';
import { ConnectionTCPFull } from 'telegram/network';
import { SessionRegistry } from '../bindings';
import { TestDc } from '../bindings/testing';
import { locationOf, MIB, sameBytes, uploadMedia } from './files-support';
import { gramjsClient, toTestPorts, trust } from './gramjs-support';

const USER = 4242n;
let dc: TestDc;
let gramjs: TelegramClient;

test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  trust(dc.rsaPublicKey);
  gramjs = gramjsClient(
    2,
    toTestPorts(() => dc.port, ConnectionTCPFull),
  );
  await gramjs.connect();
  // Its key logged in as USER (the file methods need a login).
  for (const k of dc.authKeys()) dc.setUserId(k.authKeyId, USER);
});
test.after.always(async () => {
  await gramjs?.destroy();
  await dc?.stop();
});

/** GramJS's document object for a stored file (big-integer longs). */
function gramjsMessage(doc: { id: bigint; accessHash: bigint; fileReference: Buffer; size: number }) {
  const document = new Api.Document({
    id: bigInt(doc.id.toString()),
    accessHash: bigInt(doc.accessHash.toString()),
    fileReference: doc.fileReference,
    date: 0,
    mimeType: 'application/octet-stream',
    size: bigInt(doc.size),
    dcId: 2,
    attributes: [],
  });
  return new Api.Message({
    id: 1,
    peerId: new Api.PeerUser({ userId: bigInt(1) }),
    date: 0,
    message: '',
    media: new Api.MessageMediaDocument({ document }),
  });
}

test.serial("GramJS's uploads pass TestDc's part rules and assemble to the same bytes", async (t) => {
  for (const size of [3 * MIB + 5, 12 * MIB + 1]) {
    const data = randomBytes(size);
    const file = (await gramjs.uploadFile({
      file: new CustomFile('g.bin', size, '', data),
      workers: 3,
      maxBufferSize: size + 1,
    })) as Api.InputFile | Api.InputFileBig;
    const big = file instanceof Api.InputFileBig;
    t.is(big, size > 10 * MIB);
    const content = dc.files.assemble(
      USER,
      big
        ? { _: 'inputFileBig', id: BigInt(file.id.toString()), parts: file.parts, name: file.name }
        : {
            _: 'inputFile',
            id: BigInt(file.id.toString()),
            parts: file.parts,
            name: file.name,
            md5Checksum: '',
          },
    );
    sameBytes(t, content.read(0, size + 1), data, `GramJS ${size} B`);
  }
});

test.serial('GramJS downloads what TestDc stores and what telegram-mt uploaded', async (t) => {
  const data = randomBytes(3 * MIB + 77);
  const stored = dc.files.put(data);
  const got = (await gramjs.downloadMedia(gramjsMessage({ ...stored, size: data.length }), {})) as Buffer;
  sameBytes(t, got, data, 'stored');
  // telegram-mt uploads (its own part plan, md5 checked by TestDc); GramJS downloads it.
  const key = randomBytes(256);
  const { salt } = dc.addAuthKey(key, { userId: USER });
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, {
    address: { host: dc.host, port: dc.port },
    import: { authKey: key, serverSalt: salt, userId: USER },
  });
  try {
    const ours = randomBytes(5 * MIB + 3);
    const doc = await reg.upload(id, ours, { use: uploadMedia(reg, id) });
    const back = (await gramjs.downloadMedia(
      gramjsMessage({ ...locationOf(doc), size: ours.length }),
      {},
    )) as Buffer;
    sameBytes(t, back, ours, 'uploaded by telegram-mt');
  } finally {
    await reg.close(id);
  }
});
