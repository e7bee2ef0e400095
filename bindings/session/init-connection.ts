// invokeWithLayer(initConnection(query)): the first request of each connection
// carries the layer and the client's description (core.telegram.org/api/invoking
// #layers: "initConnection must also be called after each ... reconnection" is
// the safe reading; the server keeps it per session, so wrapping the first
// request after every (re)connect is always correct and costs ~100 bytes).

import * as TL from '../tl';
import type { SessionInitOptions } from './types';

export function wrapInit(query: TL.TlObject, init: SessionInitOptions | undefined): TL.TlObject {
  const i = init ?? { apiId: 0 };
  return {
    _: 'invokeWithLayer',
    layer: TL.LAYER,
    query: {
      _: 'initConnection',
      apiId: i.apiId,
      deviceModel: i.deviceModel ?? 'telegram-mt',
      systemVersion: i.systemVersion ?? process.platform,
      appVersion: i.appVersion ?? '0.1.0',
      systemLangCode: i.systemLangCode ?? 'en',
      langPack: i.langPack ?? '',
      langCode: i.langCode ?? 'en',
      query,
    },
  } as unknown as TL.TlObject;
}
