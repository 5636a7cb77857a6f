"""Real Chromium driven over the Chrome DevTools Protocol, for what only a browser can do: WebAuthn.

One headless Chromium per `Browser` (its own profile directory, removed afterwards), one page, and a CDP
virtual authenticator (`WebAuthn.addVirtualAuthenticator`) standing in for a platform passkey with user
verification. The stack's TLS certificate is trusted by its public key (`--ignore-certificate-errors-spki-list`)
rather than by ignoring every certificate error: Chromium refuses WebAuthn on a page with a certificate error.
The redirect back to the client is intercepted (`Fetch`), never loaded, so the authorization response is read
from its URL. Nothing here logs a password or a code: form values travel only inside CDP messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import ssl
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import websocket
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idpkit.smoke.oauth import CodeSource, origin

CHROMIUM = "chromium"
STARTUP_SECONDS = 30
STEP_SECONDS = 30
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
          "--remote-debugging-port=0")  # fmt: skip
PASSKEY: dict[str, Any] = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
"""A platform authenticator holding discoverable credentials (passkeys) that verifies its user."""
WITHOUT_USER_VERIFICATION = PASSKEY | {"hasUserVerification": False, "isUserVerified": False}
"""A security key with no PIN or biometric: it proves possession only."""
_CEREMONY_BINDING = "__idpkitCeremony"
_CEREMONY_RECORDER = """(() => {
  if (!navigator.credentials) return;
  const plain = (options) => JSON.parse(JSON.stringify(options, (key, value) =>
    value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? `${value.byteLength} bytes` : value));
  const wrap = (kind, original) => function (options) {
    if (options && options.publicKey) {
      window.BINDING(JSON.stringify({kind, publicKey: plain(options.publicKey)}));
    }
    return original.call(navigator.credentials, options);
  };
  navigator.credentials.create = wrap("create", navigator.credentials.create);
  navigator.credentials.get = wrap("get", navigator.credentials.get);
})();""".replace("BINDING", _CEREMONY_BINDING)
"""Reports to the driver the options every WebAuthn ceremony of the page passes to the authenticator, as sent
(binary values as their length), before the browser checks them."""


class BrowserError(RuntimeError):
    """Chromium could not be started or driven, or a page did not come."""


def server_spki_hash(url: str) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate the server at `url` presents."""
    parts = urlsplit(url)
    pem = ssl.get_server_certificate((parts.hostname or "localhost", parts.port or 443))
    spki = (
        x509.load_pem_x509_certificate(pem.encode())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass(frozen=True)
class Redirect:
    """The authorization response, read from the URL Chromium was sent to."""

    url: str

    @property
    def params(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.url).query).items()}


@dataclass(frozen=True)
class Ceremony:
    """A WebAuthn ceremony a page started: `create` (registration) or `get` (login), with the options the relying
    party gave the authenticator (PublicKeyCredentialCreationOptions or ...RequestOptions)."""

    kind: str
    public_key: dict[str, Any]


class Browser:
    """One page of a headless Chromium, with a virtual authenticator; use `Browser.launched`."""

    def __init__(
        self, socket: websocket.WebSocket, session: str, redirect_prefix: str, authenticator: dict[str, Any]
    ) -> None:
        self._socket, self._session, self._redirect_prefix = socket, session, redirect_prefix
        self._authenticator_options = authenticator
        self._next_id = 0
        self._events: deque[dict[str, Any]] = deque(maxlen=200)
        self._authenticator = ""
        self.redirect: Redirect | None = None
        self.ceremonies: list[Ceremony] = []
        """The WebAuthn ceremonies the pages asked the authenticator for, in order."""

    @classmethod
    @contextmanager
    def launched(
        cls, trusted_origin: str, redirect_prefix: str, authenticator: dict[str, Any] = PASSKEY
    ) -> Iterator[Browser]:
        """Chromium trusting `trusted_origin`'s certificate, stopping every navigation to `redirect_prefix`, with
        a virtual `authenticator` (CDP `VirtualAuthenticatorOptions`)."""
        executable = shutil.which(CHROMIUM)
        if executable is None:
            raise BrowserError(f"{CHROMIUM} is not installed (scripts/install-system-packages installs it)")
        profile = Path(tempfile.mkdtemp(prefix="idpkit-chromium-"))
        flags = [*_FLAGS, f"--user-data-dir={profile}",
                 f"--ignore-certificate-errors-spki-list={server_spki_hash(trusted_origin)}"]  # fmt: skip
        process = subprocess.Popen(
            [executable, *flags, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            socket = websocket.create_connection(_browser_endpoint(profile, process), timeout=STEP_SECONDS)
            try:
                browser = cls(socket, "", redirect_prefix, authenticator)
                target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
                browser._session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                    "sessionId"
                ]
                browser._prepare()
                yield browser
            finally:
                socket.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            shutil.rmtree(profile, ignore_errors=True)

    def _prepare(self) -> None:
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")
        self.send("Runtime.addBinding", {"name": _CEREMONY_BINDING})
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": _CEREMONY_RECORDER})
        self.send("WebAuthn.enable", {"enableUI": False})
        self._authenticator = self.send("WebAuthn.addVirtualAuthenticator", {"options": self._authenticator_options})[
            "authenticatorId"
        ]
        self.send("Fetch.enable", {"patterns": [{"urlPattern": f"{self._redirect_prefix}*"}]})

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One CDP command on the page's session (the browser's before attaching); its result."""
        self._next_id += 1
        expected = self._next_id  # events handled while waiting send commands of their own
        message: dict[str, Any] = {"id": expected, "method": method, "params": params or {}}
        if self._session:
            message["sessionId"] = self._session
        self._socket.send(json.dumps(message))
        while True:
            answer = self._receive()
            if answer.get("id") == expected:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self._events.append(answer)

    def _receive(self) -> dict[str, Any]:
        try:
            message: dict[str, Any] = json.loads(self._socket.recv())
        except (websocket.WebSocketException, OSError) as error:
            raise BrowserError(f"Chromium stopped answering: {error}") from error
        self._handle(message)
        return message

    def _handle(self, event: dict[str, Any]) -> None:
        """Answer what would block the page: the redirect to the client, a dialog (e.g. a passkey label)."""
        method, params = event.get("method"), event.get("params", {})
        if method == "Fetch.requestPaused":
            self.redirect = Redirect(params["request"]["url"])
            self._fire("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "Aborted"})
        elif method == "Runtime.bindingCalled" and params.get("name") == _CEREMONY_BINDING:
            reported = json.loads(params["payload"])
            self.ceremonies.append(Ceremony(reported["kind"], reported["publicKey"]))
        elif method == "Page.javascriptDialogOpening":
            self._fire("Page.handleJavaScriptDialog", {"accept": True, "promptText": "smoke passkey"})

    def _fire(self, method: str, params: dict[str, Any]) -> None:
        self._next_id += 1
        self._socket.send(json.dumps({"id": self._next_id, "method": method, "params": params,
                                      "sessionId": self._session}))  # fmt: skip

    def navigate(self, url: str) -> None:
        self.redirect = None
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})  # fmt: skip
        if "exceptionDetails" in result:
            raise BrowserError(f"in the page: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, what: str, seconds: float = STEP_SECONDS) -> None:
        """Until the expression is true in the current page, or the redirect to the client came."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.redirect is not None:
                return
            try:
                if self.evaluate(f"(() => {{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }})()"):
                    return
            except BrowserError:
                pass  # the page is navigating: its context is gone for a moment
            time.sleep(0.2)
        raise BrowserError(f"no {what} after {seconds:.0f} s (page: {self.location()})")

    def mark_page(self) -> None:
        """Mark the current document, so `wait_for_next_page` can tell when another one replaced it (Keycloak's
        pages post to themselves: the URL alone does not tell)."""
        self.evaluate("window.__idpkitMarked = true")

    def wait_for_next_page(self, seconds: float = STEP_SECONDS) -> bool:
        """Whether the marked document is gone (or the redirect to the client came) within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.redirect is None:
            try:
                if not self.evaluate("window.__idpkitMarked === true"):
                    return True
            except BrowserError:
                pass  # between two documents
            self.pump(0.2)
        return self.redirect is not None

    def console_errors(self) -> list[str]:
        """What the page reported as errors (console, uncaught exceptions, the browser's log), newest last."""
        found = []
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning"):
                found.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                found.append(str(params["entry"].get("text")))
        return found

    def location(self) -> str:
        try:
            return str(self.evaluate("location.href"))
        except BrowserError:
            return "unknown"

    def page_has(self, selector: str) -> bool:
        return bool(self.evaluate(f"document.querySelector({json.dumps(selector)}) !== null"))

    def fill_and_submit(self, form: str, fields: dict[str, str]) -> None:
        """Set the named inputs of a form and submit it as its submit button would."""
        sets = "".join(
            f"f.querySelector('[name={json.dumps(name)}]').value = {json.dumps(value)};"
            for name, value in fields.items()
        )
        self.evaluate(f"(() => {{ const f = document.querySelector({json.dumps(form)}); {sets} "
                      "if (f.requestSubmit) { f.requestSubmit(); } else { f.submit(); } })()")  # fmt: skip

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def credentials(self) -> list[dict[str, Any]]:
        """The passkeys the virtual authenticator holds (ids and sign counts; no private key is read)."""
        held = self.send("WebAuthn.getCredentials", {"authenticatorId": self._authenticator})
        return [{k: v for k, v in c.items() if k != "privateKey"} for c in held.get("credentials", [])]

    def pump(self, seconds: float) -> None:
        """Handle the events that arrive within `seconds` (dialogs, the redirect) without a command."""
        self._socket.settimeout(0.2)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline and self.redirect is None:
                try:
                    self._events.append(self._receive())
                except BrowserError:
                    continue
        finally:
            self._socket.settimeout(STEP_SECONDS)


def _browser_endpoint(profile: Path, process: subprocess.Popen[bytes]) -> str:
    """Chromium writes the port it chose and its browser target's path to DevToolsActivePort."""
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"{CHROMIUM} exited with status {process.returncode} at start")
        if active.exists() and len(lines := active.read_text().split()) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise BrowserError(f"{CHROMIUM} did not open its DevTools port within {STARTUP_SECONDS} s")


# Keycloak's login pages (the login theme's element ids), and what the person does on each.
LOGIN_FORM = "#kc-form-login"
ONE_TIME_CODE_FORM = "#kc-otp-login-form"
PASSKEY_REGISTRATION = "#registerWebAuthn"
PASSKEY_LOGIN = "#authenticateWebAuthnButton"
CONSENT = 'form[action*="/login-actions/consent"] [name="accept"]'
MAX_PAGES = 8
CEREMONY_SECONDS = 15
"""How long a step may take to move the page on: a virtual authenticator answers at once."""
_STEPS = {
    "password": LOGIN_FORM,
    "one-time code": ONE_TIME_CODE_FORM,
    "passkey registration": PASSKEY_REGISTRATION,
    "passkey": PASSKEY_LOGIN,
    "consent": CONSENT,
}


@dataclass(frozen=True)
class BrowserLogin:
    """Where a login in Chromium ended and the steps the person took, in order."""

    redirect: Redirect | None
    steps: tuple[str, ...]
    page: str
    """The page the login stopped at when it did not reach the client."""


def log_in(browser: Browser, authorization_url: str, username: str, password: str, codes: CodeSource) -> BrowserLogin:
    """Follow Keycloak's pages as a person with a password, a TOTP app and a passkey device would, granting the
    consent a client asks for. The login stops at a page that is no step of it (an error), where a step does not
    move the page on, or where the same step of the flow comes back after it (refused)."""
    browser.navigate(authorization_url)
    browser.wait_for(f"location.href.startsWith({json.dumps(origin(authorization_url) + '/')})", "the login page")
    steps: list[str] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(MAX_PAGES):
        # Loaded completely: the pages' own scripts (WebAuthn's) attach their handlers before the load event.
        browser.wait_for("document.readyState === 'complete'", "a loaded page")
        if browser.redirect is not None:
            break
        step = next((name for name, selector in _STEPS.items() if browser.page_has(selector)), None)
        execution = parse_qs(urlsplit(browser.location()).query).get("execution", [""])[0]
        if step is None or (step, execution) in seen:
            break
        seen.add((step, execution))
        steps.append(step)
        browser.mark_page()
        if step == "password":
            browser.fill_and_submit(LOGIN_FORM, {"username": username, "password": password})
        elif step == "one-time code":
            browser.fill_and_submit(ONE_TIME_CODE_FORM, {"otp": codes.next_code()})
        else:
            browser.click(_STEPS[step])
        if not browser.wait_for_next_page(CEREMONY_SECONDS):
            break
    else:
        raise BrowserError(f"the login did not end within {MAX_PAGES} pages ({', '.join(steps)})")
    if browser.redirect is not None:
        return BrowserLogin(browser.redirect, tuple(steps), "")
    page = str(browser.evaluate("document.body.innerText"))[:400]
    return BrowserLogin(None, tuple(steps), f"{page} (errors in the page: {browser.console_errors()[-3:]})")
