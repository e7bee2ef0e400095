//! The obfuscated2 vectors of vectors/obfuscated2.json (mtpylon,
//! mtcute, tweb and gramjs tests, each named in the file).

use super::super::obfuscated::{self, derive_keys, Keys, Obfuscator, INIT_LEN};
use super::*;

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/obfuscated2.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("missing {path}: the vectors are kept in the repository's vectors/");
    };
    serde_json::from_str(&text).unwrap()
}

fn vector(name: &str) -> serde_json::Value {
    let all = vectors();
    let found = all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .cloned();
    found.unwrap_or_else(|| panic!("vector {name} missing"))
}

fn field(v: &serde_json::Value, key: &str) -> Vec<u8> {
    unhex(v[key].as_str().unwrap_or_else(|| panic!("field {key}")))
}

fn arr<const N: usize>(v: &serde_json::Value, key: &str) -> [u8; N] {
    field(v, key).try_into().unwrap()
}

/// A random source that hands out `bytes` (repeated as needed).
fn fixed(bytes: Vec<u8>) -> impl FnMut(&mut [u8]) {
    move |dest: &mut [u8]| {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = bytes[i % bytes.len()];
        }
    }
}

#[test]
fn mtpylon_keys_from_init_and_reversed_init() {
    let v = vector("mtpylon-intermediate-full");
    let init: [u8; 64] = arr(&v, "init");
    let mut rev = init;
    rev.reverse();
    assert_eq!(rev.to_vec(), field(&v, "init_reversed"));
    let keys = derive_keys(&init, None);
    assert_eq!(keys.encrypt_key, arr(&v, "client_encrypt_key"));
    assert_eq!(keys.encrypt_iv, arr(&v, "client_encrypt_iv"));
    assert_eq!(keys.decrypt_key, arr(&v, "client_decrypt_key"));
    assert_eq!(keys.decrypt_iv, arr(&v, "client_decrypt_iv"));
    // The reversed init's encrypt side is the init's decrypt side.
    let swapped = derive_keys(&rev, None);
    assert_eq!(swapped.encrypt_key, keys.decrypt_key);
    assert_eq!(swapped.encrypt_iv, keys.decrypt_iv);
    let mut enc = init;
    obfuscated::aes256_ctr(&keys.encrypt_key, &keys.encrypt_iv, &mut enc);
    assert_eq!(enc.to_vec(), field(&v, "encrypted_init"));
}

#[test]
fn mtpylon_client_frames() {
    let v = vector("mtpylon-intermediate-full");
    let mut config = ClientConfig::obfuscated(Kind::Intermediate);
    config.dc_id = None;
    let mut codec = Codec::client(&config, &mut fixed(field(&v, "init"))).unwrap();
    let plain = field(&v, "client_to_server_plain");
    let frame = codec
        .encode(&plain[4..], false, &mut fixed(vec![0]))
        .unwrap();
    let mut expected = field(&v, "header_sent");
    expected.extend(field(&v, "client_to_server_encrypted"));
    assert_eq!(frame, expected);
    let frames = codec
        .decode(&field(&v, "server_to_client_encrypted"))
        .unwrap();
    let plain = field(&v, "server_to_client_plain");
    assert_eq!(
        frames,
        [OwnedFrame::Packet {
            data: plain[4..].to_vec(),
            quick_ack: false
        }]
    );
}

#[test]
fn mtpylon_server_frames() {
    let v = vector("mtpylon-intermediate-full");
    let mut server = Codec::server(&ServerConfig::default()).unwrap();
    let header = field(&v, "header_sent");
    let (head, tail) = header.split_at(40);
    assert_eq!(server.decode(head).unwrap(), []);
    assert_eq!(server.kind(), None);
    assert_eq!(server.decode(tail).unwrap(), []);
    assert_eq!(server.kind(), Some(Kind::Intermediate));
    assert!(server.is_obfuscated());
    let init = field(&v, "init");
    assert_eq!(
        server.dc_id(),
        Some(i16::from_le_bytes([init[60], init[61]]))
    );
    let frames = server
        .decode(&field(&v, "client_to_server_encrypted"))
        .unwrap();
    let plain = field(&v, "client_to_server_plain");
    assert_eq!(
        frames,
        [OwnedFrame::Packet {
            data: plain[4..].to_vec(),
            quick_ack: false
        }]
    );
    let plain = field(&v, "server_to_client_plain");
    let out = server
        .encode(&plain[4..], false, &mut fixed(vec![0]))
        .unwrap();
    assert_eq!(out, field(&v, "server_to_client_encrypted"));
}

#[test]
fn mtcute_headers_with_and_without_proxy() {
    let cases = [
        ("mtcute-tag-no-proxy", None, None),
        ("mtcute-tag-mtproxy-dc1", Some(1i16), Some(())),
        ("mtcute-tag-mtproxy-test-dc1", Some(10001), Some(())),
        ("mtcute-tag-mtproxy-media-dc1", Some(-1), Some(())),
    ];
    for (name, dc_id, proxy) in cases {
        let v = vector(name);
        if let Some(dc) = dc_id {
            assert_eq!(v["dc_id"].as_i64(), Some(dc as i64), "{name}");
            // The DC id header bytes: int16 LE at 60..62.
            assert_eq!(&field(&v, "init_after_tag")[60..62], &dc.to_le_bytes());
        }
        let secret = proxy.map(|()| ProxySecret::from_bytes(&field(&v, "proxy_secret")).unwrap());
        let config = ClientConfig {
            dc_id,
            secret: secret.clone(),
            ..ClientConfig::obfuscated(Kind::Intermediate)
        };
        let mut codec = Codec::client(&config, &mut fixed(field(&v, "random_64"))).unwrap();
        assert_eq!(codec.take_preamble(), field(&v, "header_sent"), "{name}");
        // A server with the same secret reads the tag and DC id back.
        let mut server = Codec::server(&ServerConfig {
            secret,
            ..ServerConfig::default()
        })
        .unwrap();
        server.push(&field(&v, "header_sent")).unwrap();
        assert_eq!(server.kind(), Some(Kind::Intermediate), "{name}");
        if let Some(dc) = dc_id {
            assert_eq!(server.dc_id(), Some(dc), "{name}");
        }
    }
}

#[test]
fn mtcute_mtproxy_key_derivation() {
    let v = vector("mtcute-mtproxy-key-derivation");
    let mut init = [0u8; INIT_LEN];
    init[8..40].copy_from_slice(&field(&v, "init_8_40"));
    init[40..56].copy_from_slice(&field(&v, "init_40_56"));
    let plain = derive_keys(&init, None);
    assert_eq!(plain.encrypt_key, arr(&v, "no_proxy_encrypt_key"));
    assert_eq!(plain.encrypt_iv, arr(&v, "no_proxy_encrypt_iv"));
    assert_eq!(plain.decrypt_key, arr(&v, "no_proxy_decrypt_key"));
    assert_eq!(plain.decrypt_iv, arr(&v, "no_proxy_decrypt_iv"));
    for hex_secret in [
        v["proxy_secret"].as_str().unwrap().to_string(),
        format!("dd{}", v["proxy_secret"].as_str().unwrap()),
    ] {
        let secret = ProxySecret::from_hex(&hex_secret).unwrap();
        let proxied = derive_keys(&init, Some(&secret));
        assert_eq!(proxied.encrypt_key, arr(&v, "proxy_encrypt_key"));
        assert_eq!(proxied.decrypt_key, arr(&v, "proxy_decrypt_key"));
        assert_eq!(proxied.encrypt_iv, plain.encrypt_iv);
        assert_eq!(proxied.decrypt_iv, plain.decrypt_iv);
    }
}

#[test]
fn tweb_init_encrypted_in_two_calls() {
    let v = vector("tweb-aes-ctr-init-encrypt");
    let init: [u8; 64] = arr(&v, "init");
    let keys = derive_keys(&init, None);
    assert_eq!(keys.encrypt_key, arr(&v, "encrypt_key"));
    assert_eq!(keys.encrypt_iv, arr(&v, "encrypt_iv"));
    let mut stream = Obfuscator::from_keys(&keys, Role::Client);
    let mut data = init;
    let (a, b) = data.split_at_mut(32);
    stream.encrypt(a);
    stream.encrypt(b);
    assert_eq!(data.to_vec(), field(&v, "encrypted_init"));
}

#[test]
fn gramjs_aes_256_ctr_stream() {
    let v = vector("gramjs-aes-256-ctr");
    let key: [u8; 32] = arr(&v, "key");
    let iv: [u8; 16] = arr(&v, "iv");
    assert_eq!(&key, v["key_ascii"].as_str().unwrap().as_bytes());
    let keys = Keys {
        encrypt_key: key,
        encrypt_iv: iv,
        decrypt_key: key,
        decrypt_iv: iv,
    };
    let mut stream = Obfuscator::from_keys(&keys, Role::Client);
    let mut one = v["plaintext1_ascii"].as_str().unwrap().as_bytes().to_vec();
    let mut two = v["plaintext2_ascii"].as_str().unwrap().as_bytes().to_vec();
    let mut one_shot = one.clone();
    stream.encrypt(&mut one);
    stream.encrypt(&mut two);
    assert_eq!(one, field(&v, "ciphertext1"));
    assert_eq!(two, field(&v, "ciphertext2"));
    obfuscated::aes256_ctr(&key, &iv, &mut one_shot);
    assert_eq!(one_shot, field(&v, "ciphertext1"));
}

#[test]
fn init_rules() {
    // Each forbidden start is redrawn; a source that only produces forbidden
    // headers is reported instead of looping forever.
    for bad in [
        vec![0xef, 1, 2, 3, 4, 5, 6, 7],
        b"HEAD\x01\x01\x01\x01".to_vec(),
        b"POST\x01\x01\x01\x01".to_vec(),
        b"GET \x01\x01\x01\x01".to_vec(),
        b"OPTI\x01\x01\x01\x01".to_vec(),
        vec![0xdd, 0xdd, 0xdd, 0xdd, 1, 1, 1, 1],
        vec![0xee, 0xee, 0xee, 0xee, 1, 1, 1, 1],
        vec![0x16, 0x03, 0x01, 0x02, 1, 1, 1, 1],
        vec![1, 2, 3, 4, 0, 0, 0, 0],
    ] {
        let config = ClientConfig::obfuscated(Kind::Abridged);
        let err = Codec::client(&config, &mut fixed(bad.clone())).unwrap_err();
        assert_eq!(err, TransportError::BadRandomness, "{bad:02x?}");
    }
    // One bad draw, then a good one.
    let mut draws = 0;
    let mut rng = |dest: &mut [u8]| {
        draws += 1;
        dest.fill(if draws == 1 { 0xef } else { 0x42 });
    };
    let mut codec = Codec::client(&ClientConfig::obfuscated(Kind::Abridged), &mut rng).unwrap();
    assert_eq!(codec.take_preamble()[..56], [0x42; 56]);
}

#[test]
fn tags_and_combinations() {
    let mut rng = TestRng::new(1);
    for (kind, tag) in [
        (Kind::Abridged, 0xefu8),
        (Kind::Intermediate, 0xee),
        (Kind::PaddedIntermediate, 0xdd),
    ] {
        assert_eq!(obfuscated::protocol_tag(kind), Ok([tag; 4]));
        let mut codec = Codec::client(&ClientConfig::obfuscated(kind), &mut rng).unwrap();
        let header: [u8; 64] = codec.take_preamble().try_into().unwrap();
        let keys = derive_keys(&header, None);
        let mut plain = header;
        obfuscated::aes256_ctr(&keys.encrypt_key, &keys.encrypt_iv, &mut plain);
        assert_eq!(plain[56..60], [tag; 4]);
    }
    let err = Codec::client(&ClientConfig::obfuscated(Kind::Full), &mut rng).unwrap_err();
    assert_eq!(err, TransportError::ObfuscatedFullUnsupported);
    let dd = ProxySecret::from_hex("dd00112233445566778899aabbccddeeff").unwrap();
    let config = ClientConfig {
        secret: Some(dd.clone()),
        ..ClientConfig::new(Kind::Intermediate)
    };
    let err = Codec::client(&config, &mut rng).unwrap_err();
    assert_eq!(err, TransportError::SecretRequiresPadded);
    // A server with a dd secret turns away an intermediate client of the same key.
    let plain_secret = ProxySecret::from_bytes(dd.key()).unwrap();
    let config = ClientConfig {
        secret: Some(plain_secret),
        ..ClientConfig::new(Kind::Intermediate)
    };
    let mut client = Codec::client(&config, &mut rng).unwrap();
    let mut server = Codec::server(&ServerConfig {
        secret: Some(dd),
        ..ServerConfig::default()
    })
    .unwrap();
    assert_eq!(
        server.push(client.take_preamble()),
        Err(TransportError::SecretRequiresPadded)
    );
}

#[test]
fn wrong_secret_is_a_bad_tag() {
    let mut rng = TestRng::new(2);
    let config = ClientConfig {
        secret: Some(ProxySecret::from_bytes(&[1; 16]).unwrap()),
        ..ClientConfig::new(Kind::Abridged)
    };
    let mut client = Codec::client(&config, &mut rng).unwrap();
    let mut server = Codec::server(&ServerConfig {
        secret: Some(ProxySecret::from_bytes(&[2; 16]).unwrap()),
        ..ServerConfig::default()
    })
    .unwrap();
    let err = server.push(client.take_preamble()).unwrap_err();
    assert!(
        matches!(err, TransportError::BadProtocolTag { .. }),
        "{err}"
    );
    // The codec stays failed.
    assert_eq!(server.push(&[0]), Err(err));
    assert_eq!(server.next_frame(), Err(err));
}
