"""A local OAuth2 authorization server for the e-mail integration tests.

Started by delivery/tests/email/peers.rs; prints `PORT <n>` once it listens on 127.0.0.1.

Endpoints
  GET  /authorize   auto-approves: checks response_type=code, client_id, redirect_uri and a
                    PKCE S256 challenge, stores (challenge, redirect_uri, subject) under a
                    fresh single-use code, and redirects to redirect_uri?code=...&state=...
  POST /token       grant_type authorization_code (checks code, redirect_uri and
                    code_verifier against the stored challenge; with `openid` in the scope
                    the answer has an id_token, HS256 with the client secret, whose email is
                    the login_hint), refresh_token, and client_credentials (checks the client
                    secret); client authentication by HTTP Basic or by client_id/client_secret
                    in the form. With --service-account-public-key, also the JWT bearer grant
                    (RFC 7523): the assertion is verified with PyJWT (RS256, the public key,
                    iss = --service-account-email, aud = this /token URL, exp/iat/sub
                    required, at most one hour) and the token is issued for its `sub`.
  POST /introspect  form token=... -> {"active": bool, "reason": ..., "sub": ...}; used by
                    the SMTP peer to check XOAUTH2 bearer tokens.
  POST /control     JSON: {"expires_in": n, "refresh_error": "invalid_grant"|null,
                    "rotate_refresh": bool, "revoke": "<access token>"}
  GET  /stats       JSON: grant counters, the last /authorize query, the last verified
                    assertion (header and claims), and every token issued (so tests can check
                    that none is stored in clear).
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class State:
    def __init__(self, client_id, client_secret, redirect_uri):
        self.lock = threading.Lock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.expires_in = 3600
        self.refresh_error = None
        self.rotate_refresh = False
        self.codes = {}  # code -> {challenge, redirect_uri, subject}
        self.access = {}  # token -> {expires_at, revoked, sub}
        self.refresh = {}  # token -> sub
        self.grants = {"authorization_code": 0, "refresh_token": 0, "client_credentials": 0,
                       JWT_BEARER: 0}
        self.last_authorize = {}
        self.last_client_auth = None
        self.service_account = None  # (email, public key PEM) for the JWT bearer grant
        self.token_url = None
        self.last_assertion = None

    def issue_access(self, sub):
        token = "at-" + secrets.token_urlsafe(24)
        self.access[token] = {"expires_at": time.time() + self.expires_in, "revoked": False, "sub": sub}
        return token

    def issue_refresh(self, sub):
        token = "rt-" + secrets.token_urlsafe(24)
        self.refresh[token] = sub
        return token


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def id_token(state, sub):
    """An OpenID id_token for `sub` (its email), HS256 with the client secret."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": "http://127.0.0.1", "aud": state.client_id, "sub": "id-" + (sub or ""),
              "email": sub, "email_verified": True, "iat": now, "exp": now + 600}
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(state.client_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64url(signature.digest())}"


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def oauth_error(self, status, error, description):
            self.send_json(status, {"error": error, "error_description": description})

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode()

        def form(self):
            return {k: v[0] for k, v in parse_qs(self.read_body(), keep_blank_values=True).items()}

        # --- GET ---------------------------------------------------------------
        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/authorize":
                return self.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
            if url.path == "/stats":
                with state.lock:
                    return self.send_json(200, {
                        "grants": dict(state.grants),
                        "last_authorize": dict(state.last_authorize),
                        "last_client_auth": state.last_client_auth,
                        "last_assertion": state.last_assertion,
                        "issued": sorted(state.access) + sorted(state.refresh),
                    })
            self.send_json(404, {"error": "not_found"})

        def authorize(self, q):
            with state.lock:
                state.last_authorize = dict(q)
            if q.get("client_id") != state.client_id:
                return self.send_json(400, {"error": "invalid_client"})
            if q.get("redirect_uri") != state.redirect_uri:
                return self.send_json(400, {"error": "invalid_request", "error_description": "redirect_uri"})
            if q.get("response_type") != "code":
                return self.send_json(400, {"error": "unsupported_response_type"})
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return self.send_json(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
            code = "code-" + secrets.token_urlsafe(16)
            with state.lock:
                state.codes[code] = {
                    "challenge": q["code_challenge"],
                    "redirect_uri": q["redirect_uri"],
                    "sub": q.get("login_hint"),
                    "scope": q.get("scope", ""),
                }
            target = urlsplit(state.redirect_uri)
            query = urlencode({"code": code, "state": q.get("state", "")})
            location = urlunsplit((target.scheme, target.netloc, target.path, query, ""))
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        # --- POST --------------------------------------------------------------
        def do_POST(self):
            path = urlsplit(self.path).path
            if path == "/token":
                return self.token()
            if path == "/introspect":
                return self.introspect()
            if path == "/control":
                return self.control()
            self.send_json(404, {"error": "not_found"})

        def client_authenticated(self, form):
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                raw = base64.b64decode(header[6:]).decode()
                client_id, _, secret = raw.partition(":")
                how = "basic"
            else:
                client_id, secret = form.get("client_id"), form.get("client_secret")
                how = "form"
            with state.lock:
                state.last_client_auth = how
            return client_id == state.client_id and secret is not None and hmac.compare_digest(
                secret.encode(), state.client_secret.encode())

        def token(self):
            form = self.form()
            if form.get("grant_type") == JWT_BEARER:
                # The signed assertion is the client's authentication (RFC 7523 §3).
                with state.lock:
                    state.grants[JWT_BEARER] += 1
                    return self.jwt_bearer_grant(form)
            if not self.client_authenticated(form):
                return self.oauth_error(401, "invalid_client", "unknown client or wrong secret")
            grant = form.get("grant_type")
            with state.lock:
                if grant in state.grants:
                    state.grants[grant] += 1
                if grant == "authorization_code":
                    return self.code_grant(form)
                if grant == "refresh_token":
                    return self.refresh_grant(form)
                if grant == "client_credentials":
                    body = {"access_token": state.issue_access(None), "token_type": "Bearer",
                            "expires_in": state.expires_in}
                    return self.send_json(200, body)
            self.oauth_error(400, "unsupported_grant_type", str(grant))

        def code_grant(self, form):  # called with the lock held
            entry = state.codes.pop(form.get("code", ""), None)  # single use
            if entry is None:
                return self.oauth_error(400, "invalid_grant", "unknown or used code")
            if form.get("redirect_uri") != entry["redirect_uri"]:
                return self.oauth_error(400, "invalid_grant", "redirect_uri mismatch")
            verifier = form.get("code_verifier", "")
            if not hmac.compare_digest(s256(verifier), entry["challenge"]):
                return self.oauth_error(400, "invalid_grant", "code_verifier does not match the challenge")
            sub = entry["sub"]
            body = {"access_token": state.issue_access(sub), "token_type": "Bearer",
                    "expires_in": state.expires_in, "refresh_token": state.issue_refresh(sub),
                    "scope": entry["scope"] or "SMTP.Send offline_access"}
            if "openid" in entry["scope"].split():
                body["id_token"] = id_token(state, sub)
            self.send_json(200, body)

        def jwt_bearer_grant(self, form):  # called with the lock held
            if state.service_account is None:
                return self.oauth_error(400, "unsupported_grant_type", JWT_BEARER)
            import jwt  # PyJWT, checked at start-up

            email, public_key = state.service_account
            assertion = form.get("assertion", "")
            try:
                claims = jwt.decode(
                    assertion, public_key, algorithms=["RS256"], audience=state.token_url,
                    issuer=email, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
            except jwt.PyJWTError as e:
                return self.oauth_error(400, "invalid_grant", f"assertion refused: {e}")
            if claims["exp"] - claims["iat"] > 3600:
                return self.oauth_error(400, "invalid_grant", "assertion lives longer than an hour")
            if not claims.get("scope"):
                return self.oauth_error(400, "invalid_scope", "the assertion has no scope")
            state.last_assertion = {"header": jwt.get_unverified_header(assertion), "claims": claims}
            body = {"access_token": state.issue_access(claims["sub"]), "token_type": "Bearer",
                    "expires_in": state.expires_in}
            self.send_json(200, body)

        def refresh_grant(self, form):  # called with the lock held
            if state.refresh_error:
                return self.oauth_error(400, state.refresh_error, "the refresh token was revoked")
            old = form.get("refresh_token", "")
            if old not in state.refresh:
                return self.oauth_error(400, "invalid_grant", "unknown refresh token")
            sub = state.refresh[old]
            body = {"access_token": state.issue_access(sub), "token_type": "Bearer",
                    "expires_in": state.expires_in}
            if state.rotate_refresh:
                del state.refresh[old]
                body["refresh_token"] = state.issue_refresh(sub)
            self.send_json(200, body)

        def introspect(self):
            token = self.form().get("token", "")
            with state.lock:
                entry = state.access.get(token)
                if entry is None:
                    return self.send_json(200, {"active": False, "reason": "unknown"})
                if entry["revoked"]:
                    return self.send_json(200, {"active": False, "reason": "revoked"})
                if entry["expires_at"] <= time.time():
                    return self.send_json(200, {"active": False, "reason": "expired"})
                return self.send_json(200, {"active": True, "sub": entry["sub"]})

        def control(self):
            body = json.loads(self.read_body() or "{}")
            with state.lock:
                if "expires_in" in body:
                    state.expires_in = int(body["expires_in"])
                if "refresh_error" in body:
                    state.refresh_error = body["refresh_error"]
                if "rotate_refresh" in body:
                    state.rotate_refresh = bool(body["rotate_refresh"])
                if "revoke" in body and body["revoke"] in state.access:
                    state.access[body["revoke"]]["revoked"] = True
            self.send_json(200, {"ok": True})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--service-account-email")
    parser.add_argument("--service-account-public-key", help="PEM file of the service account's public key")
    args = parser.parse_args()
    state = State(args.client_id, args.client_secret, args.redirect_uri)
    if args.service_account_public_key:
        try:
            import jwt  # noqa: F401  (PyJWT)
            import cryptography  # noqa: F401  (RS256 in PyJWT)
        except ImportError as e:
            print(f"SKIP PyJWT with cryptography is not installed: {e}", flush=True)
            return 0
        with open(args.service_account_public_key) as f:
            state.service_account = (args.service_account_email, f.read())
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.token_url = f"http://127.0.0.1:{server.server_address[1]}/token"
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
