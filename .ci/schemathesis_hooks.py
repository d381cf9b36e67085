"""Schemathesis hooks for .ci/schemathesis.sh: keep every import on 127.0.0.1.

Import File and Bulk Import make the server fetch the `url` they are given. Generated URLs
(`http://a`, `https://0x1f/`) would send the server's processor to resolve and connect to
arbitrary hosts, and CI may only talk to loopback. Just before each call, any `url` the server
would take as http(s) is swapped for one of the seeded loopback sources (the dictionary
`source-urls` of the config named by MM_SCHEMATHESIS_CONFIG), picked by a hash of the original
so runs stay reproducible. Values the server refuses anyway (not a string, not http) are left
alone, so its validation is still exercised.
"""

import os
import tomllib
import zlib

import schemathesis

with open(os.environ["MM_SCHEMATHESIS_CONFIG"], "rb") as f:
    SOURCES = tomllib.load(f)["dictionaries"]["source-urls"]["values"]


def fetchable(value):
    # The WHATWG parser drops ASCII tab and newlines anywhere and trims C0 controls and spaces,
    # and takes `http:host` as `http://host/`: judge the scheme the way it would.
    cleaned = "".join(c for c in value if c not in "\t\n\r").strip("".join(map(chr, range(0x21))))
    return cleaned.lower().startswith(("http:", "https:"))


def localize(request):
    if isinstance(request, dict):
        url = request.get("url")
        if isinstance(url, str) and fetchable(url) and url not in SOURCES:
            request["url"] = SOURCES[zlib.crc32(url.encode("utf-8", "replace")) % len(SOURCES)]


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if not isinstance(body, dict):
        return
    localize(body)
    items = body.get("importFileRequests")
    if isinstance(items, list):
        for item in items:
            localize(item)
