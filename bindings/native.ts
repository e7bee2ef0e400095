// The native module built by @napi-rs/cli: index.js at the package root picks
// the binary for this platform (a local build, or the prebuilt per-platform
// package). Everything native goes through this file.
export * from '../index.js';
