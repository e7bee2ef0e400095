//! RSA for the auth-key exchange (core.telegram.org/mtproto/auth_key):
//! RSA_PAD (MTProto 2.0), the legacy scheme of older clients, and the key
//! fingerprints that `resPQ` lists. The server side (decryption with the
//! private exponent) serves the embedded test DC.
//!
//! Randomness comes in as a closure that fills a buffer, so tests can replay
//! fixed bytes. Exponentiation is crypto-bigint's constant-time
//! `BoxedMontyForm::pow`, which matters for the private exponent.

use crate::bignum::encoding::{self, number, number_within, odd_modulus, to_be_padded};
use crate::bignum::BignumError;
use crate::crypto::ige;
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::BoxedUint;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Telegram's RSA keys are 2048-bit; RSA_PAD's block is 256 bytes.
pub const MODULUS_BYTES: usize = 256;
/// RSA_PAD: data is padded to 192 bytes and may be at most 144 of them.
pub const PAD_DATA_MAX: usize = 144;
/// RSA_PAD's `data_with_padding` length.
pub const PAD_BLOCK: usize = 192;
/// Legacy scheme: SHA1 (20) + data + padding fill 255 bytes.
pub const LEGACY_DATA_MAX: usize = 255 - 20;
/// RSA_PAD retries while key_aes_encrypted >= n; each try fails with
/// probability below 1/2 for a 2048-bit n, so this many means a broken source.
const PAD_MAX_ATTEMPTS: usize = 64;

/// Errors of the RSA layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaError {
    /// The modulus must be exactly 2048 bits.
    ModulusSize { bits: usize },
    /// The modulus is even (not an RSA modulus).
    EvenModulus,
    /// An exponent, modulus or ciphertext exceeds the supported size.
    Number(BignumError),
    /// The plaintext is longer than the scheme allows.
    DataTooLong { len: usize, max: usize },
    /// The ciphertext, read as a number, is not below the modulus.
    CiphertextRange,
    /// RSA_PAD: SHA256(temp_key ‖ data_with_padding) does not match.
    PadHash,
    /// Legacy: the block's top byte is not zero.
    LegacyFormat,
    /// Legacy: no prefix of the payload has the block's SHA1.
    LegacyHash,
    /// RSA_PAD found no temp_key with key_aes_encrypted < n.
    RetryLimit { attempts: usize },
}

impl std::fmt::Display for RsaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RsaError::ModulusSize { bits } => {
                write!(f, "RSA modulus has {bits} bits, expected 2048")
            }
            RsaError::EvenModulus => write!(f, "RSA modulus is even"),
            RsaError::Number(e) => write!(f, "RSA number: {e}"),
            RsaError::DataTooLong { len, max } => {
                write!(f, "data of {len} bytes exceeds the {max}-byte limit")
            }
            RsaError::CiphertextRange => write!(f, "ciphertext is not below the modulus"),
            RsaError::PadHash => write!(f, "RSA_PAD hash mismatch"),
            RsaError::LegacyFormat => write!(f, "legacy RSA block does not start with a zero byte"),
            RsaError::LegacyHash => write!(f, "legacy RSA block hash mismatch"),
            RsaError::RetryLimit { attempts } => {
                write!(
                    f,
                    "no temp_key gave key_aes_encrypted < n in {attempts} attempts"
                )
            }
        }
    }
}

impl std::error::Error for RsaError {}

impl From<BignumError> for RsaError {
    fn from(e: BignumError) -> Self {
        RsaError::Number(e)
    }
}

/// A 2048-bit RSA modulus prepared for exponentiation.
struct Key {
    params: BoxedMontyParams,
}

/// Bits of an RSA modulus and of every block.
const BITS: u32 = (MODULUS_BYTES * 8) as u32;

impl Key {
    fn new(modulus: &[u8]) -> Result<Self, RsaError> {
        let n = number(modulus)?;
        let bits = n.bit_width_vartime() as usize;
        if bits != MODULUS_BYTES * 8 {
            return Err(RsaError::ModulusSize { bits });
        }
        let params = odd_modulus(&n).map_err(|_| RsaError::EvenModulus)?;
        Ok(Key { params })
    }

    /// `block^exp mod n` as 256 big-endian bytes; `block` must be below n.
    fn apply(&self, block: &BoxedUint, exp: &[u8]) -> [u8; MODULUS_BYTES] {
        let power = BoxedMontyForm::new(block.clone(), &self.params)
            .pow(&encoding::exponent(exp))
            .retrieve();
        to_be_padded(&power, MODULUS_BYTES)
            .expect("below a 2048-bit modulus")
            .try_into()
            .expect("256 bytes")
    }

    /// A 256-byte block as a number, if it is below n.
    fn below_n(&self, block: &[u8]) -> Option<BoxedUint> {
        let x = number_within(block, BITS)?;
        x.cmp_vartime(self.params.modulus().as_ref())
            .is_lt()
            .then_some(x)
    }

    /// Parses a ciphertext and checks that it is below n.
    fn ciphertext(&self, encrypted: &[u8]) -> Result<BoxedUint, RsaError> {
        self.below_n(encrypted).ok_or(RsaError::CiphertextRange)
    }
}

/// The key's fingerprint: the low 64 bits of SHA1 of the bare TL
/// `rsa_public_key n:bytes e:bytes` (core.telegram.org/mtproto/auth_key),
/// i.e. its last 8 bytes read little-endian, as the TL `long` on the wire.
pub fn fingerprint(modulus: &[u8], exponent: &[u8]) -> i64 {
    let mut h = Sha1::new();
    h.update(tl_bytes(strip_zeros(modulus)));
    h.update(tl_bytes(strip_zeros(exponent)));
    let digest = h.finalize();
    i64::from_le_bytes(digest[12..20].try_into().expect("8 bytes"))
}

/// RSA_PAD (core.telegram.org/mtproto/auth_key, step 4.1): encrypts up to
/// 144 bytes of `data` for a 2048-bit key. `random` fills buffers with
/// random bytes: first the padding to 192 bytes, then one 32-byte temp_key
/// per attempt.
pub fn pad_encrypt(
    data: &[u8],
    modulus: &[u8],
    exponent: &[u8],
    mut random: impl FnMut(&mut [u8]),
) -> Result<[u8; MODULUS_BYTES], RsaError> {
    if data.len() > PAD_DATA_MAX {
        return Err(RsaError::DataTooLong {
            len: data.len(),
            max: PAD_DATA_MAX,
        });
    }
    let key = Key::new(modulus)?;
    // data_with_padding := data + random_padding_bytes (192 bytes).
    let mut data_with_padding = [0u8; PAD_BLOCK];
    data_with_padding[..data.len()].copy_from_slice(data);
    random(&mut data_with_padding[data.len()..]);
    let mut reversed = data_with_padding;
    reversed.reverse();

    for _ in 0..PAD_MAX_ATTEMPTS {
        let mut temp_key = [0u8; 32];
        random(&mut temp_key);
        // data_with_hash := data_pad_reversed + SHA256(temp_key + data_with_padding)
        let mut block = [0u8; MODULUS_BYTES];
        let aes_encrypted = &mut block[32..];
        aes_encrypted[..PAD_BLOCK].copy_from_slice(&reversed);
        let hash = Sha256::new()
            .chain_update(temp_key)
            .chain_update(data_with_padding)
            .finalize();
        aes_encrypted[PAD_BLOCK..].copy_from_slice(&hash);
        // aes_encrypted := AES256_IGE(data_with_hash, temp_key, 32 zero bytes)
        ige::encrypt_in_place(aes_encrypted, &temp_key, &[0u8; 32]).expect("224 bytes");
        // temp_key_xor := temp_key XOR SHA256(aes_encrypted)
        let aes_hash = Sha256::digest(&block[32..]);
        for (i, b) in block[..32].iter_mut().enumerate() {
            *b = temp_key[i] ^ aes_hash[i];
        }
        // key_aes_encrypted := temp_key_xor + aes_encrypted; retry unless < n.
        if let Some(m) = key.below_n(&block) {
            return Ok(key.apply(&m, exponent));
        }
    }
    Err(RsaError::RetryLimit {
        attempts: PAD_MAX_ATTEMPTS,
    })
}

/// Server side of RSA_PAD: decrypts with the private exponent, checks the
/// hash, and returns the 192-byte data_with_padding (data and its random
/// padding: the scheme does not encode the length; the caller parses TL).
pub fn pad_decrypt(
    encrypted: &[u8],
    modulus: &[u8],
    private_exponent: &[u8],
) -> Result<[u8; PAD_BLOCK], RsaError> {
    let key = Key::new(modulus)?;
    let c = key.ciphertext(encrypted)?;
    let mut block = key.apply(&c, private_exponent);
    let aes_hash = Sha256::digest(&block[32..]);
    let mut temp_key = [0u8; 32];
    for (i, t) in temp_key.iter_mut().enumerate() {
        *t = block[i] ^ aes_hash[i];
    }
    let data_with_hash = &mut block[32..];
    ige::decrypt_in_place(data_with_hash, &temp_key, &[0u8; 32]).expect("224 bytes");
    let mut data_with_padding: [u8; PAD_BLOCK] =
        data_with_hash[..PAD_BLOCK].try_into().expect("192 bytes");
    data_with_padding.reverse();
    let hash = Sha256::new()
        .chain_update(temp_key)
        .chain_update(data_with_padding)
        .finalize();
    if !bool::from(hash.as_slice().ct_eq(&data_with_hash[PAD_BLOCK..])) {
        return Err(RsaError::PadHash);
    }
    Ok(data_with_padding)
}

/// The legacy scheme (MTProto 1.0 clients such as Telethon and GramJS):
/// SHA1(data) + data + random padding to 255 bytes, raised to e. `random`
/// fills the padding.
pub fn legacy_encrypt(
    data: &[u8],
    modulus: &[u8],
    exponent: &[u8],
    mut random: impl FnMut(&mut [u8]),
) -> Result<[u8; MODULUS_BYTES], RsaError> {
    if data.len() > LEGACY_DATA_MAX {
        return Err(RsaError::DataTooLong {
            len: data.len(),
            max: LEGACY_DATA_MAX,
        });
    }
    let key = Key::new(modulus)?;
    let mut block = [0u8; 255];
    block[..20].copy_from_slice(&Sha1::digest(data));
    block[20..20 + data.len()].copy_from_slice(data);
    random(&mut block[20 + data.len()..]);
    // 255 bytes are below 2^2040 <= n: no retry needed.
    let m = key.below_n(&block).expect("255 bytes are below n");
    Ok(key.apply(&m, exponent))
}

/// Server side of the legacy scheme. The block does not encode the data's
/// length, so the length is found as the one prefix of the 235-byte payload
/// whose SHA1 matches (at most 236 hashes, negligible next to the private
/// exponentiation); that prefix, the original data, is returned.
pub fn legacy_decrypt(
    encrypted: &[u8],
    modulus: &[u8],
    private_exponent: &[u8],
) -> Result<Vec<u8>, RsaError> {
    let key = Key::new(modulus)?;
    let c = key.ciphertext(encrypted)?;
    let block = key.apply(&c, private_exponent);
    if block[0] != 0 {
        return Err(RsaError::LegacyFormat);
    }
    let (hash, payload) = block[1..].split_at(20);
    let mut h = Sha1::new();
    for len in 0..=payload.len() {
        if bool::from(h.clone().finalize().as_slice().ct_eq(hash)) {
            return Ok(payload[..len].to_vec());
        }
        if len < payload.len() {
            h.update([payload[len]]);
        }
    }
    Err(RsaError::LegacyHash)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    &b[b.iter().position(|&x| x != 0).unwrap_or(b.len())..]
}

/// TL `bytes` serialization: a 1-byte length (or 254 and a 3-byte
/// little-endian length), the bytes, zero padding to a multiple of 4.
fn tl_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 8);
    if b.len() < 254 {
        out.push(b.len() as u8);
    } else {
        out.push(254);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes()[..3]);
    }
    out.extend_from_slice(b);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// Serves fixed bytes to `random` in order.
    fn replay(bytes: Vec<u8>) -> impl FnMut(&mut [u8]) {
        let mut pos = 0;
        move |buf: &mut [u8]| {
            buf.copy_from_slice(&bytes[pos..pos + buf.len()]);
            pos += buf.len();
        }
    }

    // Every key of vectors/rsa-keys.json (tdlib
    // PublicRsaKeySharedMain.cpp and Telethon rsa.py): modulus, e, fingerprint.
    const KEYS: [(&str, u32, i64); 10] = [
    ("e8bb3305c0b52c6cf2afdf7637313489e63e05268e5badb601af417786472e5f93b85438968e20e6729a301c0afc121bf7151f834436f7fda680847a66bf64accec78ee21c0b316f0edafe2f41908da7bd1f4a5107638eeb67040ace472a14f90d9f7c2b7def99688ba3073adb5750bb02964902a359fe745d8170e36876d4fd8a5d41b2a76cbff9a13267eb9580b2d06d10357448d20d9da2191cb5d8c93982961cdfdeda629e37f1fb09a0722027696032fe61ed663db7a37f6f263d370f69db53a0dc0a1748bdaaff6209d5645485e6e001d1953255757e4b8e42813347b11da6ab500fd0ace7e6dfa3736199ccaf9397ed0745a427dcfa6cd67bcb1acff3", 65537, -3414540481677951611),
    ("c8c11d635691fac091dd9489aedced2932aa8a0bcefef05fa800892d9b52ed03200865c9e97211cb2ee6c7ae96d3fb0e15aeffd66019b44a08a240cfdd2868a85e1f54d6fa5deaa041f6941ddf302690d61dc476385c2fa655142353cb4e4b59f6e5b6584db76fe8b1370263246c010c93d011014113ebdf987d093f9d37c2be48352d69a1683f8f6e6c2167983c761e3ab169fde5daaa12123fa1beab621e4da5935e9c198f82f35eae583a99386d8110ea6bd1abb0f568759f62694419ea5f69847c43462abef858b4cb5edc84e7b9226cd7bd7e183aa974a712c079dde85b9dc063b8a5c08e8f859c0ee5dcd824c7807f20153361a7f63cfd2a433a1be7f5", 65537, -5595554452916591101),
    ("aeec36c8ffc109cb099624685b97815415657bd76d8c9c3e398103d7ad16c9bba6f525ed0412d7ae2c2de2b44e77d72cbf4b7438709a4e646a05c43427c7f184debf72947519680e651500890c6832796dd11f772c25ff8f576755afe055b0a3752c696eb7d8da0d8be1faf38c9bdd97ce0a77d3916230c4032167100edd0f9e7a3a9b602d04367b689536af0d64b613ccba7962939d3b57682beb6dae5b608130b2e52aca78ba023cf6ce806b1dc49c72cf928a7199d22e3d7ac84e47bc9427d0236945d10dbd15177bab413fbf0edfda09f014c7a7da088dde9759702ca760af2b8e4e97cc055c617bd74c3d97008635b98dc4d621b4891da9fb0473047927", 65537, 847625836280919973),
    ("bdf2c77d81f6afd47bd30f29ac76e55adfe70e487e5e48297e5a9055c9c07d2b93b4ed3994d3eca5098bf18d978d54f8b7c713eb10247607e69af9ef44f38e28f8b439f257a11572945cc0406fe3f37bb92b79112db69eedf2dc71584a661638ea5becb9e23585074b80d57d9f5710dd30d2da940e0ada2f1b878397dc1a72b5ce2531b6f7dd158e09c828d03450ca0ff8a174deacebcaa22dde84ef66ad370f259d18af806638012da0ca4a70baa83d9c158f3552bc9158e69bf332a45809e1c36905a5caa12348dd57941a482131be7b2355a5f4635374f3bd3ddf5ff925bf4809ee27c1e67d9120c5fe08a9de458b1b4a3c5d0a428437f2beca81f4e2d5ff", 65537, 1562291298945373506),
    ("b3f762b739be98f343eb1921cf0148cfa27ff7af02b6471213fed9daa0098976e667750324f1abcea4c31e43b7d11f1579133f2b3d9fe27474e462058884e5e1b123be9cbbc6a443b2925c08520e7325e6f1a6d50e117eb61ea49d2534c8bb4d2ae4153fabe832b9edf4c5755fdd8b19940b81d1d96cf433d19e6a22968a85dc80f0312f596bd2530c1cfb28b5fe019ac9bc25cd9c2a5d8a0f3a1c0c79bcca524d315b5e21b5c26b46babe3d75d06d1cd33329ec782a0f22891ed1db42a1d6c0dea431428bc4d7aabdcf3e0eb6fda4e23eb7733e7727e9a1915580796c55188d2596d2665ad1182ba7abf15aaa5a8b779ea996317a20ae044b820bff35b6e8a1", 65537, -5859577972006586033),
    ("be6a71558ee577ff03023cfa17aab4e6c86383cff8a7ad38edb9fafe6f323f2d5106cbc8cafb83b869cffd1ccf121cd743d509e589e68765c96601e813dc5b9dfc4be415c7a6526132d0035ca33d6d6075d4f535122a1cdfe017041f1088d1419f65c8e5490ee613e16dbf662698c0f54870f0475fa893fc41eb55b08ff1ac211bc045ded31be27d12c96d8d3cfc6a7ae8aa50bf2ee0f30ed507cc2581e3dec56de94f5dc0a7abee0be990b893f2887bd2c6310a1e0a9e3e38bd34fded2541508dc102a9c9b4c95effd9dd2dfe96c29be647d6c69d66ca500843cfaed6e440196f1dbe0e2e22163c61ca48c79116fa77216726749a976a1c4b0944b5121e8c01", 65537, 6491968696586960280),
    ("c150023e2f70db7985ded064759cfecf0af328e69a41daf4d6f01b538135a6f91f8f8b2a0ec9ba9720ce352efcf6c5680ffc424bd634864902de0b4bd6d49f4e580230e3ae97d95c8b19442b3c0a10d8f5633fecedd6926a7f6dab0ddb7d457f9ea81b8465fcd6fffeed114011df91c059caedaf97625f6c96ecc74725556934ef781d866b34f011fce4d835a090196e9a5f0e4449af7eb697ddb9076494ca5f81104a305b6dd27665722c46b60e5df680fb16b210607ef217652e60236c255f6a28315f4083a96791d7214bf64c1df4fd0db1944fb26a2a57031b32eee64ad15a8ba68885cde74a5bfc920f6abf59ba5c75506373e7130f9042da922179251f", 65537, -4344800451088585951),
    ("c6aeda78b02a251db4b6441031f467fa871faed32526c436524b1fb3b5dca28efb8c089dd1b46d92c895993d87108254951c5f001a0f055f3063dcd14d431a300eb9e29517e359a1c9537e5e87ab1b116faecf5d17546ebc21db234d9d336a693efcb2b6fbcca1e7d1a0be414dca408a11609b9c4269a920b09fed1f9a1597be02761430f09e4bc48fcafbe289054c99dba51b6b5eb7d9c3a2ab4e490545b4676bd620e93804bcac93bf94f73f92c729ca899477ff17625ef14a934d51dc11d5f8650a3364586b3a52fcff2fedec8a8406cac4e751705a472e55707e3c8cd5594342b119c6c3293532d85dbe9271ed54a2fd18b4dc79c04a30951107d5639397", 65537, -7306692244673891685),
    ("b1066749655935f0a5936f517034c943bea7f3365a8931ae52c8bcb14856f004b83d26cf2839be0f22607470d67481771c1ce5ec31de16b20bbaa4ecd2f7d2ecf6b6356f27501c226984263edc046b89fb6d3981546b01d7bd34fedcfcc1058e2d494bda732ff813e50e1c6ae249890b225f82b22b1e55fcb063dc3c0e18e91c28d0c4aa627dec8353eee6038a95a4fd1ca984eb09f94aeb7a2220635a8ceb450ea7e61d915cdb4eecedaa083aa3801daf071855ec1fb38516cb6c2996d2d60c0ecbcfa57e4cf1fb0ed39b2f37e94ab4202ecf595e167b3ca62669a6da520859fb6d6c6203dfdfc79c75ec3ee97da8774b2da903e3435f2cd294670a75a526c1", 65537, -5738946642031285640),
    ("c2a8c55b4a62e2b78a19b91cf692bcdc4ba7c23fe4d06f194e2a0c30f6d9996f7d1a2bcc89bc1ac4333d44359a6c433252d1a8402d9970378b5912b75bc8cc3fa76710a025bcb9032df0b87d7607cc53b928712a174ea2a80a8176623588119d42ffce40205c6d72160860d8d80b22a8b8651907cf388effbef29cd7cf2b4eb8a872052da1351cfe7fec214ce48304ea472bd66329d60115b3420d08f6894b0410b6ab9450249967617670c932f7cbdb5d6fbcce1e492c595f483109999b2661fcdeec31b196429b7834c7211a93c6789d9ee601c18c39e521fda9d7264e61e518add6f0712d2d5228204b851e13c4f322e5c5431c3b7f31089668486aadc59f", 65537, 8205599988028290019),
    ];

    #[test]
    fn fingerprints_of_every_vector_key() {
        for (n, e, want) in KEYS {
            assert_eq!(fingerprint(&unhex(n), &e.to_be_bytes()), want);
        }
    }

    #[test]
    fn tl_bytes_long_form() {
        let b = tl_bytes(&[7u8; 256]);
        assert_eq!(&b[..4], &[254, 0, 1, 0]);
        assert_eq!(b.len(), 260);
        assert_eq!(tl_bytes(&[1, 0, 1]), vec![3, 1, 0, 1]);
    }

    // RSA_PAD vector from grammers-crypto src/rsa.rs (test_rsa_encryption), as
    // vectors/mtproto-auth-sample.json rsa_pad_vectors[0] records
    // it; attempts[1]'s temp_key is fed directly (the first one gives
    // key_aes_encrypted >= n, and grammers derives the second from it).
    const PAD_N: &str = "c8c11d635691fac091dd9489aedced2932aa8a0bcefef05fa800892d9b52ed03200865c9e97211cb2ee6c7ae96d3fb0e15aeffd66019b44a08a240cfdd2868a85e1f54d6fa5deaa041f6941ddf302690d61dc476385c2fa655142353cb4e4b59f6e5b6584db76fe8b1370263246c010c93d011014113ebdf987d093f9d37c2be48352d69a1683f8f6e6c2167983c761e3ab169fde5daaa12123fa1beab621e4da5935e9c198f82f35eae583a99386d8110ea6bd1abb0f568759f62694419ea5f69847c43462abef858b4cb5edc84e7b9226cd7bd7e183aa974a712c079dde85b9dc063b8a5c08e8f859c0ee5dcd824c7807f20153361a7f63cfd2a433a1be7f5";
    const PAD_DATA: &str = "955ff5a9081a8e635f5743de9b00000004453dc27100000004622f1fcb000000f7a81627bbf511fa4afef71e94a0937474586c1add9198dda81a5df8393871c8293623c5fb968894af1be7dfe9c7be813f9307789242fd0cb0c16a5cb39a8d3e";
    const PAD_RANDOM: &str = "12270000635593b03fee033d0672f9afddf9124de9e77df6251806cba93482e4c9e6e06e7d44e4c4baae821aff91af44789689faaee9bdfc7b2df8c08709afe57396c4638ceaa0dc30114f82447e81d3b53edc423b32660c43a5b8ad057b6450";
    const PAD_TEMP_KEY_0: &str = "7dada0920c4973913229e0f881aec7b9db0c392d34f52fb0995ea493ecb4c09d";
    const PAD_TEMP_KEY_1: &str = "7dada0920c4973913229e0f881aec7b9db0c392d34f52fb0995ea493ecb4c09e";
    const PAD_ENCRYPTED: &str = "b610642a828b4a61fe32931815cae318d311660580f1e0df768f3140f4d37dfcfcac0c2870318de4ff2d2e0e9669bcfdc0bad06cadb1b59d9726b427368a9c7b4fc0d5e7b2e99fc571968705c03acf5341fd7021bef653fa77b3776ae430e366fc46d232459ebe128b08d80e049ae579a48b56ca93b520709468587c81af96666046e9ea85091d729e921e8d8a36f57b27644052dae7387c7f4131701d59cda75251dac66c94276280ef950d3c44c21e5a2454f7da7a6818cf23ae9c490b72b2170d7cbc24f8a93db739d76f2d241c78b80123faaff3e664f074d6375d794dbf2800a0b5bb48d54eceafedfb355bfbebd287d9023264e3b53627888250787a9e";

    #[test]
    fn rsa_pad_grammers_vector() {
        let mut random = unhex(PAD_RANDOM);
        random.extend(unhex(PAD_TEMP_KEY_1));
        let got = pad_encrypt(&unhex(PAD_DATA), &unhex(PAD_N), &[1, 0, 1], replay(random)).unwrap();
        assert_eq!(hex::encode(got), PAD_ENCRYPTED);
    }

    #[test]
    fn rsa_pad_retries_when_the_block_is_not_below_n() {
        // With attempts[0]'s key first, key_aes_encrypted >= n: the second
        // temp_key from the source must be taken.
        let mut random = unhex(PAD_RANDOM);
        random.extend(unhex(PAD_TEMP_KEY_0));
        random.extend(unhex(PAD_TEMP_KEY_1));
        let got = pad_encrypt(&unhex(PAD_DATA), &unhex(PAD_N), &[1, 0, 1], replay(random)).unwrap();
        assert_eq!(hex::encode(got), PAD_ENCRYPTED);
        // A source that repeats the bad key forever hits the limit.
        let bad = unhex(PAD_TEMP_KEY_0);
        let mut first = true;
        let result = pad_encrypt(
            &unhex(PAD_DATA),
            &unhex(PAD_N),
            &[1, 0, 1],
            |buf: &mut [u8]| {
                if first {
                    buf.copy_from_slice(&unhex(PAD_RANDOM));
                    first = false;
                } else {
                    buf.copy_from_slice(&bad);
                }
            },
        );
        assert_eq!(
            result,
            Err(RsaError::RetryLimit {
                attempts: PAD_MAX_ATTEMPTS
            })
        );
    }

    #[test]
    fn textbook_rsa_vector() {
        // raw_rsa_test_vector of rsa-keys.json (tweb): the production key.
        let (n, e, _) = KEYS[0];
        let pt = "802cb0112bb95cde652dd3b8af9a7c390fd6a4a5717f9385058cb9ae63b62638d5a9c7ad34f080e1f6beeadd6cafe419cc9a39eb8f5f620f086441753a5b6ec84ccfea2c158a6386d4bcb148b1cb3c91d13f23e6b9491a67c7473635b7b6daa3d11af8e7aa46e0cc89b109e4b0d4e78968cd0144ac3b35f6215fc19e34cbe639b107be61b74f9af2bbaa411e52660a01bcbf459caed0ad8d3abe2ef34ec881d2b8648253bf6bc08f2ce8a396433e0f5b8d73acb7ce8583ef9585270fbbc8ef4bd1661bb9dfba9c227078df256982b8e838ad00a59c53cf86a720393cb1db7f66f74c3cf81000e8d705eb4fedb5e5d8612d34fc6d2c5e3771f87d3cd8984f0407";
        let ct = "a6fc33eb920393b62b4747b4ec54eb7a2824fe4b34c2a206a62ce35394d7484b5020646aac3bdce7e9277aa7ffd184aa6d1f97e34627c4f0194dffb2119c9912139dd07431ec96f9f595e2b06514c9c6b14ba63e97774043fd0cc73ed2a23b8faabd429e33a838ade7d6645536b701b1a24bf557cdc7f56d3c904e722626472422f028779af42316056eae993e72b602b45c89e0da93c5d3a8f593ab507bb2704c1868ec75bf3cdb19cd80133b2e431ef075c22cf73237578be0179881b665ca18be43fd3facd21597011ea4344d4b805650b1ca45434178d9a4fb1d56b92baf167c0aafb5df82e82f864336e2fd19e6c56dcdf0f241e91162786a118e8f09e9";
        let key = Key::new(&unhex(n)).unwrap();
        let m = key.below_n(&unhex(pt)).unwrap();
        assert_eq!(hex::encode(key.apply(&m, &e.to_be_bytes())), ct);
    }

    // A 2048-bit test key made with `openssl genrsa 2048` for these tests only
    // (n, d; e = 65537).
    const TEST_N: &str = "cc82767ba1d305de4816e74a33a0409b159dbe4635b830fb44296354c06796a552b5ea95e827e1e57d8eb88eaa70876b036292667dd3c6706d15fa6f7ad7bcc7090be78dd537ccc3a3efc7b5a688c83131bc70a392117d4523b25e1ccb71cce59781c5de73d84e22e4ea6d43a6b8ef28589178d3a29fe3b01e3acb5165c782b583f466c619ce91150b3e2b066062b44f0bc99b819c50874f641110af3631712f71d56aa46c5d2f15ac61a52b9d37f0d2184e91c9dcde10cba326598e383ee7414f00224eca7b95d861a505b119503061ea9047ef43b691d6c8298bc7171719ebed8aaf57788e37fb58f27c5401193374b184b8983ea14ec73c8f137c7225399d";
    const TEST_D: &str = "02cad8c842f61869d950d1d56b9ab7fc3332f8f02611c33e5c243cfbcfc9301f7559ad4e5547baac51412230d84fc91361f69bd789ea0f458e647a45d82cb53f6890d3b48a7fdec07dbd6e61cea3f7cb9dcc592f1aefa1b28aba4200643d8fb4665f649600a656def73cb3ec2e92c02d665fa47bba025632b3080efb68104acc18929e8490ccb66de7a8f17e7c730988213d9875d0cccc2afe4c4ed9382d1f0ea0069f6eb240cfe80c691f5d150f47cef52416b5823a4e6cc3768cefe646cf475c26f4539d433a2c996b570acfa9d6b51aa106b13ba03fa77ea46744d796163a05e2511bce7b7eb9b31f6ca84d7b68a13e50a0e721decabdba27284e8c549ed1";

    #[test]
    fn pad_round_trip_and_tampering() {
        let (n, d) = (unhex(TEST_N), unhex(TEST_D));
        let data: Vec<u8> = (0..144u8).collect();
        let mut seed = 5u8;
        let rng = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                seed = seed.wrapping_mul(37).wrapping_add(11);
                *b = seed;
            }
        };
        let enc = pad_encrypt(&data, &n, &[1, 0, 1], rng).unwrap();
        let dec = pad_decrypt(&enc, &n, &d).unwrap();
        assert_eq!(&dec[..144], &data[..]);
        let mut bad = enc;
        bad[200] ^= 1;
        assert_eq!(pad_decrypt(&bad, &n, &d), Err(RsaError::PadHash));
        // n itself is not below n.
        assert_eq!(pad_decrypt(&n, &n, &d), Err(RsaError::CiphertextRange));
        assert_eq!(
            pad_encrypt(&[0u8; 145], &n, &[1, 0, 1], |_: &mut [u8]| {}),
            Err(RsaError::DataTooLong { len: 145, max: 144 })
        );
    }

    #[test]
    fn legacy_round_trip_finds_the_length() {
        let (n, d) = (unhex(TEST_N), unhex(TEST_D));
        for len in [0usize, 1, 96, 234, 235] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let enc = legacy_encrypt(&data, &n, &[1, 0, 1], |b: &mut [u8]| b.fill(0xa5)).unwrap();
            assert_eq!(legacy_decrypt(&enc, &n, &d).unwrap(), data, "len {len}");
        }
        let enc = legacy_encrypt(b"hello", &n, &[1, 0, 1], |b: &mut [u8]| b.fill(0)).unwrap();
        let mut bad = enc;
        bad[100] ^= 0x40;
        assert!(matches!(
            legacy_decrypt(&bad, &n, &d),
            Err(RsaError::LegacyHash | RsaError::LegacyFormat)
        ));
        assert!(matches!(
            legacy_encrypt(&[0u8; 236], &n, &[1, 0, 1], |_: &mut [u8]| {}),
            Err(RsaError::DataTooLong { len: 236, max: 235 })
        ));
    }

    #[test]
    fn rejects_bad_moduli() {
        assert_eq!(
            pad_encrypt(&[], &[0xff; 128], &[3], |_: &mut [u8]| {}).err(),
            Some(RsaError::ModulusSize { bits: 1024 })
        );
        assert_eq!(
            legacy_encrypt(&[], &[0xfe; 256], &[3], |_: &mut [u8]| {}).err(),
            Some(RsaError::EvenModulus)
        );
    }
}
