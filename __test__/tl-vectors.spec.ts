// Byte-exact checks against the official auth-key examples
// (core.telegram.org/mtproto/samples-auth_key, two snapshots, plus the 2013
// MTProto 1.0 sample), from vectors/mtproto-auth-sample.json: each
// message body decodes to the fields the page prints, and encoding those
// fields gives the same bytes.
import test from 'ava';
import { TL, TlTrailingBytesError } from '../bindings';
import { loadVectors } from '../vectors/load';

// biome-ignore lint/suspicious/noExplicitAny: the vector file's shape is checked by use
const file: any = loadVectors('mtproto-auth-sample.json');

const hex = (s: string) => Buffer.from(s, 'hex');

/** The body of an unencrypted message: after auth_key_id (8), msg_id (8) and length (4). */
function body(message: { hex?: string; body_hex?: string }): Buffer {
  return message.body_hex ? hex(message.body_hex) : hex(message.hex!).subarray(20);
}

/** Decodes `bytes`, checks the fields, and checks that encoding the decoded object gives `bytes` again. */
function exact(
  t: import('ava').ExecutionContext,
  bytes: Buffer,
  expected: Record<string, unknown>,
): TL.TlObject {
  const obj = TL.deserialize(bytes);
  t.like(obj, expected);
  t.deepEqual(TL.serialize(obj), bytes, `${obj._} re-encodes byte for byte`);
  return obj;
}

for (const s of file.samples) {
  test(`official sample ${s.id}: every handshake message`, (t) => {
    const nonce = hex(s.step1_req_pq_multi.nonce);
    const serverNonce = hex(s.step2_resPQ.server_nonce);
    const newNonce = hex(s.step4_p_q_inner_data_dc.new_nonce);

    // 1. req_pq_multi
    const req = body(s.step1_req_pq_multi.message);
    t.deepEqual(TL.serialize({ _: 'req_pq_multi', nonce }), req);
    exact(t, req, { _: 'req_pq_multi', nonce });

    // 2. resPQ
    exact(t, body(s.step2_resPQ.message), {
      _: 'resPQ',
      nonce,
      serverNonce,
      pq: hex(s.step2_resPQ.pq_bytes_be),
      serverPublicKeyFingerprints: s.step2_resPQ.server_public_key_fingerprints_int64.map(BigInt),
    });

    // 4. p_q_inner_data_dc, built from its fields
    const inner = {
      _: 'p_q_inner_data_dc',
      pq: hex(s.step2_resPQ.pq_bytes_be),
      p: hex(s.step3_pq_factorization.p_bytes_be),
      q: hex(s.step3_pq_factorization.q_bytes_be),
      nonce,
      serverNonce,
      newNonce,
      dc: Number(s.step4_p_q_inner_data_dc.dc),
    } as const;
    t.deepEqual(TL.serialize(inner), hex(s.step4_p_q_inner_data_dc.data));
    t.deepEqual(TL.deserialize(hex(s.step4_p_q_inner_data_dc.data)), inner);

    // 5. req_DH_params: the fingerprint given as the unsigned u64 encodes the same
    const fp = BigInt.asUintN(64, hex(s.step2_resPQ.chosen_fingerprint_wire_le).readBigInt64LE(0));
    const reqDh = body(s.step5_req_DH_params.message);
    exact(t, reqDh, {
      _: 'req_DH_params',
      nonce,
      serverNonce,
      p: inner.p,
      q: inner.q,
      publicKeyFingerprint: BigInt.asIntN(64, fp),
      encryptedData: hex(s.step4_p_q_inner_data_dc.rsa_pad_output_encrypted_data),
    });
    const dh = TL.deserialize(reqDh) as TL.Objects['req_DH_params'];
    t.deepEqual(TL.serialize({ ...dh, publicKeyFingerprint: fp }), reqDh);

    // 6. server_DH_params_ok and the decrypted server_DH_inner_data
    exact(t, body(s.step6_server_DH_params_ok.message), {
      _: 'server_DH_params_ok',
      nonce,
      serverNonce,
      encryptedAnswer: hex(s.step6_server_DH_params_ok.encrypted_answer),
    });
    const innerData = {
      _: 'server_DH_inner_data',
      nonce,
      serverNonce,
      g: Number(s.server_DH_inner_data.g),
      dhPrime: hex(s.server_DH_inner_data.dh_prime),
      gA: hex(s.server_DH_inner_data.g_a),
      serverTime: Number(s.server_DH_inner_data.server_time),
    };
    exact(t, hex(s.server_DH_inner_data.hex), innerData);
    // The decrypted answer carries 0-15 bytes of padding after the object.
    const padded = hex(s.step6_server_DH_params_ok.answer_as_printed_on_page);
    if (padded.length > hex(s.server_DH_inner_data.hex).length) {
      t.throws(() => TL.deserialize(padded), { instanceOf: TlTrailingBytesError });
      t.deepEqual(TL.deserialize(padded, { allowTrailing: true }), innerData);
    }

    // 7. client_DH_inner_data and set_client_DH_params
    const client = s.step7_client.client_DH_inner_data;
    const clientObj = {
      _: 'client_DH_inner_data',
      nonce,
      serverNonce,
      retryId: BigInt(client.retry_id),
      gB: hex(s.step7_client.g_b),
    } as const;
    t.deepEqual(TL.serialize(clientObj), hex(client.hex));
    exact(t, body(s.step7_set_client_DH_params.message), {
      _: 'set_client_DH_params',
      nonce,
      serverNonce,
      encryptedData: hex(s.step7_client.encrypted_data),
    });

    // 9. dh_gen_ok
    exact(t, body(s.step9_dh_gen_ok.message), {
      _: 'dh_gen_ok',
      nonce,
      serverNonce,
      newNonceHash1: hex(s.step9_dh_gen_ok.new_nonce_hash1),
    });
  });
}

test('legacy MTProto 1.0 sample: req_pq, resPQ, req_DH_params, server_DH_inner_data', (t) => {
  const l = file.legacy_mtproto1_sample;
  const nonce = hex(l.nonce);
  const serverNonce = hex(l.server_nonce);
  exact(t, hex(l.req_pq_message).subarray(20), { _: 'req_pq', nonce });
  exact(t, hex(l.resPQ_message).subarray(20), {
    _: 'resPQ',
    nonce,
    serverNonce,
    pq: hex(l.pq_bytes_be),
    serverPublicKeyFingerprints: [BigInt.asIntN(64, BigInt(l.fingerprint_u64_hex))],
  });
  exact(t, hex(l.req_DH_params_message).subarray(20), {
    _: 'req_DH_params',
    nonce,
    serverNonce,
    publicKeyFingerprint: BigInt.asIntN(64, BigInt(l.fingerprint_u64_hex)),
  });
  exact(t, hex(l.server_DH_inner_data), {
    _: 'server_DH_inner_data',
    g: Number(l.g),
    dhPrime: hex(l.dh_prime),
    gA: hex(l.g_a),
    serverTime: Number(l.server_time),
  });
});
