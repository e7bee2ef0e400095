// The symmetric crypto and hashes the exchange needs, all native
// (crates/mtcore crypto): SHA-1, and AES-256-IGE with tmp_aes_key/iv over
// server_DH_inner_data and client_DH_inner_data.
import { sha1 } from '../native';

export { aesIgeDecrypt, aesIgeEncrypt, sha1 } from '../native';

/** SHA-1 of several parts concatenated. */
export function sha1Of(...parts: Buffer[]): Buffer {
  return sha1(Buffer.concat(parts));
}
