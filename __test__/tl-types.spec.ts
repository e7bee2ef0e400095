// The generated types type a session layer's call() end to end: this suite
// compiles a small client of the TL API with the project's tsc and checks that
// what should compile does, and that each `@ts-expect-error` line is an error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import test from 'ava';

const ROOT = resolve(__dirname, '..');

const CLIENT = `
import { TL } from '${ROOT}/bindings';

declare function call<M extends TL.MethodName>(method: M, params: TL.Params<M>): Promise<TL.Result<M>>;

export async function client(): Promise<void> {
  const sent = await call('messages.sendMessage', {
    peer: { _: 'inputPeerUser', userId: 1n, accessHash: 2n },
    message: 'hi',
    randomId: 3n,
    silent: true,
  });
  // Updates is a union discriminated on _.
  if (sent._ === 'updateShortSentMessage') {
    const id: number = sent.id;
    void id;
  }
  const ids: bigint[] = await call('photos.deletePhotos', { id: [] });
  const ok: boolean = await call('account.updateStatus', { offline: false });
  void ids;
  void ok;

  // @ts-expect-error userId is a bigint
  await call('messages.sendMessage', { peer: { _: 'inputPeerUser', userId: 1, accessHash: 2n }, message: '', randomId: 0n });
  // @ts-expect-error randomId is required
  await call('messages.sendMessage', { peer: { _: 'inputPeerSelf' }, message: '' });
  // @ts-expect-error no such method
  await call('messages.sendMessages', {});

  const request = {
    _: 'invokeWithLayer',
    layer: TL.LAYER,
    query: { _: 'initConnection', apiId: 1, deviceModel: '', systemVersion: '', appVersion: '', systemLangCode: '', langPack: '', langCode: '', query: { _: 'help.getConfig' } },
  } as const satisfies TL.Objects['invokeWithLayer'];
  const bytes: Buffer = TL.serialize(request);
  // The result of a wrapped request is the result of its innermost query.
  const config = TL.deserializeResult(request, bytes);
  const dc: number = config.thisDc;
  const direct: TL.Types['Config'] = TL.deserializeResult({ _: 'help.getConfig' }, bytes);
  const sameType: TL.ResultOf<typeof request> = direct;
  // A wrapper typed only as AnyMethod has an unknown result.
  const wide: TL.Objects['invokeWithLayer'] = request;
  const unknownResult: unknown = TL.deserializeResult(wide, bytes);
  // @ts-expect-error unknown is not a Config
  const notConfig: TL.Types['Config'] = TL.deserializeResult(wide, bytes);
  void dc;
  void sameType;
  void unknownResult;
  void notConfig;

  // deserialize gives any boxed value (an object, a Bool, a Vector): the declared type picks one.
  const obj: TL.TlObject = TL.deserialize(bytes);
  const flag: boolean = TL.deserialize(TL.serialize(true));
  const list: TL.TlValue[] = TL.deserialize(TL.serialize([true, { _: 'inputPeerSelf' }]));
  const anything = TL.deserialize(bytes);
  // @ts-expect-error undeclared, it may be a boolean or an array
  void anything._;
  void flag;
  void list;
  // @ts-expect-error a bigint is no boxed value
  TL.serialize(1n);
  if (obj._ === 'resPQ') {
    const fp: bigint[] = obj.serverPublicKeyFingerprints;
    const nonce: Buffer = obj.nonce;
    void fp;
    void nonce;
  }
  // @ts-expect-error an object needs a known _
  TL.serialize({ _: 'noSuchThing' });
}
`;

test('the TL types type a call() end to end', (t) => {
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.tl-types-'));
  try {
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: ROOT },
        include: [],
        files: ['client.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      output = execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (e) {
      output = `${(e as { stdout?: string }).stdout ?? ''}${(e as Error).message}`;
    }
    t.is(output.trim(), '', output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
