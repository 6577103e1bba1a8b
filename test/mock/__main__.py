"""The sms_ir test mocks: one local HTTP(S) server faking every provider API
the extension speaks, strictly (auth, field names and types, limits), with a
request log, fault injection and control endpoints (base.py).

Usage:
    python3 test/mock --port PORT [--host 127.0.0.1] [--api-key test-key]
                      [--tls-cert FILE --tls-key FILE] [--quiet]

--port 0 picks a free port.  Once listening, exactly one line "READY <port>" is
printed on stdout.  SIGTERM/SIGINT exit cleanly (0).

Providers, dispatched by path prefix (case-insensitive), one module each:
    /v1/                          sms.ir REST v1                 smsir.py
    /messages/, /account/         smsafzar REST                  smsafzar.py
    /SendService.svc              MediaPayamak SOAP (WCF)        mediapayamak.py
    /users/v1/                    legacy sms.ir "White SMS"      legacy.py

Pure standard library.  Also runs as `python3 -m mock` from test/.
`python3 test/mock/selftest.py` checks the mocks themselves (scripts/test.sh runs it).
"""

import argparse
import os
import signal
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import base  # noqa: E402
import legacy  # noqa: E402
import mediapayamak  # noqa: E402
import smsafzar  # noqa: E402
import smsir  # noqa: E402

PROVIDERS = (smsir.SmsIrV1, smsafzar.SmsAfzar, mediapayamak.MediaPayamak, legacy.SmsIrLegacy)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="test/mock",
                                 description="Local fake of the sms.ir (and other) SMS APIs.")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0 = pick a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-key", default="test-key")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    mock = base.Mock(args.api_key, PROVIDERS)
    server = base.MockHTTPServer((args.host, args.port), base.Handler, mock, args.quiet, ctx)
    sys.stdout.write("READY %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.run(poll_interval=0.5)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
