"""A real HTTP SMS broker for the delivery tests (http.server, threaded).

Prints `PORT <n>` on stdout once listening on 127.0.0.1 (port 0 unless given).

Requests go to /<auth>/<behaviour>, with <auth> one of
  none            no check
  basic           Basic, user "sae" / password "s3cret: pass"
  digest          Digest (RFC 7616) MD5, qop=auth, same credentials; checked here with hashlib
  digest-sha256   Digest with SHA-256
  oauth           OAuth 1.0a HMAC-SHA1, checked by oauthlib's SignatureOnlyEndpoint
                  (consumer "sae-consumer" / "consumer-secret", token "sae-token" / "token-secret",
                  or no token at all: two-legged)
and <behaviour> one of
  ok              200 {"status": "queued", "data": {"id": "id-<n>"}, "received": <the request>}
  rejected        200 {"status": "rejected"}
  status-<code>   answers <code> with a small JSON body
  hang            sleeps 30 s before answering
  text            200 text/plain "OK"
GET /_calls answers the JSON list of requests received so far (with `auth_ok`, and `parsed`:
the body as an independent parser reads it for its Content-Type — XML (xml.etree): the
elements in document order as [tag, text, attributes]; form: the [name, value] pairs; JSON:
the value; {"error": …} when it does not parse).
"""

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

USER = "sae"
PASSWORD = "s3cret: pass"
REALM = "sae-test@127.0.0.1"
CONSUMER_KEY = "sae-consumer"
CONSUMER_SECRET = "consumer-secret"
TOKEN = "sae-token"
TOKEN_SECRET = "token-secret"

CALLS = []
NONCES = set()
OAUTH_NONCES = set()
LOCK = threading.Lock()


class Validator(RequestValidator):
    enforce_ssl = False

    @property
    def allowed_signature_methods(self):
        return ("HMAC-SHA1",)

    @property
    def dummy_client(self):
        return "dummy-client"

    @property
    def dummy_access_token(self):
        return "dummy-token"

    def check_client_key(self, client_key):
        return True

    def check_access_token(self, token):
        return True

    def check_nonce(self, nonce):
        return len(nonce) >= 16

    def validate_client_key(self, client_key, request):
        return client_key == CONSUMER_KEY

    def validate_access_token(self, client_key, token, request):
        return token == TOKEN

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        with LOCK:
            if nonce in OAUTH_NONCES:
                return False
            OAUTH_NONCES.add(nonce)
            return True

    def get_client_secret(self, client_key, request):
        return CONSUMER_SECRET

    def get_access_token_secret(self, client_key, token, request):
        return TOKEN_SECRET


OAUTH = SignatureOnlyEndpoint(Validator())


def parse_auth_params(value):
    """Parses `k=v, k="v"` pairs of an Authorization header (quoted strings may hold commas)."""
    params = {}
    i = 0
    while i < len(value):
        while i < len(value) and value[i] in " ,":
            i += 1
        eq = value.find("=", i)
        if eq < 0:
            break
        key = value[i:eq].strip()
        i = eq + 1
        if i < len(value) and value[i] == '"':
            i += 1
            out = []
            while i < len(value) and value[i] != '"':
                if value[i] == "\\":
                    i += 1
                out.append(value[i])
                i += 1
            i += 1
            params[key] = "".join(out)
        else:
            end = value.find(",", i)
            end = len(value) if end < 0 else end
            params[key] = value[i:end].strip()
            i = end
    return params


def parse_body(content_type, body):
    """The body as a parser of its Content-Type reads it (None when there is no body)."""
    if not body:
        return None
    essence = (content_type or "").split(";")[0].strip().lower()
    try:
        if essence.endswith("/xml") or essence.endswith("+xml"):
            root = ElementTree.fromstring(body)
            return {"elements": [[el.tag, el.text, el.attrib] for el in root.iter()]}
        if essence == "application/x-www-form-urlencoded":
            return {"pairs": parse_qsl(body, keep_blank_values=True, strict_parsing=True)}
        if essence.endswith("/json") or essence.endswith("+json"):
            return {"json": json.loads(body)}
    except (ElementTree.ParseError, ValueError) as error:
        return {"error": str(error)}
    return {"error": "no parser for %r" % content_type}


def digest_hash(algorithm, text):
    name = {"MD5": "md5", "SHA-256": "sha256"}[algorithm]
    return hashlib.new(name, text.encode()).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/_calls":
            with LOCK:
                self.answer(200, CALLS)
            return
        self.handle_sms()

    def do_POST(self):
        self.handle_sms()

    def answer(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(body, str) else "application/json"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_sms(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        auth = segments[0] if segments else ""
        behaviour = segments[1] if len(segments) > 1 else "ok"
        auth_ok, challenge, auth_detail = self.check_auth(auth, body)
        call = {
            "method": self.command,
            "path": parts.path,
            "raw_query": parts.query,
            "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "parsed": parse_body(self.headers.get("Content-Type"), body),
            "auth": auth,
            "auth_ok": auth_ok,
            "auth_detail": auth_detail,
        }
        with LOCK:
            CALLS.append(call)
            n = len(CALLS)
        if not auth_ok:
            headers = [("WWW-Authenticate", challenge)] if challenge else []
            self.answer(401, {"error": "unauthorized", "detail": auth_detail}, headers)
            return
        if behaviour == "ok":
            received = {"query": call["query"], "body": body}
            self.answer(200, {"status": "queued", "data": {"id": "id-%d" % n}, "received": received})
        elif behaviour == "rejected":
            self.answer(200, {"status": "rejected"})
        elif behaviour.startswith("status-"):
            self.answer(int(behaviour[7:]), {"error": "status %s" % behaviour[7:]})
        elif behaviour == "hang":
            time.sleep(30)
            self.answer(200, {"status": "late"})
        elif behaviour == "text":
            self.answer(200, "OK")
        else:
            self.answer(404, {"error": "unknown behaviour"})

    def check_auth(self, auth, body):
        header = self.headers.get("Authorization") or ""
        if auth == "none":
            return True, None, "none"
        if auth == "basic":
            expected = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
            return header == expected, 'Basic realm="%s"' % REALM, "basic"
        if auth in ("digest", "digest-sha256"):
            return self.check_digest("MD5" if auth == "digest" else "SHA-256", header)
        if auth == "oauth":
            uri = "http://%s%s" % (self.headers.get("Host"), self.path)
            headers = {k: v for k, v in self.headers.items()}
            valid, _request = OAUTH.validate_request(uri, self.command, body or None, headers)
            return valid, None, "oauth valid=%s" % valid
        return False, None, "unknown auth %r" % auth

    def check_digest(self, algorithm, header):
        nonce = secrets.token_hex(16)
        with LOCK:
            NONCES.add(nonce)
        challenge = 'Digest realm="%s", qop="auth", algorithm=%s, nonce="%s", opaque="op-aque"' % (
            REALM, algorithm, nonce)
        if not header.startswith("Digest "):
            return False, challenge, "no digest credentials"
        p = parse_auth_params(header[len("Digest "):])
        with LOCK:
            known_nonce = p.get("nonce") in NONCES
        if p.get("username") != USER or p.get("realm") != REALM or not known_nonce:
            return False, challenge, "wrong username, realm or nonce"
        if p.get("algorithm", "MD5") != algorithm or p.get("qop") != "auth":
            return False, challenge, "wrong algorithm or qop"
        if p.get("uri") != self.path or p.get("opaque") != "op-aque":
            return False, challenge, "wrong uri or opaque"
        ha1 = digest_hash(algorithm, "%s:%s:%s" % (USER, REALM, PASSWORD))
        ha2 = digest_hash(algorithm, "%s:%s" % (self.command, p["uri"]))
        expected = digest_hash(algorithm, ":".join([ha1, p["nonce"], p.get("nc", ""),
                                                    p.get("cnonce", ""), "auth", ha2]))
        if p.get("response") != expected:
            return False, challenge, "wrong response"
        return True, None, "digest %s ok" % algorithm


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
