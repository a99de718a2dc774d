"""A lean HTTP/1.1 client for load mode: an asyncio.Protocol per connection on httptools' C parser
(the one uvicorn uses), a keep-alive pool per origin, and the interface the reader uses
(rollcall.http_stream: `request()` returning a response with status, reason, headers and
`content.readany()/at_eof()/total_bytes`, used with `async with`).

Why: under load aiohttp's request and response machinery is most of the client's CPU per stream
(bench/load_profile.py), and a load client that spends its cores on itself reads every server as
slower than it is. `WireClient` is an `HttpClient` (same caps, same deadlines, same errors) that
sends what it can itself and hands the rest to aiohttp: proxies from the environment, userinfo in
the URL, HEAD, URLs that need quoting, and everything when httptools is not installed.

What it keeps of the reader's contract:
- Failures are the ProbeErrors translate_client_error makes of aiohttp's (same kinds, same words):
  refused/reset/DNS/TLS are `connect`, the connect and first-byte caps `timeout`, a broken status
  line or body `bad_response`, a body cut short "connection closed/reset mid-stream after N bytes".
- Every chunk carries the time its bytes arrived (`content.at`, stamped in data_received, before
  any parsing), so the reader's clock does not include waiting for its task to run.
- A probe's answer is the response to its own request (as http_pool does for aiohttp): bytes
  arriving while no request is outstanding, or a second response to one request, mark the
  connection dirty and it is closed, never pooled; before reuse a pooled connection whose socket
  is readable (bytes or an EOF the loop has not seen) is closed.
- Retrying on a stale keep-alive connection follows RFC 9112 9.3.1 as aiohttp does: a request
  that got no byte of answer on a reused connection is sent once more on a new connection only
  when its method is idempotent (GET: model listings). A POST (every probe) is never resent: the
  server may have processed it before it closed, and a second generation would be counted twice.
"""

from .client import AVAILABLE, WireClient, make_client

__all__ = ["AVAILABLE", "WireClient", "make_client"]
