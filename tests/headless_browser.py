"""Opening a page in headless Chromium (Debian's `chromium`) through the DevTools protocol, with aiohttp's
websocket client: what a person would see (evaluated in the page), the console errors, every request the
page made, and a screenshot."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


@dataclass
class PageVisit:
    values: dict[str, object]
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""  # PNG


class _DevTools:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    async def call(self, method: str, session: str | None = None, **params: object) -> dict:
        message_id = next(self.ids)
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        await self.socket.send_str(json.dumps(message))
        while True:
            answer = json.loads((await self.socket.receive()).data)
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    async def wait_for(self, method: str) -> dict:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(json.loads((await self.socket.receive()).data))


async def visit(url: str, expressions: dict[str, str], profile: Path) -> PageVisit:
    """Open `url` on a phone-sized screen, evaluate each JavaScript expression, take a screenshot."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, *["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", "--disable-sync", "--no-first-run", "--mute-audio", "--disable-dev-shm-usage",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    drain: asyncio.Task | None = None
    try:
        endpoint = await _devtools_endpoint(process)
        drain = asyncio.create_task(process.stderr.read())  # a full pipe would stall the browser
        async with aiohttp.ClientSession() as http, http.ws_connect(endpoint, max_msg_size=0) as socket:
            tools = _DevTools(socket)
            target = await tools.call("Target.createTarget", url="about:blank")
            session = (await tools.call("Target.attachToTarget", targetId=target["targetId"],
                                        flatten=True))["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                await tools.call(f"{domain}.enable", session)
            await tools.call("Emulation.setDeviceMetricsOverride", session, **PHONE)
            await tools.call("Page.navigate", session, url=url)
            await tools.wait_for("Page.loadEventFired")
            values = {}
            for name, expression in expressions.items():
                result = await tools.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
                values[name] = result["result"].get("value")
            shot = await tools.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
            visit = PageVisit(values, screenshot=base64.b64decode(shot["data"]))
            for event in tools.events:
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    visit.console_errors.append(json.dumps(params.get("args")))
                elif method == "Runtime.exceptionThrown":
                    visit.console_errors.append(json.dumps(params.get("exceptionDetails")))
                elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                    visit.console_errors.append(params["entry"].get("text", ""))
                elif method == "Network.requestWillBeSent":
                    visit.requests.append(params["request"]["url"])
            await tools.call("Browser.close")
            return visit
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if drain is not None:
            await drain


async def _devtools_endpoint(process: asyncio.subprocess.Process) -> str:
    async for raw in process.stderr:
        line = raw.decode(errors="replace")
        if "DevTools listening on " in line:
            return line.split("DevTools listening on ", 1)[1].strip()
    raise RuntimeError("chromium did not start its DevTools endpoint")
