# Drives Telethon with TelethonFakeTLS (PyPI: an independent Python client of the
# MTProxy fake-TLS wrapper) against a TestDc in `ee` mode: the fake-TLS handshake,
# then a key exchange and help.getConfig over obfuscated2 in TLS records.
# Usage: python3 proxy-telethon-faketls.py PORT DC_ID PEM_FILE SECRET_HEX_WITHOUT_EE.
# Prints one JSON line.
import asyncio
import json
import sys

from telethon import TelegramClient, functions
from telethon.crypto import rsa
from telethon.network.connection import tcpintermediate
from telethon.sessions import StringSession
from TelethonFakeTLS import ConnectionTcpMTProxyFakeTLS


# Telethon's padded-intermediate reader strips padding only down to a multiple of
# 4 bytes, but the transport allows 0..15 bytes (core.telegram.org/mtproto/
# mtproto-transports#padded-intermediate), which trips its AES-IGE. Read encrypted
# messages as their 24-byte header and whole 16-byte blocks, as TDLib does.
_read = tcpintermediate.RandomizedIntermediatePacketCodec.read_packet


async def _read_whole_blocks(self, reader):
    packet = await _read(self, reader)
    if len(packet) > 24 and packet[:8] != bytes(8):
        return packet[:24 + (len(packet) - 24) // 16 * 16]
    return packet


tcpintermediate.RandomizedIntermediatePacketCodec.read_packet = _read_whole_blocks


async def main():
    port, dc_id, pem_file, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(pem_file) as f:
        rsa.add_key(f.read(), old=False)
    session = StringSession()
    # The DC address (port 9: nothing listens) is never dialled: the MTProxy is.
    session.set_dc(dc_id, '127.0.0.1', 9)
    client = TelegramClient(
        session, 12345, 'testdc',
        connection=ConnectionTcpMTProxyFakeTLS,
        proxy=('127.0.0.1', port, secret),
        connection_retries=1, receive_updates=False,
    )
    await client.connect()
    try:
        config = await client(functions.help.GetConfigRequest())
        print(json.dumps({'thisDc': config.this_dc, 'authKey': session.auth_key.key.hex()}))
    finally:
        await client.disconnect()


asyncio.run(main())
