# Drives Telethon (an independent Python MTProto client with its own update state
# machine) as a bot against a TestDc, to see TestDc's update log the way Telegram's is
# seen: pushes, updates.getState, getDifference, getChannelDifference.
# Usage: python3 updates-telethon.py PORT DC_ID PEM_FILE BOT_TOKEN
# Prints "ready" once logged in; then reads commands on stdin: "catchup" (client.catch_up(),
# prints "caught"), "report" (one JSON line: message ids, or qts, seen per box, in order),
# "quit".
import asyncio
import json
import sys

from telethon import TelegramClient, events, types
from telethon.crypto import rsa
from telethon.sessions import StringSession


def box_and_id(update):
    if isinstance(update, (types.UpdateNewMessage, types.UpdateNewChannelMessage)):
        m = update.message
        peer = getattr(m, 'peer_id', None)
        box = str(peer.channel_id) if isinstance(peer, types.PeerChannel) else 'common'
        return box, m.id
    if isinstance(update, (types.UpdateShortMessage, types.UpdateShortChatMessage)):
        return 'common', update.id
    if isinstance(update, types.UpdateBotStopped):
        return 'qts', update.qts
    return None


async def main():
    port, dc_id, pem_file, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(pem_file) as f:
        rsa.add_key(f.read(), old=False)
    session = StringSession()
    session.set_dc(dc_id, '127.0.0.1', port)
    client = TelegramClient(session, 12345, '0123456789abcdef0123456789abcdef',
                            connection_retries=20, retry_delay=0, auto_reconnect=True)
    seen = {}

    @client.on(events.Raw)
    async def on_update(update):
        got = box_and_id(update)
        if got:
            seen.setdefault(got[0], []).append(got[1])

    await client.connect()
    await client.sign_in(bot_token=token)
    print('ready', flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line == 'catchup':
                await client.catch_up()
                print('caught', flush=True)
            elif line == 'report':
                print(json.dumps(seen), flush=True)
            else:
                break
    finally:
        await client.disconnect()


asyncio.run(main())
