// What a session learns from answers (the seed's session state): the user id
// from auth.authorization (auth.signIn, auth.importBotAuthorization,
// auth.importAuthorization, ...) and phone_code_hash from auth.sentCode while a
// login runs (cleared once authorized).

export function observeResult(
  value: unknown,
  onAuth: (info: { userId?: bigint; bot?: boolean; phoneCodeHash?: string | null }) => void,
): void {
  if (!value || typeof value !== 'object') return;
  const v = value as { _?: string; user?: { id?: bigint; bot?: boolean }; phoneCodeHash?: string };
  if (v._ === 'auth.authorization' && v.user && typeof v.user.id === 'bigint') {
    onAuth({ userId: v.user.id, bot: v.user.bot === true, phoneCodeHash: null });
  } else if (v._ === 'auth.sentCode' && typeof v.phoneCodeHash === 'string') {
    onAuth({ phoneCodeHash: v.phoneCodeHash });
  }
}
