"""A local OpenAI-compatible server for tests: the HTTP plumbing, shared; each test module says what it answers.

class Echo(ChatHandler):
    def do_POST(self) -> None:
        body = self.read_json()
        self.send_json(completion(body["messages"][-1]["content"]))

with serve(Echo) as base_url:  # "http://127.0.0.1:PORT/v1"
    ...
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatHandler(BaseHTTPRequestHandler):
    """A request handler with JSON in and out, and no request log on stderr."""

    def read_json(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def send_json(self, payload: Any, status: int = 200) -> None:
        """Send ``payload`` (a JSON value, or a string sent as it is); a client that already left is ignored."""
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def log_message(self, *args: object) -> None:
        pass


def completion(content: str | None, tool_calls: list[dict] | None = None, **extra: Any) -> dict[str, Any]:
    """A ``chat.completion`` response with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": message}], **extra}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default listen backlog (5) drops connections a burst of requests opens


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free local port in a thread; yields the base URL (``http://127.0.0.1:PORT/v1``)."""
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
