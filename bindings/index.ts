// telegram-mt: the public entry point.
export * from './native';
