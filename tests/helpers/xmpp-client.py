"""A scriptable XMPP client (python3-slixmpp) for Herald's gateway tests.

Usage: xmpp-client.py JID PASSWORD HOST PORT
Commands on stdin, one JSON object a line:
  {"cmd": "presence", "show": "away", "status": "text", "lang": "en", "priority": 5}
  {"cmd": "unavailable", "status": "text"}
  {"cmd": "send", "type": "subscribe|subscribed|unsubscribe|unsubscribed|probe", "to": "alice@example.test"}
  {"cmd": "quit"}
Events on stdout, one JSON object a line: {"event": "online"}, {"event": "presence", "from", "type",
"show", "statuses": [{"text", "lang"}], "t": <ms since the epoch>}, {"event": "disconnected"}.
Nothing is answered automatically (subscription requests are the test's to approve). When the
server drops the connection (a restart) the client connects again and sends its last presence, as
real clients do.
"""
import asyncio
import json
import os
import sys
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def emit(obj):
    obj.setdefault("t", time.time() * 1000)
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.auto_authorize = None
        self.auto_subscribe = False
        self.last_presence = None
        self.quitting = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("disconnected", lambda _e: emit({"event": "disconnected"}))
        self.register_handler(Callback("all presence", MatchXPath("{jabber:client}presence"), self.on_presence))

    async def on_start(self, _event):
        await self.get_roster()
        if self.last_presence is not None:
            self.command(self.last_presence, report=False)
        emit({"event": "online", "jid": str(self.boundjid)})

    def on_presence(self, stanza):
        xml = stanza.xml
        statuses = []
        for st in xml.findall("{jabber:client}status"):
            statuses.append({"text": st.text or "", "lang": st.get(XML_LANG) or xml.get(XML_LANG)})
        show = xml.find("{jabber:client}show")
        emit({
            "event": "presence",
            "from": xml.get("from"),
            "to": xml.get("to"),
            "type": xml.get("type") or "available",
            "show": show.text if show is not None else None,
            "statuses": statuses,
        })

    def command(self, c, report=True):
        cmd = c.get("cmd")
        if cmd in ("presence", "unavailable"):
            self.last_presence = c
        if cmd == "presence":
            p = self.make_presence(pshow=c.get("show"), pstatus=None, ppriority=c.get("priority"))
            if c.get("status") is not None:
                st = ET.SubElement(p.xml, "{jabber:client}status")
                st.text = c["status"]
                if c.get("lang"):
                    st.set(XML_LANG, c["lang"])
            p.send()
        elif cmd == "unavailable":
            self.send_presence(ptype="unavailable", pstatus=c.get("status"))
        elif cmd == "send":
            self.send_presence(pto=c["to"], ptype=c["type"])
        elif cmd == "quit":
            self.quitting = True
            self.disconnect()
        if report:
            emit({"event": "done", "cmd": cmd, "id": c.get("id")})


def main():
    jid, password, host, port = sys.argv[1:5]
    xmpp = Client(jid, password)
    xmpp.enable_plaintext = True
    xmpp.enable_starttls = False
    xmpp.enable_direct_tls = False
    loop = asyncio.get_event_loop()

    pending = b""

    def on_stdin():
        # read what is there (not sys.stdin.readline: its buffer would hide a second line from the loop)
        nonlocal pending
        chunk = os.read(sys.stdin.fileno(), 65536)
        if not chunk:
            loop.remove_reader(sys.stdin.fileno())
            xmpp.quitting = True
            xmpp.disconnect()
            loop.call_later(0.5, loop.stop)
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            try:
                xmpp.command(json.loads(line))
            except Exception as e:  # report, keep running
                emit({"event": "error", "error": repr(e)})

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    def on_disconnected(_e):
        if xmpp.quitting:
            loop.call_later(0.2, loop.stop)
        else:
            loop.call_later(0.3, lambda: xmpp.connect((host, int(port))))

    xmpp.add_event_handler("disconnected", on_disconnected)
    xmpp.add_event_handler("connection_failed", lambda _e: None if xmpp.quitting else loop.call_later(0.3, lambda: xmpp.connect((host, int(port)))))
    xmpp.connect((host, int(port)))
    loop.run_forever()


if __name__ == "__main__":
    main()
