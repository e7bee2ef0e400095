// Bot login (core.telegram.org/api/bots): auth.importBotAuthorization with the token.
// USER_MIGRATE_X (the bot lives on DC X) is followed by the registry's call().

import type * as TL from '../tl';
import { loginFailure, userOf } from './answers';
import { LoginError } from './errors';
import type { LoggedInUser, LoginApiOptions, LoginCalls } from './types';

/** `<botId>:<secret>` as @BotFather issues them. */
const BOT_TOKEN = /^\d{1,19}:[A-Za-z0-9_-]{1,64}$/;

export async function loginBot(
  calls: LoginCalls,
  botToken: string,
  options: LoginApiOptions,
): Promise<LoggedInUser> {
  if (!BOT_TOKEN.test(botToken))
    throw new LoginError('BOT_TOKEN_INVALID', 'not a bot token (<botId>:<secret>)');
  let auth: TL.Types['auth.Authorization'];
  try {
    auth = await calls.call('auth.importBotAuthorization', {
      flags: 0,
      apiId: options.apiId,
      apiHash: options.apiHash,
      botAuthToken: botToken,
    });
  } catch (e) {
    throw loginFailure(e, 'auth.importBotAuthorization');
  }
  return userOf(auth);
}
