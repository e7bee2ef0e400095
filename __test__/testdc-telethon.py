# Drives Telethon (a Python MTProto client using the legacy RSA scheme with
# p_q_inner_data) against a TestDc: key exchange, help.getConfig, updates.getState.
# Usage: python3 testdc-telethon.py PORT DC_ID PEM_FILE. Prints one JSON line.
import asyncio
import json
import sys

from telethon import TelegramClient, functions
from telethon.crypto import rsa
from telethon.sessions import StringSession


async def main():
    port, dc_id, pem_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with open(pem_file) as f:
        rsa.add_key(f.read(), old=False)
    session = StringSession()
    session.set_dc(dc_id, '127.0.0.1', port)
    client = TelegramClient(session, 12345, 'testdc', connection_retries=1, receive_updates=False)
    await client.connect()
    try:
        config = await client(functions.help.GetConfigRequest())
        state = await client(functions.updates.GetStateRequest())
        print(json.dumps({
            'thisDc': config.this_dc,
            'dcOptions': [[o.id, o.ip_address, o.port] for o in config.dc_options],
            'pts': state.pts,
            'authKey': session.auth_key.key.hex(),
        }))
    finally:
        await client.disconnect()


asyncio.run(main())
