#!/usr/bin/python3
"""A small OAuth2 provider for cfpd's tests: the token endpoint a mail
provider runs (Google, Microsoft), plus the RFC 7662 introspection endpoint
Dovecot's oauth2 passdb and the test SMTP server ask whether an access token
is good. It stands in only for the provider's token service; IMAP and SMTP
are the real servers.

usage: oauth2_provider.py --port P --client-id ID [--client-secret S]
                          --user U --refresh-token RT [--lifetime SECONDS]
                          [--rotate]

POST /token       grant_type=refresh_token (refresh_token, client_id,
                  client_secret) -> {"access_token", "token_type": "Bearer",
                  "expires_in", ["refresh_token" when rotating]}; errors are
                  RFC 6749 JSON: invalid_grant, invalid_client.
                  grant_type=authorization_code (code, redirect_uri,
                  code_verifier, client_id) for codes made by /authorize.
GET  /authorize   response_type=code&client_id&redirect_uri&state&
                  code_challenge&code_challenge_method=S256 -> 302 to
                  redirect_uri?code=…&state=… (consent is automatic).
POST /introspect  token=AT -> {"active": true, "username": U} or {"active": false}
POST /admin       JSON: {"lifetime": s, "rotate": bool, "revoke_refresh": true,
                  "revoke_access": true, "reject_access": bool}
GET  /stats       JSON: refreshes, rotations, introspections, rejected
"""
import argparse
import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Provider:
    def __init__(self, a):
        self.lock = threading.Lock()
        self.client_id = a.client_id
        self.client_secret = a.client_secret
        self.user = a.user
        self.lifetime = a.lifetime
        self.rotate = a.rotate
        self.reject_access = False
        self.refresh_tokens = {a.refresh_token}
        self.access = {}  # token -> expiry (monotonic)
        self.codes = {}  # code -> (redirect_uri, challenge)
        self.stats = {"refreshes": 0, "rotations": 0, "introspections": 0, "rejected": 0}

    def issue(self, out):
        at = "at-" + secrets.token_hex(16)
        self.access[at] = time.monotonic() + self.lifetime
        out.update({"access_token": at, "token_type": "Bearer", "expires_in": self.lifetime})
        return out

    def token(self, form):
        if form.get("client_id") != self.client_id or (
            self.client_secret is not None and form.get("client_secret") != self.client_secret
        ):
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "refresh_token":
                rt = form.get("refresh_token")
                if rt not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "the refresh token is revoked or unknown"}
                self.stats["refreshes"] += 1
                out = {}
                if self.rotate:
                    # Strict rotation: the old token stops working, so a client
                    # that did not keep the new one fails on its next refresh.
                    self.refresh_tokens.discard(rt)
                    new = "rt-" + secrets.token_hex(16)
                    self.refresh_tokens.add(new)
                    self.stats["rotations"] += 1
                    out["refresh_token"] = new
                return 200, self.issue(out)
            if grant == "authorization_code":
                code = self.codes.pop(form.get("code"), None)
                if code is None or code[0] != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "bad code"}
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if digest.rstrip(b"=").decode() != code[1]:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                rt = "rt-" + secrets.token_hex(16)
                self.refresh_tokens.add(rt)
                return 200, self.issue({"refresh_token": rt})
        return 400, {"error": "unsupported_grant_type"}

    def introspect(self, token):
        with self.lock:
            self.stats["introspections"] += 1
            exp = self.access.get(token)
            if exp is None or exp < time.monotonic() or self.reject_access:
                self.stats["rejected"] += 1
                return {"active": False}
            return {"active": True, "username": self.user}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    provider = None

    def log_message(self, *args):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode()

    def do_POST(self):
        p = self.provider
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        if path == "/token":
            form = dict(urllib.parse.parse_qsl(raw))
            status, out = p.token(form)
            return self.reply(status, out)
        if path == "/introspect":
            form = dict(urllib.parse.parse_qsl(raw))
            return self.reply(200, p.introspect(form.get("token", "")))
        if path == "/admin":
            cmd = json.loads(raw or "{}")
            with p.lock:
                if "lifetime" in cmd:
                    p.lifetime = int(cmd["lifetime"])
                if "rotate" in cmd:
                    p.rotate = bool(cmd["rotate"])
                if cmd.get("revoke_refresh"):
                    p.refresh_tokens.clear()
                if cmd.get("revoke_access"):
                    p.access.clear()
                if "reject_access" in cmd:
                    p.reject_access = bool(cmd["reject_access"])
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "not_found"})

    def do_GET(self):
        p = self.provider
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/stats":
            with p.lock:
                return self.reply(200, dict(p.stats))
        if u.path == "/authorize":
            q = dict(urllib.parse.parse_qsl(u.query))
            if q.get("client_id") != p.client_id or q.get("code_challenge_method") != "S256":
                return self.reply(400, {"error": "invalid_request"})
            code = "code-" + secrets.token_hex(8)
            with p.lock:
                p.codes[code] = (q.get("redirect_uri"), q.get("code_challenge"))
            sep = "&" if "?" in q["redirect_uri"] else "?"
            loc = q["redirect_uri"] + sep + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
            return self.reply(302, {}, headers=[("Location", loc)])
        self.reply(404, {"error": "not_found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret")
    ap.add_argument("--user", required=True)
    ap.add_argument("--refresh-token", required=True)
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--rotate", action="store_true")
    a = ap.parse_args()
    Handler.provider = Provider(a)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
