"""A real SMTP server on loopback for tests: receives mail and keeps every message as a file.

Usage (run with Debian's Python, which has python3-aiosmtpd: scripts/install-deps --test):

    /usr/bin/python3 tests/tools/smtp_server.py --dir DIR [options]

It binds 127.0.0.1 on a free port, prints that port number alone on the first line of stdout,
and serves until SIGTERM or SIGINT. Every accepted message is written to DIR as
0001.eml, 0002.eml, ... (the bytes received, CRLF line ends) and described by one JSON line
appended to DIR/messages.jsonl:

    {"file": "0001.eml", "mail_from": "...", "rcpt_tos": ["..."], "user": "alice" or null,
     "tls": true or false, "peer_port": 51234}

(peer_port is the client's port: mails sent over one connection share it.)

Options:
    --dir DIR             where messages go (created if missing); required
    --tls-cert FILE       offer STARTTLS with this PEM certificate ...
    --tls-key FILE        ... and this PEM private key
    --require-starttls    refuse MAIL before STARTTLS (needs --tls-cert)
    --auth USER:PASSWORD  offer AUTH PLAIN and LOGIN and require a login before MAIL; the
                          login is offered only over TLS when --tls-cert is given
    --auth-login-only     offer only AUTH LOGIN (not PLAIN)
    --fail-first N        answer DATA of the first N messages with 421 (test retries)
    --reject ADDRESS      answer RCPT TO:<ADDRESS> with 550 (repeatable)

Plain mode (what an end-to-end test needs) is just: smtp_server.py --dir DIR
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError as error:  # the test reports this line
    print(f"smtp_server.py: cannot import aiosmtpd ({error}); run scripts/install-deps --test",
          file=sys.stderr, flush=True)
    sys.exit(3)


class LoopbackController(Controller):
    """aiosmtpd's Controller on port 0: learns the port the kernel chose before its self-test."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Recorder:
    def __init__(self, folder, fail_first, rejected):
        self.folder = folder
        self.fail_first = fail_first
        self.rejected = {a.lower() for a in rejected}
        self.data_commands = 0
        self.stored = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.rejected:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            if self.data_commands <= self.fail_first:
                return "421 4.3.2 Service busy, try again later"
            self.stored += 1
            name = f"{self.stored:04d}.eml"
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        tmp = os.path.join(self.folder, name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(content)
        os.replace(tmp, os.path.join(self.folder, name))
        user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode("utf-8", "replace")
        record = {
            "file": name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "user": user,
            "tls": session.ssl is not None,
            "peer_port": session.peer[1] if session.peer else None,
        }
        with self.lock, open(os.path.join(self.folder, "messages.jsonl"), "a") as log:
            log.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK: queued as " + name


def main():
    parser = argparse.ArgumentParser(description="SMTP server for tests (see the file's top)")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--auth-login-only", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject", action="append", default=[])
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    kwargs = {}
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = args.require_starttls
    elif args.require_starttls:
        parser.error("--require-starttls needs --tls-cert and --tls-key")
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = tls is not None
        if args.auth_login_only:
            kwargs["auth_exclude_mechanism"] = ["PLAIN"]

    controller = LoopbackController(Recorder(args.dir, args.fail_first, args.reject),
                                    hostname="127.0.0.1", port=0, **kwargs)
    controller.start()
    print(controller.port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    controller.stop()


if __name__ == "__main__":
    main()
