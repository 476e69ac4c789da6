"""A real SOAP SMS broker for the delivery tests (spyne 2.14, SOAP 1.1 and 1.2).

Serves two spyne applications on 127.0.0.1 (port 0 unless given), and prints
`PORT <n>` on stdout once listening:

  /soap11  (WSDL at /soap11?wsdl)  Soap11, lxml-validated
  /soap12  (WSDL at /soap12?wsdl)  Soap12, lxml-validated
  /_calls  GET: JSON list of the calls received so far (WSDL fetches are recorded as
           operation "wsdl")

Operations (namespace urn:sae:test:sms):
  SendSms(phone, message, sender?) -> SendSmsResult (a message id "m-<n>")
      phone "0000" raises a client fault "invalid destination".
      phone "5000" raises a server fault "broker overloaded".
  GetBalance(account) -> GetBalanceResult (an integer), to test operation selection.
"""

import json
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

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
                       soap_action=action, content_type=content_type)
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


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    root = WsgiMounter({
        "soap11": WsgiApplication(make_app("1.1", Soap11)),
        "soap12": WsgiApplication(make_app("1.2", Soap12)),
        "_calls": calls_app,
    })
    def logged(environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("QUERY_STRING", "").lower() == "wsdl":
            record("wsdl", environ.get("PATH_INFO", ""))
        return root(environ, start_response)

    server = make_server("127.0.0.1", port, logged, handler_class=QuietHandler)
    print("PORT %d" % server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
