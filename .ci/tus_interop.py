"""Drives the local Media Manager's resumable upload with a third-party tus client (tuspy).

Usage: tus_interop.py BASE_URL

Generates a resumable upload URL, uploads a ~3 MB PNG of random pixels through tuspy in small
chunks (so several PATCHes happen), finalizes with the PUT, checks the descriptor's size and
md5, then polls the file until processing has made it READY. Prints PASS or FAIL; exits
non-zero on failure.
"""

import hashlib
import json
import os
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

from tusclient import client

CHUNK_SIZE = 256 * 1024
WIDTH, HEIGHT = 1024, 1000
READY_DEADLINE_SECS = 60


def png_of_noise(width, height):
    """A PNG of random pixels: valid for processing, incompressible, about 3 MB."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        raise AssertionError(f"{method} {url.split('?')[0]} answered {e.code}: {e.read()[:500]!r}")


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def run(base):
    data = png_of_noise(WIDTH, HEIGHT)
    md5 = hashlib.md5(data).hexdigest()
    api = f"{base}/site-media/v1"
    generated = call(
        "POST",
        f"{api}/files/generate-resumable-upload-url",
        {"mimeType": "image/png", "fileName": "interop.png", "uploadProtocol": "TUS"},
    )
    check(generated.get("uploadProtocol") == "TUS", f"uploadProtocol: {generated}")
    upload_url, token = generated["uploadUrl"], generated["uploadToken"]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "interop.png")
        with open(path, "wb") as f:
            f.write(data)
        metadata = {"filename": "interop.png", "contentType": "image/png", "token": token}
        first = client.TusClient(upload_url).uploader(
            file_path=path, chunk_size=CHUNK_SIZE, metadata=metadata
        )
        half = len(data) // 2
        first.upload(stop_at=half)
        check(first.offset >= half, f"first half stopped at {first.offset}")
        # A second client resumes from the server's offset (HEAD), as after a crash.
        resumed = client.TusClient(upload_url).uploader(
            file_path=path, chunk_size=CHUNK_SIZE, url=first.url
        )
        check(resumed.offset == first.offset, f"HEAD offset {resumed.offset} != {first.offset}")
        resumed.upload()
        check(resumed.get_offset() == len(data), "HEAD offset differs from the file size")
    patches = -(-len(data) // CHUNK_SIZE)
    print(f"tuspy uploaded {len(data)} bytes in about {patches} PATCH requests, resumed once")

    finalized = call("PUT", f"{upload_url}/{token}?filename=interop.png", {})
    file = finalized["file"]
    check(file.get("sizeInBytes") == str(len(data)), f"sizeInBytes: {file.get('sizeInBytes')}")
    check(file.get("hash") == md5, f"hash {file.get('hash')} != md5 {md5}")
    check(file.get("displayName") == "interop.png", f"displayName: {file.get('displayName')}")

    deadline = time.monotonic() + READY_DEADLINE_SECS
    while True:
        file = call("GET", f"{api}/files/get-file-by-id?fileId={urllib.parse.quote(file['id'])}")["file"]
        if file.get("operationStatus") != "PENDING":
            break
        check(time.monotonic() < deadline, "file still PENDING after the deadline")
        time.sleep(0.2)
    check(file.get("operationStatus") == "READY", f"processing ended {file.get('operationStatus')}")
    check(file.get("hash") == md5, "hash changed during processing")
    image = file.get("media", {}).get("image", {}).get("image", {})
    check(
        (image.get("width"), image.get("height")) == (WIDTH, HEIGHT),
        f"image dimensions: {image}",
    )


def main():
    if len(sys.argv) != 2:
        print("usage: tus_interop.py BASE_URL", file=sys.stderr)
        return 2
    try:
        run(sys.argv[1].rstrip("/"))
    except Exception as e:  # any failure, ours or the client's, is a FAIL with its reason
        print(f"tus interop: FAIL: {type(e).__name__}: {e}")
        return 1
    print("tus interop: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
