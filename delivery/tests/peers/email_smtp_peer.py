"""A real SMTP server (aiosmtpd) for the e-mail integration tests.

Started by delivery/tests/email/peers.rs; prints `PORT <n>` once it listens on 127.0.0.1,
or `SKIP <reason>` (exit 0) when a prerequisite is missing (aiosmtpd, openssl).

  --auth xoauth2   only SASL XOAUTH2; the bearer token is checked at --introspect (the
                   OAuth2 peer): it must be active and, when it names a subject, issued for
                   the authenticating user. --xoauth2-errors challenge answers a bad token
                   the Gmail way (334 + base64 JSON, then 535 after the client's reply).
  --auth password  only PLAIN / LOGIN with --user / --password.
  --auth none      no AUTH at all.
  --tls starttls|implicit  with a self-signed certificate generated at start with the
                   openssl CLI (a leaf: CN=localhost, SAN localhost + 127.0.0.1, CA:FALSE).
  --records FILE   every accepted mail is appended as one JSON line: mail_from, rcpt_tos,
                   auth_user, tls, and the parsed to, subject, body and headers.
  --reject-rcpt A  answer RCPT TO:<A> with 550 5.1.1.
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from email import policy
from email.parser import BytesParser

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:  # reported to the test harness, which decides skip vs failure
    print("SKIP python module aiosmtpd is not installed", flush=True)
    sys.exit(0)


def make_certificate():
    openssl = shutil.which("openssl")
    if openssl is None:
        print("SKIP the openssl command is not installed", flush=True)
        sys.exit(0)
    directory = tempfile.mkdtemp(prefix="sae-smtp-peer-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-days", "1", "-keyout", key, "-out", cert,
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def introspect(url, token):
    data = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(url, data=data, timeout=5) as answer:
        return json.load(answer)


class Handler:
    def __init__(self, args):
        self.args = args

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject_rcpt and address.lower() == self.args.reject_rcpt.lower():
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": getattr(session, "sae_user", None),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "body": body.get_content() if body is not None else "",
            "headers": {name.lower(): str(value) for name, value in message.items()},
        }
        with open(self.args.records, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 OK queued as sae-%d" % len(envelope.original_content)


class XOAuth2Handler(Handler):
    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False)
        try:
            decoded = base64.b64decode(blob).decode()
            fields = dict(part.split("=", 1) for part in decoded.split("\x01") if part)
            user = fields["user"]
            token = fields["auth"].removeprefix("Bearer ")
        except Exception:
            await server.push("501 5.5.2 malformed XOAUTH2 initial response")
            return AuthResult(success=False, handled=True)
        answer = await asyncio.to_thread(introspect, self.args.introspect, token)
        subject = answer.get("sub")
        if answer.get("active") and (subject is None or subject == user):
            server.session.sae_user = user
            return AuthResult(success=True, auth_data=user)
        if self.args.xoauth2_errors == "challenge":
            error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
            await server.challenge_auth(error)  # the client answers with an empty line (or hangs up)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted (%s)" % answer.get("reason", "wrong user"))


def password_authenticator(args):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == args.user and auth_data.password.decode() == args.password)
        if ok:
            session.sae_user = args.user
        return AuthResult(success=ok, handled=False)
    return authenticate


async def serve(args):
    tls_context = make_certificate() if args.tls != "none" else None
    kwargs = {"hostname": "localhost", "auth_require_tls": False}
    if args.auth == "xoauth2":
        handler = XOAuth2Handler(args)
        kwargs.update(auth_required=True, auth_exclude_mechanism=["LOGIN", "PLAIN"])
    elif args.auth == "password":
        handler = Handler(args)
        kwargs.update(auth_required=True, authenticator=password_authenticator(args))
    else:
        handler = Handler(args)
        kwargs.update(auth_exclude_mechanism=["LOGIN", "PLAIN"])
    if args.tls == "starttls":
        kwargs.update(tls_context=tls_context, require_starttls=True)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, loop=loop, **kwargs),
        host="127.0.0.1", port=0,
        ssl=tls_context if args.tls == "implicit" else None)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--auth", choices=["xoauth2", "password", "none"], required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--introspect")
    parser.add_argument("--xoauth2-errors", choices=["plain", "challenge"], default="plain")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--records", required=True)
    parser.add_argument("--reject-rcpt")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
