"""A real SOAP SMS broker for the delivery tests (spyne 2.14, SOAP 1.1 and 1.2).

Serves two spyne applications on 127.0.0.1 (port 0 unless given), and prints
`PORT <n>` on stdout once listening:

  /soap11  (WSDL at /soap11?wsdl)  Soap11, lxml-validated
  /soap12  (WSDL at /soap12?wsdl)  Soap12, lxml-validated
  /basic/soap11, /basic/soap12     the same behind HTTP Basic (WSDL included)
  /digest/soap11, /digest/soap12   the same behind HTTP Digest (RFC 7616, MD5, qop=auth)
                                   (user "sae", password "s3cret: pass", as rest_peer.py)
  /_calls  GET: JSON list of the calls received so far (WSDL fetches are recorded as
           operation "wsdl"; every request to /basic or /digest is also recorded as
           operation "auth" with the scheme it carried and whether it was accepted)

Operations (namespace urn:sae:test:sms):
  SendSms(phone, message, sender?) -> SendSmsResult (a message id "m-<n>")
      phone "0000" raises a client fault "invalid destination".
      phone "5000" raises a server fault "broker overloaded".
  GetBalance(account) -> GetBalanceResult (an integer), to test operation selection.
"""

import base64
import json
import secrets
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from rest_peer import PASSWORD, REALM, USER, digest_hash, parse_auth_params

from spyne import Application, Fault, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication
from spyne.util.wsgi_wrapper import WsgiMounter

NS = "urn:sae:test:sms"
CALLS = []
LOCK = threading.Lock()


def record(operation, version, **params):
    with LOCK:
        CALLS.append({"operation": operation, "version": version, "params": params})
        return len(CALLS)


def make_service(version):
    class SmsService(ServiceBase):
        @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
        def SendSms(ctx, phone, message, sender):
            action = ctx.transport.req_env.get("HTTP_SOAPACTION")
            content_type = ctx.transport.req_env.get("CONTENT_TYPE")
            n = record("SendSms", version, phone=phone, message=message, sender=sender,
                       soap_action=action, content_type=content_type,
                       path="/" + (ctx.transport.req_env.get("SCRIPT_NAME") or "").lstrip("/"))
            if phone == "0000":
                raise Fault(faultcode="Client", faultstring="invalid destination")
            if phone == "5000":
                raise Fault(faultcode="Server", faultstring="broker overloaded")
            return "m-%d" % n

        @rpc(Unicode, _returns=Integer)
        def GetBalance(ctx, account):
            record("GetBalance", version, account=account)
            return 42

    SmsService.__name__ = "SmsService" + version.replace(".", "")
    return SmsService


def make_app(version, protocol):
    return Application(
        [make_service(version)],
        tns=NS,
        name="SmsBroker",
        in_protocol=protocol(validator="lxml"),
        out_protocol=protocol(),
    )


def calls_app(environ, start_response):
    with LOCK:
        body = json.dumps(CALLS).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


NONCES = set()


def check_auth(scheme, environ):
    """(accepted, challenge) for a request to a /basic or /digest mount."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if scheme == "basic":
        expected = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        return header == expected, 'Basic realm="%s"' % REALM
    nonce = secrets.token_hex(16)
    with LOCK:
        NONCES.add(nonce)
    challenge = 'Digest realm="%s", qop="auth", algorithm=MD5, nonce="%s"' % (REALM, nonce)
    if not header.startswith("Digest "):
        return False, challenge
    p = parse_auth_params(header[len("Digest "):])
    uri = environ.get("PATH_INFO", "")
    if environ.get("QUERY_STRING"):
        uri += "?" + environ["QUERY_STRING"]
    with LOCK:
        known_nonce = p.get("nonce") in NONCES
    if (p.get("username") != USER or p.get("realm") != REALM or not known_nonce
            or p.get("qop") != "auth" or p.get("uri") != uri):
        return False, challenge
    ha1 = digest_hash("MD5", "%s:%s:%s" % (USER, REALM, PASSWORD))
    ha2 = digest_hash("MD5", "%s:%s" % (environ["REQUEST_METHOD"], uri))
    expected = digest_hash("MD5", ":".join([ha1, p["nonce"], p.get("nc", ""),
                                            p.get("cnonce", ""), "auth", ha2]))
    return p.get("response") == expected, challenge


def guard(environ, start_response):
    """Checks /basic and /digest requests; `None` lets the request through."""
    path = environ.get("PATH_INFO", "")
    scheme = path.strip("/").split("/")[0]
    if scheme not in ("basic", "digest"):
        return None
    accepted, challenge = check_auth(scheme, environ)
    carried = environ.get("HTTP_AUTHORIZATION", "").split(" ")[0] or None
    record("auth", scheme, carried=carried, accepted=accepted,
           method=environ.get("REQUEST_METHOD"))
    if accepted:
        return None
    body = b"unauthorized"
    start_response("401 Unauthorized", [("WWW-Authenticate", challenge),
                                        ("Content-Type", "text/plain"),
                                        ("Content-Length", str(len(body)))])
    return [body]


def guarded_mount(scheme):
    """Fresh spyne applications under /<scheme>/ (each caches its WSDL with the address it
    was first asked at, so they are not shared with the open mounts)."""
    apps = {
        "soap11": WsgiApplication(make_app("1.1", Soap11)),
        "soap12": WsgiApplication(make_app("1.2", Soap12)),
    }

    def mount(environ, start_response):
        # WsgiMounter left SCRIPT_NAME "//<scheme>" and PATH_INFO "/soap11".
        name = environ.get("PATH_INFO", "").strip("/")
        app = apps.get(name)
        if app is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        environ["SCRIPT_NAME"] = "//%s/%s" % (scheme, name)
        environ["PATH_INFO"] = ""
        return app(environ, start_response)
    return mount


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    root = WsgiMounter({
        "soap11": WsgiApplication(make_app("1.1", Soap11)),
        "soap12": WsgiApplication(make_app("1.2", Soap12)),
        "basic": guarded_mount("basic"),
        "digest": guarded_mount("digest"),
        "_calls": calls_app,
    })
    def logged(environ, start_response):
        refused = guard(environ, start_response)
        if refused is not None:
            return refused
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("QUERY_STRING", "").lower() == "wsdl":
            record("wsdl", environ.get("PATH_INFO", ""))
        return root(environ, start_response)

    server = make_server("127.0.0.1", port, logged, handler_class=QuietHandler)
    print("PORT %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
