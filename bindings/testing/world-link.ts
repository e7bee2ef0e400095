// What a TestWorld shares with its DCs (a lone TestDc is a world of one): its own
// file so that the DC, its core and the world all import it downward.

import type { AccountDirectory } from './accounts';
import type { AuthorizationRegistry } from './authorizations';
import type { FileStore } from './file-store';
import type { TestDcOption } from './types';

export interface WorldLink {
  dcOptions(): TestDcOption[];
  readonly authorizations: AuthorizationRegistry;
  readonly accounts: AccountDirectory;
  /** Uploads, stored files and their CDN copies, shared by the world's DCs. */
  readonly files: FileStore;
}
