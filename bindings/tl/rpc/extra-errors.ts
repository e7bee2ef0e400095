// RPC errors that Telegram sends but @mtcute/tl's raw-errors.json does not
// list (core.telegram.org/api/errors). Same shape as the generated catalog:
// name with %d for the parameter -> [error_code, description].
export const EXTRA_RPC_ERRORS: Record<string, readonly [number, string]> = {
  'FLOOD_PREMIUM_WAIT_%d': [
    420,
    'Upload speed limit for non-Premium users: wait %d seconds, or get Premium.',
  ],
};
