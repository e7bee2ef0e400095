// The native module built by @napi-rs/cli: index.js at the package root picks
// the binary for this platform (a local build, or the prebuilt per-platform
// package). Everything native goes through this file.
import { MtpLink } from '../index.js';
import { linkFactories } from './link-results';

// MtpLink's results are made by ordinary functions of ours (see link-results.ts).
MtpLink.useFactories(linkFactories);

export * from '../index.js';
