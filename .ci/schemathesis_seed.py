"""Seeds the local Media Manager with a little real data for the schemathesis run, and prints
the schemathesis.toml that makes generated requests name it some of the time.

Usage: schemathesis_seed.py BASE_URL

Without known ids nearly every call naming a file or folder ends in a 404, and the descriptors
of READY files (the `media` objects, sizes, URLs) would never be checked against the document.
Creates folders (one nested) and uploads a PNG, a plain-text document and an MP3-named blob
through the standard upload URL, waits until processing has settled each (READY or FAILED), and
prints the config to stdout. Deletes and restores get files and a folder of their own. Exits non-zero on failure.
"""

import json
import struct
import sys
import time
import urllib.parse
import urllib.request
import zlib

SETTLE_DEADLINE_SECS = 60
# How often a generated id is replaced by a seeded one: half, so unknown ids stay covered too.
PROBABILITY = 0.5


def png(width, height):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes((x * 7 + y * 3) % 256 for x in range(width * 3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def call(base, method, path, body=None, data=None, content_type="application/json"):
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def upload(base, name, mime, content, parent):
    api = base + "/site-media/v1"
    url = call(api, "POST", "/files/generate-upload-url",
               {"mimeType": mime, "fileName": name, "parentFolderId": parent})["uploadUrl"]
    sep = "&" if "?" in url else "?"
    put = f"{url}{sep}filename={urllib.parse.quote(name)}"
    return call("", "PUT", put, data=content, content_type=mime)["file"]["id"]


def settle(base, file_id):
    deadline = time.monotonic() + SETTLE_DEADLINE_SECS
    while time.monotonic() < deadline:
        q = urllib.parse.urlencode({"fileId": file_id})
        status = call(base + "/site-media/v1", "GET", f"/files/get-file-by-id?{q}")["file"]["operationStatus"]
        if status != "PENDING":
            return
        time.sleep(0.2)
    raise SystemExit(f"schemathesis seed: FAIL: {file_id} still PENDING after {SETTLE_DEADLINE_SECS} s")


def toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def main():
    base = sys.argv[1].rstrip("/")
    api = base + "/site-media/v1"
    outer = call(api, "POST", "/folders", {"displayName": "Seeded"})["folder"]["id"]
    inner = call(api, "POST", "/folders", {"displayName": "Nested", "parentFolderId": outer})["folder"]["id"]
    files = [
        upload(base, "seed.png", "image/png", png(32, 24), outer),
        upload(base, "seed.txt", "text/plain", b"schemathesis seed\n", inner),
        upload(base, "seed.mp3", "audio/mpeg", b"not really audio", "media-root"),
    ]
    # Bulk delete purges (`permanent`), and a purged folder takes its files along: deletes and
    # restores get their own files and folder, so the others stay readable for the whole run.
    doomed_folder = call(api, "POST", "/folders", {"displayName": "Doomed"})["folder"]["id"]
    doomed = [
        upload(base, "doomed.png", "image/png", png(8, 8), doomed_folder),
        upload(base, "doomed.txt", "text/plain", b"to be deleted\n", "media-root"),
    ]
    for f in files + doomed:
        settle(base, f)
    folders = [outer, inner, "media-root", "trash-root"]
    # Imports fetch their URL: every generated one is replaced by a loopback URL of this server
    # (its own public media, and one that answers 404), so the run never leaves 127.0.0.1.
    sources = [f"{base}/media/{f}" for f in files] + [f"{base}/media/no-such-file"]
    file_bind = f'{{ dictionary = "file-ids", probability = {PROBABILITY} }}'
    folder_bind = f'{{ dictionary = "folder-ids", probability = {PROBABILITY} }}'
    lines = [
        "[dictionaries]",
        f"file-ids = {{ values = {toml_list(files)} }}",
        f"folder-ids = {{ values = {toml_list(folders)} }}",
        f"source-urls = {{ values = {toml_list(sources)} }}",
        f"doomed-file-ids = {{ values = {toml_list(doomed)} }}",
        f'doomed-folder-ids = {{ values = ["{doomed_folder}"] }}',
        "",
        "[parameters]",
    ]
    for key in ["path.fileId", "query.fileId", "body.fileId", "body.fileIds[*]", "body.file.id"]:
        lines.append(f'"{key}" = {file_bind}')
    for key in ["path.folderId", "query.parentFolderId", "body.parentFolderId", "body.folderIds[*]",
                "body.file.parentFolderId", "body.folder.parentFolderId"]:
        lines.append(f'"{key}" = {folder_bind}')
    for key in ["body.url", "body.importFileRequests[*].url"]:
        lines.append(f'"{key}" = {{ dictionary = "source-urls", probability = 1.0 }}')
    lines += [
        "",
        "[[operations]]",
        'include-operation-id-regex = "^bulk(Delete|Restore)"',
        "[operations.parameters]",
        f'"body.fileIds[*]" = {{ dictionary = "doomed-file-ids", probability = {PROBABILITY} }}',
        f'"body.folderIds[*]" = {{ dictionary = "doomed-folder-ids", probability = {PROBABILITY} }}',
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
