"""A small HTTP client with cookies and CSRF tokens, for tests against a running server."""
import http.client
import re
import threading
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Session:
    def __init__(self, base_url, timeout=30):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {}
        self.timeout = timeout
        self.lock = threading.Lock()

    def request(self, method, path, form=None):
        """Returns (status, headers, body text); redirects are not followed."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {}
        with self.lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(header)
                with self.lock:
                    for key, morsel in cookie.items():
                        self.cookies[key] = morsel.value
            return response.status, response.headers, text
        finally:
            connection.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, form):
        return self.request("POST", path, form)

    def token(self, path):
        status, _headers, text = self.get(path)
        match = CSRF.search(text)
        assert match, f"no CSRF token on {path} (status {status})"
        return match.group(1)

    def login(self, email, password):
        token = self.token("/login")
        status, headers, _text = self.post("/login", {"csrf_token": token, "email": email, "password": password})
        assert status == 302, f"login of {email} failed ({status})"
        return self
