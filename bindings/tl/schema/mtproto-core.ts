// MTProto service combinators that mtcute's mtp-schema.json leaves out (its
// runtime handles them by hand), written here in TL from the official schema
// (core.telegram.org/schema/mtproto) and, for the legacy ones that page no
// longer lists, from the constructors clients still accept (p_q_inner_data,
// p_q_inner_data_temp, server_DH_params_fail, req_pq). The parser checks each
// id against the CRC32 of its line.
export const MTPROTO_SUPPLEMENT = `
p_q_inner_data#83c95aec pq:bytes p:bytes q:bytes nonce:int128 server_nonce:int128 new_nonce:int256 = P_Q_inner_data;
p_q_inner_data_temp#3c6a84d4 pq:bytes p:bytes q:bytes nonce:int128 server_nonce:int128 new_nonce:int256 expires_in:int = P_Q_inner_data;
server_DH_params_fail#79cb045d nonce:int128 server_nonce:int128 new_nonce_hash:int128 = Server_DH_Params;

rpc_result#f35c6d01 req_msg_id:long result:Object = RpcResult;

msg_container#73f1f8dc messages:vector<%Message> = MessageContainer;
message msg_id:long seqno:int bytes:int body:Object = Message;
msg_copy#e06046b2 orig_message:Message = MessageCopy;

gzip_packed#3072cfa1 packed_data:bytes = Object;

---functions---

req_pq#60469778 nonce:int128 = ResPQ;
`;
