'use strict';
// Official-SDK conformance of the local Media Manager.
//
// Wix's own generated packages (@wix/auto_sdk_media_files, @wix/auto_sdk_media_folders), run by
// Wix's own client (@wix/sdk createClient + ApiKeyStrategy), call every endpoint the local server
// serves: the packages build each request (method, path, query, body, SDK→REST renames) and read
// each answer (REST→SDK renames, timestamps to Date, media objects to wix:image://… strings,
// audio assets, error bodies to SDK errors). This script only starts the server, serves source
// files, sends the upload bytes (PUT and tus, which the SDK leaves to the caller) and asserts.
//
// How the client is pointed at the server: createClient's documented `fetch` option. The
// packages resolve their paths for the default host www.wixapis.com (`/site-media/v1/...`; any
// other host maps to Wix-internal paths), so the client keeps that host and the fetch given to
// it sends each request to the local server instead, unchanged otherwise (headers, body,
// method). A request for any other address fails the check: nothing reaches the network.
//
// Usage: node suite.js --bin PATH/TO/media-migrate --sdk DIR   (DIR holds node_modules with the
// packages pinned in package-lock.json; see ../sdk-conformance.sh). Prints one line per check
// and a closing "N passed, M failed"; exits 1 when any check failed.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const { createRequire } = require('node:module');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

// ---------------------------------------------------------------------------------------------
// Arguments and the pinned packages

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) {
      throw new Error(`usage: node suite.js --bin PATH/TO/media-migrate --sdk DIR (at ${key})`);
    }
    args[key.slice(2)] = value;
  }
  if (!args.bin || !args.sdk) {
    throw new Error('usage: node suite.js --bin PATH/TO/media-migrate --sdk DIR');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const sdkRequire = createRequire(path.join(path.resolve(args.sdk), 'package.json'));
const { createClient, ApiKeyStrategy } = sdkRequire('@wix/sdk');
const files = sdkRequire('@wix/auto_sdk_media_files');
const folders = sdkRequire('@wix/auto_sdk_media_folders');

const WIX_API = 'https://www.wixapis.com';
const SITE_ID = 'sdk-conformance-site';
const API_KEY = `sdk-${crypto.randomBytes(16).toString('hex')}`;
const READY_DEADLINE_MS = 60_000;
const CHECK_TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------------
// Real minimal media files

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A 3×2 RGB PNG (signature, IHDR, one zlib IDAT, IEND, with their CRCs). */
function pngFile(width, height) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(Buffer.from([0])); // filter: none
    for (let x = 0; x < width; x++) rows.push(Buffer.from([x * 80, y * 120, 200]));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Eight MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, joint stereo) of silence. */
function mp3File() {
  const frameLength = Math.floor((144 * 128000) / 44100); // 417 bytes, no padding
  const frame = Buffer.alloc(frameLength); // zero side info and main data: decodes as silence
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat(Array(8).fill(frame));
}

/** A one-page PDF with a correct cross-reference table. */
function pdfFile() {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** An ISO BMFF (MP4) file: `ftyp` (isom) and a `moov` with a version-0 `mvhd`, no tracks. */
function mp4File() {
  const box = (type, payload) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + payload.length);
    head.write(type, 4, 'ascii');
    return Buffer.concat([head, payload]);
  };
  const ftyp = box('ftyp', Buffer.concat([
    Buffer.from('isom', 'ascii'), Buffer.from([0, 0, 2, 0]), Buffer.from('isommp41', 'ascii'),
  ]));
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1000, 12); // timescale (version/flags, creation, modification before it)
  mvhd.writeUInt32BE(0, 16); // duration
  mvhd.writeUInt32BE(0x00010000, 20); // rate 1.0
  mvhd.writeUInt16BE(0x0100, 24); // volume 1.0
  [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000]
    .forEach((v, i) => mvhd.writeUInt32BE(v, 36 + i * 4)); // unity matrix
  mvhd.writeUInt32BE(1, 96); // next track id
  return Buffer.concat([ftyp, box('moov', box('mvhd', mvhd))]);
}

const PNG = pngFile(3, 2);
const PNG_TUS = pngFile(40, 30);
const MP3 = mp3File();
const PDF = pdfFile();
const MP4 = mp4File();

// ---------------------------------------------------------------------------------------------
// Processes and servers this script owns

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-conformance-'));
let server = null;
let serverLog = '';
let sources = null;

function cleanup() {
  if (server && server.exitCode === null) server.kill('SIGTERM');
  if (sources) sources.close();
  fs.rmSync(work, { recursive: true, force: true });
}

/** A tiny HTTP server of the source files imports fetch. */
function startSources() {
  const served = {
    '/src/pixel.png': ['image/png', PNG],
    '/src/guarded.png': ['image/png', PNG],
    '/src/tone.mp3': ['audio/mpeg', MP3],
    '/src/paper.pdf': ['application/pdf', PDF],
    '/src/clip.mp4': ['video/mp4', MP4],
  };
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://x');
      // The guarded source answers only with the import's urlHeaders and urlParams.
      if (url.pathname === '/src/guarded.png'
        && (req.headers['x-sdk-token'] !== 'header-secret' || url.searchParams.get('sig') !== 'param-secret')) {
        res.writeHead(403).end();
        return;
      }
      const entry = served[url.pathname];
      if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': entry[0], 'Content-Length': entry[1].length });
      res.end(req.method === 'HEAD' ? undefined : entry[1]);
    });
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

/** Starts `media-migrate serve` on a free port; resolves with its base URL once it answers. */
async function startServer() {
  const child = spawn(args.bin, [
    'serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(work, 'data'),
    '--site-id', SITE_ID,
  ], {
    // The key from the environment, so it doesn't show in `ps`.
    env: { ...process.env, MEDIA_MANAGER_API_KEY: API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  child.stdout.on('data', (d) => { serverLog += d; });
  child.stderr.on('data', (d) => { serverLog += d; });
  const deadline = Date.now() + 30_000;
  let base = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before listening`);
    base = base ?? serverLog.match(/local Media Manager on (http:\/\/127\.0\.0\.1:\d+)/)?.[1];
    if (base) {
      try {
        const res = await fetch(`${base}/openapi.json`);
        await res.arrayBuffer();
        if (res.ok) return base;
      } catch { /* not accepting yet */ }
    }
    await sleep(50);
  }
  throw new Error('the server did not answer within 30 s');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The official client, pointed at the local server

let lastRequest = '';

function sdkClient(base, apiKey = API_KEY) {
  return createClient({
    modules: { files, folders },
    auth: ApiKeyStrategy({ apiKey, siteId: SITE_ID }),
    // The packages' request, sent to the local server instead of www.wixapis.com.
    fetch: (url, init) => {
      const target = String(url);
      if (!target.startsWith(`${WIX_API}/`)) {
        throw new Error(`the SDK asked for ${target}, not an address of the Wix API`);
      }
      const local = base + target.slice(WIX_API.length);
      lastRequest = `${init?.method ?? 'GET'} ${local.slice(base.length)}`;
      return fetch(local, init);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Checks

const checks = [];
const check = (name, fn) => checks.push({ name, fn });
const ctx = {};

/** A value an earlier check was to provide, or a failure naming that check. */
function need(key) {
  if (ctx[key] === undefined) throw new Error(`needs ${key}, which an earlier check did not provide`);
  return ctx[key];
}

/** The SDK error a call must reject with; returns it for more assertions. */
async function rejects(promise, what) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new assert.AssertionError({ message: `${what}: the call succeeded, an error was expected` });
}

/** Field violations as the SDK reports them (with REST field names renamed to its arguments). */
function violations(err) {
  return (err.details?.validationError?.fieldViolations ?? []).map((v) => v.field);
}

function assertValidationError(err, field) {
  assert.equal(err.status, 400, `status ${err.status}: ${err.message}`);
  const fields = violations(err);
  assert.ok(fields.some((f) => f === field || f.includes(field)),
    `expected a fieldViolation on ${field}, the SDK read ${JSON.stringify(fields)} (${err.message})`);
}

function assertDate(value, what) {
  assert.ok(value instanceof Date && !Number.isNaN(value.getTime()),
    `${what} is not a valid Date after the SDK's transformation: ${value}`);
}

function assertFolder(folder, { displayName, parentFolderId }) {
  assert.match(folder._id ?? '', /\S/, 'folder._id');
  if (displayName !== undefined) assert.equal(folder.displayName, displayName);
  if (parentFolderId !== undefined) assert.equal(folder.parentFolderId, parentFolderId);
  assert.equal(folder.state, 'OK');
  assertDate(folder._createdDate, 'folder._createdDate');
  assertDate(folder._updatedDate, 'folder._updatedDate');
}

/** Polls Get File Descriptors (the SDK) until every file is READY; throws on FAILED or timeout. */
async function waitReady(client, ids) {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let last = [];
  while (Date.now() < deadline) {
    const { files: got } = await client.files.getFileDescriptors(ids);
    last = got;
    const failed = got.filter((f) => f.operationStatus === 'FAILED');
    assert.equal(failed.length, 0, `FAILED: ${failed.map((f) => f.displayName).join(', ')}`);
    if (got.length === ids.length && got.every((f) => f.operationStatus === 'READY')) {
      return new Map(got.map((f) => [f._id, f]));
    }
    await sleep(100);
  }
  throw new Error(`not READY within ${READY_DEADLINE_MS / 1000} s: ${
    last.map((f) => `${f.displayName}=${f.operationStatus}`).join(', ')}`);
}

async function getBytes(url, init) {
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `GET ${url} answered ${res.status}: ${body.subarray(0, 300)}`);
  return { res, body };
}

/** Entries in a zip: its central-directory headers (PK\1\2). */
function zipEntries(buf) {
  assert.ok(buf.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')), 'not a zip archive');
  let n = 0;
  for (let i = buf.indexOf('PK\x01\x02', 0, 'latin1'); i !== -1;
    i = buf.indexOf('PK\x01\x02', i + 4, 'latin1')) n++;
  return n;
}

const ids = (list) => list.map((f) => f._id);

// Whether a listing's page says another follows. The public contract's PagingMetadataV2 has only
// `cursors.next` for that (its `hasNext` is @internal), as the SDK's own iterators read it.
function assertMorePages(nextCursor, more, what = 'nextCursor') {
  const next = nextCursor?.cursors?.next;
  if (more) {
    assert.match(next ?? '', /\S/, `${what}.cursors.next: another page follows`);
  } else {
    assert.ok(!next, `${what}.cursors.next is ${JSON.stringify(next)} on the last page`);
  }
}

// ---- folders --------------------------------------------------------------------------------

check('folders.createFolder: a folder at the root', async (c) => {
  const { folder } = await c.folders.createFolder('sdk-conformance-a');
  assertFolder(folder, { displayName: 'sdk-conformance-a', parentFolderId: 'media-root' });
  ctx.folderA = folder._id;
});

check('folders.createFolder: nested, with parentFolderId', async (c) => {
  const { folder } = await c.folders.createFolder('sdk-conformance-child', {
    parentFolderId: need('folderA'),
  });
  assertFolder(folder, { displayName: 'sdk-conformance-child', parentFolderId: ctx.folderA });
  ctx.folderChild = folder._id;
  const { folder: b } = await c.folders.createFolder('sdk-conformance-b');
  assertFolder(b, { displayName: 'sdk-conformance-b', parentFolderId: 'media-root' });
  ctx.folderB = b._id;
});

check('folders: Folder.siteId is present (the typings mark it non-nullable)', async (c) => {
  const folder = await c.folders.getFolder(need('folderA'));
  assert.equal(typeof folder.siteId, 'string', `folder.siteId is ${folder.siteId}`);
  assert.equal(folder.siteId, SITE_ID);
});

check('folders.getFolder', async (c) => {
  const folder = await c.folders.getFolder(need('folderChild'));
  assertFolder(folder, { displayName: 'sdk-conformance-child', parentFolderId: ctx.folderA });
  assert.equal(folder._id, ctx.folderChild);
});

check('folders.listFolders: the children of one folder', async (c) => {
  const res = await c.folders.listFolders({ parentFolderId: need('folderA') });
  assert.deepEqual(ids(res.folders), [ctx.folderChild]);
  assertMorePages(res.nextCursor, false);
});

check('folders.listFolders: cursor paging and sort', async (c) => {
  need('folderB');
  const first = await c.folders.listFolders({
    sort: { fieldName: 'displayName', order: 'ASC' }, paging: { limit: 1 },
  });
  assert.equal(first.folders.length, 1);
  assert.equal(first.folders[0].displayName, 'sdk-conformance-a');
  assertMorePages(first.nextCursor, true);
  const second = await c.folders.listFolders({
    sort: { fieldName: 'displayName', order: 'ASC' },
    paging: { limit: 1, cursor: first.nextCursor.cursors.next },
  });
  assert.deepEqual(second.folders.map((f) => f.displayName), ['sdk-conformance-b']);
});

check('folders.searchFolders: every level under MEDIA_ROOT', async (c) => {
  const res = await c.folders.searchFolders({ search: 'sdk-conformance-child' });
  assert.deepEqual(ids(res.folders), [need('folderChild')]);
  const all = await c.folders.searchFolders({ rootFolder: 'MEDIA_ROOT', paging: { limit: 100 } });
  for (const id of [ctx.folderA, ctx.folderB, ctx.folderChild]) {
    assert.ok(ids(all.folders).includes(id), `search without a term misses ${id}`);
  }
});

check('folders.updateFolder: rename and move', async (c) => {
  const updated = await c.folders.updateFolder(need('folderChild'), {
    displayName: 'sdk-conformance-moved', parentFolderId: need('folderB'),
  });
  assertFolder(updated, { displayName: 'sdk-conformance-moved', parentFolderId: ctx.folderB });
  const read = await c.folders.getFolder(ctx.folderChild);
  assert.equal(read.displayName, 'sdk-conformance-moved');
  assert.equal(read.parentFolderId, ctx.folderB);
});

check('folders.queryFolders: query builder (eq, ascending, limit, next page)', async (c) => {
  need('folderChild');
  const page = await c.folders.queryFolders().eq('state', 'OK').ascending('displayName')
    .limit(1).find();
  assert.equal(page.items.length, 1);
  assert.equal(page.items[0].displayName, 'sdk-conformance-a');
  assertFolder(page.items[0], {});
  assert.equal(page.hasNext(), true, 'hasNext() after the first of three folders');
  const next = await page.next();
  assert.deepEqual(next.items.map((f) => f.displayName), ['sdk-conformance-b']);
});

check('folders.queryFolders: typed query (filter, sort, cursorPaging)', async (c) => {
  need('folderChild');
  const res = await c.folders.queryFolders({
    filter: { state: 'OK' },
    sort: [{ fieldName: 'displayName', order: 'DESC' }],
    cursorPaging: { limit: 50 },
  });
  assert.deepEqual(res.folders.map((f) => f.displayName),
    ['sdk-conformance-moved', 'sdk-conformance-b', 'sdk-conformance-a']);
});

// ---- imports --------------------------------------------------------------------------------

function assertAccepted(file, { displayName, parentFolderId }) {
  assert.match(file._id ?? '', /\S/, 'file._id');
  assert.ok(['PENDING', 'READY'].includes(file.operationStatus),
    `operationStatus ${file.operationStatus}`);
  if (displayName !== undefined) assert.equal(file.displayName, displayName);
  if (parentFolderId !== undefined) assert.equal(file.parentFolderId, parentFolderId);
}

check('files.importFile: a PNG by URL, into a folder, with labels', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/pixel.png`, {
    mimeType: 'image/png', displayName: 'pixel.png', parentFolderId: need('folderA'),
    labels: ['sdk', 'conformance'],
    externalInfo: { origin: 'sdk-conformance', externalIds: ['source-1'] },
  });
  assertAccepted(file, { displayName: 'pixel.png', parentFolderId: ctx.folderA });
  ctx.png = file._id;
});

check('files.importFile: an MP3, with filePath creating its folders', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/tone.mp3`, {
    mimeType: 'audio/mpeg', displayName: 'tone.mp3', filePath: '/sdk-conformance/audio',
  });
  assertAccepted(file, { displayName: 'tone.mp3' });
  assert.notEqual(file.parentFolderId, 'media-root', 'filePath was not applied');
  const parent = await c.folders.getFolder(file.parentFolderId);
  assert.equal(parent.displayName, 'audio');
  const grandparent = await c.folders.getFolder(parent.parentFolderId);
  assert.equal(grandparent.displayName, 'sdk-conformance');
  assert.equal(grandparent.parentFolderId, 'media-root');
  ctx.mp3 = file._id;
});

check('files.importFile: a PDF, its type told only by the URL\'s extension', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/paper.pdf`, {
    displayName: 'paper.pdf', parentFolderId: need('folderA'),
  });
  assertAccepted(file, { displayName: 'paper.pdf', parentFolderId: ctx.folderA });
  ctx.pdf = file._id;
});

check('files.importFile: an MP4, with mediaType VIDEO', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/clip.mp4`, {
    mediaType: 'VIDEO', mimeType: 'video/mp4', displayName: 'clip.mp4',
  });
  assertAccepted(file, { displayName: 'clip.mp4', parentFolderId: 'media-root' });
  ctx.mp4 = file._id;
});

check('files.importFile: urlHeaders and urlParams reach the source', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/guarded.png`, {
    displayName: 'guarded.png', urlHeaders: { 'x-sdk-token': 'header-secret' },
    urlParams: { sig: 'param-secret' },
  });
  assertAccepted(file, { displayName: 'guarded.png' });
  ctx.guarded = file._id;
});

check('files.importFile: a private file', async (c) => {
  const { file } = await c.files.importFile(`${need('src')}/src/pixel.png`, {
    displayName: 'private.png', private: true,
  });
  assertAccepted(file, { displayName: 'private.png' });
  assert.equal(file.private, true);
  ctx.private = file._id;
});

check('files.bulkImportFile: per-item results (returnEntity default true)', async (c) => {
  const res = await c.files.bulkImportFile([
    { url: `${need('src')}/src/pixel.png`, displayName: 'bulk-1.png', mimeType: 'image/png' },
    { url: `${ctx.src}/src/paper.pdf`, displayName: 'bulk-2.pdf', parentFolderId: need('folderA') },
  ]);
  assert.equal(res.results.length, 2);
  const byIndex = [...res.results].sort((a, b) => a.itemMetadata.originalIndex - b.itemMetadata.originalIndex);
  byIndex.forEach((r, i) => {
    assert.equal(r.itemMetadata.originalIndex, i);
    assert.equal(r.itemMetadata.success, true, JSON.stringify(r.itemMetadata.error));
    assert.match(r.itemMetadata._id ?? '', /\S/, 'itemMetadata._id');
    assert.equal(r.item?._id, r.itemMetadata._id, 'item is returned, with the same id');
  });
  assert.equal(byIndex[0].item.displayName, 'bulk-1.png');
  assert.equal(byIndex[1].item.parentFolderId, ctx.folderA);
  assert.equal(res.bulkActionMetadata.totalSuccesses, 2);
  assert.equal(res.bulkActionMetadata.totalFailures, 0);
  ctx.bulk1 = byIndex[0].item._id;
  ctx.bulk2 = byIndex[1].item._id;
});

check('files.bulkImportFile: returnEntity false leaves item out', async (c) => {
  const res = await c.files.bulkImportFile(
    [{ url: `${need('src')}/src/tone.mp3`, displayName: 'bulk-3.mp3' }],
    { returnEntity: false },
  );
  assert.equal(res.results.length, 1);
  const [r] = res.results;
  assert.equal(r.itemMetadata.success, true);
  assert.match(r.itemMetadata._id ?? '', /\S/, 'itemMetadata._id');
  assert.equal(r.item, undefined, 'item returned although returnEntity was false');
  ctx.bulk3 = r.itemMetadata._id;
});

check('files.bulkImportFiles (deprecated): files in request order', async (c) => {
  const res = await c.files.bulkImportFiles([
    { url: `${need('src')}/src/pixel.png`, displayName: 'old-bulk.png' },
    { url: `${ctx.src}/src/paper.pdf`, displayName: 'old-bulk.pdf' },
  ]);
  assert.deepEqual(res.files.map((f) => f.displayName), ['old-bulk.png', 'old-bulk.pdf']);
  res.files.forEach((f) => assertAccepted(f, {}));
  ctx.oldBulkPng = res.files[0]._id;
  ctx.oldBulkPdf = res.files[1]._id;
});

check('files.getFileDescriptors: polled until every import is READY', async (c) => {
  const all = ['png', 'mp3', 'pdf', 'mp4', 'guarded', 'private', 'bulk1', 'bulk2', 'bulk3',
    'oldBulkPng', 'oldBulkPdf'].map(need);
  ctx.ready = await waitReady(c, all);
});

// ---- what the SDK reads from READY descriptors ---------------------------------------------

check('descriptor: image, as the SDK reads it (wix:image:// with its size)', async () => {
  const f = need('ready').get(need('png'));
  assert.equal(f.mediaType, 'IMAGE');
  assert.equal(f.media?.image?.image,
    `wix:image://v1/${f._id}/pixel.png#originWidth=3&originHeight=2`);
  assert.equal(f.sizeInBytes, String(PNG.length), 'sizeInBytes (an int64 string)');
  assert.match(f.hash ?? '', /\S/, 'hash');
  assert.equal(f.private, false);
  assert.equal(f.state, 'OK');
  assert.deepEqual(f.labels, ['sdk', 'conformance']);
  assert.equal(f.siteId, SITE_ID);
  assertDate(f._createdDate, 'file._createdDate');
  assertDate(f._updatedDate, 'file._updatedDate');
  const { body } = await getBytes(f.url);
  assert.ok(body.equals(PNG), 'file.url does not serve the imported bytes');
});

check('descriptor: audio, media.audio.assets read as Audio objects', async () => {
  const f = need('ready').get(need('mp3'));
  assert.equal(f.mediaType, 'AUDIO');
  const audio = f.media?.audio;
  assert.ok(audio, 'media.audio is missing');
  assert.equal(audio._id, f._id, 'media.audio._id');
  assert.ok(Array.isArray(audio.assets) && audio.assets.length > 0, 'media.audio.assets is empty');
  for (const asset of audio.assets) {
    // transformRESTAudioToSDKAudio turns an Audio object into wix:audio://v1/<id>/<name>; a
    // string asset (the old, wrong shape) would come out as the string "undefined".
    assert.match(String(asset), /^wix:audio:\/\/v1\/[^/#]+\/tone\.mp3#duration=/,
      `an asset the SDK could not read as an Audio object: ${asset}`);
  }
  assert.equal(f.sizeInBytes, String(MP3.length));
});

check('descriptor: document, as the SDK reads it (wix:document://)', async () => {
  const f = need('ready').get(need('pdf'));
  assert.equal(f.mediaType, 'DOCUMENT');
  assert.match(f.media?.document ?? '', new RegExp(`^wix:document://v1/${reEscape(f._id)}`));
  const bulk = ctx.ready.get(need('bulk2'));
  assert.equal(bulk.mediaType, 'DOCUMENT');
});

check('descriptor: video, as the SDK reads it (wix:video://)', async () => {
  const f = need('ready').get(need('mp4'));
  assert.equal(f.mediaType, 'VIDEO');
  assert.match(f.media?.video ?? '', new RegExp(`^wix:video://v1/${reEscape(f._id)}`));
});

function reEscape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

check('files.getFileDescriptor', async (c) => {
  const f = await c.files.getFileDescriptor(need('png'));
  assert.equal(f._id, ctx.png);
  assert.equal(f.operationStatus, 'READY');
  assert.equal(f.parentFolderId, need('folderA'));
  assert.match(f.media?.image?.image ?? '', /^wix:image:\/\//);
  assertDate(f._createdDate, 'file._createdDate');
});

check('files.getFileDescriptor: by Wix media URL (the SDK\'s own image string)', async (c) => {
  const f = await c.files.getFileDescriptor(need('png'));
  const again = await c.files.getFileDescriptor(f.media.image.image);
  assert.equal(again._id, f._id);
});

// ---- listing, search, query -----------------------------------------------------------------

check('files.listFiles: one folder, mediaTypes, sort', async (c) => {
  const res = await c.files.listFiles({
    parentFolderId: need('folderA'), mediaTypes: ['IMAGE', 'DOCUMENT'],
    sort: { fieldName: 'displayName', order: 'ASC' },
  });
  assert.deepEqual(res.files.map((f) => f.displayName), ['bulk-2.pdf', 'paper.pdf', 'pixel.png']);
  assertMorePages(res.nextCursor, false);
  const images = await c.files.listFiles({ parentFolderId: ctx.folderA, mediaTypes: ['IMAGE'] });
  assert.deepEqual(ids(images.files), [ctx.png]);
});

check('files.listFiles: cursor paging', async (c) => {
  const first = await c.files.listFiles({
    parentFolderId: need('folderA'), sort: { fieldName: 'displayName', order: 'DESC' },
    paging: { limit: 2 },
  });
  assert.deepEqual(first.files.map((f) => f.displayName), ['pixel.png', 'paper.pdf']);
  assertMorePages(first.nextCursor, true);
  const second = await c.files.listFiles({
    parentFolderId: ctx.folderA, sort: { fieldName: 'displayName', order: 'DESC' },
    paging: { limit: 2, cursor: first.nextCursor.cursors.next },
  });
  assert.deepEqual(second.files.map((f) => f.displayName), ['bulk-2.pdf']);
  assertMorePages(second.nextCursor, false);
});

check('files.searchFiles: a term, every level; mediaTypes', async (c) => {
  const res = await c.files.searchFiles({ search: 'tone' });
  assert.deepEqual(ids(res.files), [need('mp3')]);
  const audio = await c.files.searchFiles({ mediaTypes: ['AUDIO'], paging: { limit: 100 } });
  assert.deepEqual(ids(audio.files).sort(), [ctx.mp3, need('bulk3')].sort());
  audio.files.forEach((f) => assert.match(String(f.media?.audio?.assets?.[0]), /^wix:audio:/));
});

check('files.queryFileDescriptors: query builder (eq, find)', async (c) => {
  need('ready');
  const page = await c.files.queryFileDescriptors().eq('mediaType', 'AUDIO').find();
  assert.deepEqual(page.items.map((f) => f._id).sort(), [need('mp3'), need('bulk3')].sort());
  page.items.forEach((f) => assert.match(String(f.media?.audio?.assets?.[0]), /^wix:audio:/));
});

check('files.queryFileDescriptors: query builder (in, descending _updatedDate, limit, next)', async (c) => {
  need('ready');
  const page = await c.files.queryFileDescriptors().in('mediaType', ['IMAGE', 'DOCUMENT'])
    .descending('_updatedDate').limit(2).find();
  assert.equal(page.items.length, 2);
  assert.equal(page.hasNext(), true);
  page.items.forEach((f) => assert.ok(['IMAGE', 'DOCUMENT'].includes(f.mediaType)));
  const next = await page.next();
  assert.ok(next.items.length > 0, 'the next page is empty');
  const seen = new Set(page.items.map((f) => f._id));
  next.items.forEach((f) => assert.ok(!seen.has(f._id), `${f._id} on both pages`));
});

check('files.queryFileDescriptors: typed query (filter, sort by sizeInBytes)', async (c) => {
  need('ready');
  const res = await c.files.queryFileDescriptors({
    filter: { private: false, state: 'OK', mediaType: { $in: ['IMAGE', 'AUDIO'] } },
    sort: [{ fieldName: 'sizeInBytes', order: 'ASC' }],
    cursorPaging: { limit: 100 },
  });
  const sizes = res.files.map((f) => Number(f.sizeInBytes));
  assert.ok(res.files.length >= 4, `${res.files.length} files`);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b), 'not sorted by sizeInBytes');
  res.files.forEach((f) => assert.ok(['IMAGE', 'AUDIO'].includes(f.mediaType)));
});

// ---- updates ---------------------------------------------------------------------------------

check('files.updateFileDescriptor: displayName and labels', async (c) => {
  const f = await c.files.updateFileDescriptor({
    _id: need('png'), displayName: 'pixel-renamed.png', labels: ['sdk', 'renamed'],
  });
  assert.equal(f._id, ctx.png);
  assert.equal(f.displayName, 'pixel-renamed.png');
  assert.deepEqual(f.labels, ['sdk', 'renamed']);
  const read = await c.files.getFileDescriptor(ctx.png);
  assert.equal(read.displayName, 'pixel-renamed.png');
});

check('files.updateFileDescriptor: parentFolderId moves the file', async (c) => {
  const f = await c.files.updateFileDescriptor({ _id: need('pdf'), parentFolderId: need('folderB') });
  assert.equal(f.parentFolderId, ctx.folderB);
  const listed = await c.files.listFiles({ parentFolderId: ctx.folderB });
  assert.deepEqual(ids(listed.files), [ctx.pdf]);
});

check('files.updateFileDescriptor: a whole descriptor read back (read-only fields ignored)', async (c) => {
  const read = await c.files.getFileDescriptor(need('mp4'));
  const f = await c.files.updateFileDescriptor({ ...read, displayName: 'clip-renamed.mp4' });
  assert.equal(f.displayName, 'clip-renamed.mp4');
  assert.equal(f.mediaType, 'VIDEO');
  assert.equal(f.sizeInBytes, read.sizeInBytes);
});

// ---- uploads ---------------------------------------------------------------------------------

check('files.generateFileUploadUrl + PUT upload', async (c) => {
  const { uploadUrl } = await c.files.generateFileUploadUrl('application/pdf', {
    fileName: 'uploaded.pdf', parentFolderId: need('folderA'), labels: ['uploaded'],
    sizeInBytes: String(PDF.length),
  });
  assert.match(uploadUrl, /^http:\/\/127\.0\.0\.1:\d+\//, `uploadUrl ${uploadUrl}`);
  const put = new URL(uploadUrl);
  put.searchParams.set('filename', 'uploaded.pdf');
  const res = await fetch(put, { method: 'PUT', body: PDF, headers: { 'Content-Type': 'application/pdf' } });
  const text = await res.text();
  assert.equal(res.status, 200, `PUT answered ${res.status}: ${text.slice(0, 300)}`);
  const { file } = JSON.parse(text);
  assert.match(file?.id ?? '', /\S/, `the PUT's answer has no file.id: ${text.slice(0, 300)}`);
  const f = (await waitReady(c, [file.id])).get(file.id);
  assert.equal(f.mediaType, 'DOCUMENT');
  assert.equal(f.displayName, 'uploaded.pdf');
  assert.equal(f.parentFolderId, ctx.folderA);
  assert.equal(f.sizeInBytes, String(PDF.length));
  assert.deepEqual(f.labels, ['uploaded']);
  ctx.uploaded = file.id;
});

check('files.generateFileResumableUploadUrl', async (c) => {
  const res = await c.files.generateFileResumableUploadUrl('image/png', {
    fileName: 'resumable.png', uploadProtocol: 'TUS', sizeInBytes: String(PNG_TUS.length),
    parentFolderId: need('folderB'),
  });
  assert.equal(res.uploadProtocol, 'TUS');
  assert.match(res.uploadUrl, /^http:\/\/127\.0\.0\.1:\d+\//, `uploadUrl ${res.uploadUrl}`);
  assert.match(res.uploadToken, /\S/, 'uploadToken');
  ctx.resumable = res;
});

check('tus 1.0.0 upload (POST, two PATCHes, HEAD) + finalize PUT', async (c) => {
  const { uploadUrl, uploadToken } = need('resumable');
  const b64 = (s) => Buffer.from(s).toString('base64');
  const tus = { 'Tus-Resumable': '1.0.0' };
  const created = await fetch(uploadUrl, {
    method: 'POST',
    headers: {
      ...tus, 'Upload-Length': String(PNG_TUS.length),
      'Upload-Metadata': `filename ${b64('resumable.png')},contentType ${b64('image/png')},token ${b64(uploadToken)}`,
    },
  });
  assert.equal(created.status, 201, `tus POST answered ${created.status}: ${await created.text()}`);
  const location = new URL(created.headers.get('location'), uploadUrl).toString();
  const half = Math.floor(PNG_TUS.length / 2);
  for (const [offset, part] of [[0, PNG_TUS.subarray(0, half)], [half, PNG_TUS.subarray(half)]]) {
    const patched = await fetch(location, {
      method: 'PATCH',
      headers: { ...tus, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
      body: part,
    });
    assert.equal(patched.status, 204, `tus PATCH at ${offset} answered ${patched.status}: ${await patched.text()}`);
    assert.equal(patched.headers.get('upload-offset'), String(offset + part.length));
  }
  const head = await fetch(location, { method: 'HEAD', headers: tus });
  assert.equal(head.headers.get('upload-offset'), String(PNG_TUS.length));
  const finalize = await fetch(`${uploadUrl}/${uploadToken}?filename=resumable.png`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{}',
  });
  const text = await finalize.text();
  assert.equal(finalize.status, 200, `finalize PUT answered ${finalize.status}: ${text.slice(0, 300)}`);
  const { file } = JSON.parse(text);
  const f = (await waitReady(c, [file.id])).get(file.id);
  assert.equal(f.mediaType, 'IMAGE');
  assert.equal(f.displayName, 'resumable.png');
  assert.equal(f.parentFolderId, need('folderB'));
  assert.equal(f.sizeInBytes, String(PNG_TUS.length));
  assert.equal(f.media?.image?.image, `wix:image://v1/${f._id}/resumable.png#originWidth=40&originHeight=30`);
  ctx.tusPng = file.id;
});

// ---- downloads -------------------------------------------------------------------------------

check('files.generateFileDownloadUrl: signed URL serves the original', async (c) => {
  const res = await c.files.generateFileDownloadUrl(need('png'), {
    downloadFileName: 'download.png', expirationInMinutes: 10, assetKeys: ['src'],
    contentDisposition: 'ATTACHMENT',
  });
  assert.equal(res.downloadUrls.length, 1);
  assert.equal(res.downloadUrls[0].assetKey, 'src');
  const { res: got, body } = await getBytes(res.downloadUrls[0].url);
  assert.ok(body.equals(PNG), 'the download is not the original bytes');
  assert.match(got.headers.get('content-disposition') ?? '', /attachment.*download\.png/);
});

check('files.generateFileDownloadUrl: a private file only by its signed URL', async (c) => {
  const f = await c.files.getFileDescriptor(need('private'));
  assert.equal(f.private, true);
  const direct = await fetch(f.url);
  await direct.arrayBuffer();
  assert.equal(direct.status, 403, `a direct GET of a private file answered ${direct.status}`);
  const res = await c.files.generateFileDownloadUrl(f._id);
  assert.equal(res.downloadUrls[0].assetKey, 'src', 'assetKeys default to src');
  const { body } = await getBytes(res.downloadUrls[0].url);
  assert.ok(body.equals(PNG));
});

check('files.generateFilesDownloadUrl: one zip of several files', async (c) => {
  const { downloadUrl } = await c.files.generateFilesDownloadUrl([need('png'), need('mp3')]);
  const { body } = await getBytes(downloadUrl);
  assert.equal(zipEntries(body), 2);
});

check('folders.generateFolderDownloadUrl: a zip of the folder', async (c) => {
  const { downloadUrl } = await c.folders.generateFolderDownloadUrl(need('folderA'));
  const { body } = await getBytes(downloadUrl);
  // pixel-renamed.png, bulk-2.pdf and uploaded.pdf are in the folder now.
  assert.ok(zipEntries(body) >= 3, `${zipEntries(body)} entries`);
});

check('files.generateVideoStreamingUrl', async (c) => {
  const res = await c.files.generateVideoStreamingUrl(need('mp4'), { format: 'HLS' });
  assert.match(res.downloadUrl?.url ?? '', /^http/, 'downloadUrl.url');
  assert.equal(typeof res.downloadUrl.assetKey, 'string');
  const { body } = await getBytes(res.downloadUrl.url);
  assert.ok(body.length > 0);
});

// ---- trash -----------------------------------------------------------------------------------

check('files.bulkDeleteFiles: to the trash', async (c) => {
  const none = await c.files.bulkDeleteFiles([need('bulk2')]);
  assert.equal(none, undefined);
  const f = await c.files.getFileDescriptor(ctx.bulk2);
  assert.equal(f.state, 'DELETED');
  const live = await c.files.searchFiles({ search: 'bulk-2' });
  assert.deepEqual(ids(live.files), [], 'a trashed file is still found under MEDIA_ROOT');
  const trash = await c.files.searchFiles({ rootFolder: 'TRASH_ROOT', search: 'bulk-2' });
  assert.deepEqual(ids(trash.files), [ctx.bulk2]);
});

check('files.listDeletedFiles', async (c) => {
  const res = await c.files.listDeletedFiles({ paging: { limit: 100 } });
  assert.ok(ids(res.files).includes(need('bulk2')), 'the trashed file is not listed');
  res.files.forEach((f) => assert.equal(f.state, 'DELETED'));
});

check('files.bulkRestoreFilesFromTrashBin', async (c) => {
  const none = await c.files.bulkRestoreFilesFromTrashBin([need('bulk2')]);
  assert.equal(none, undefined);
  const f = await c.files.getFileDescriptor(ctx.bulk2);
  assert.equal(f.state, 'OK');
  assert.equal(f.parentFolderId, need('folderA'));
  const res = await c.files.listDeletedFiles();
  assert.ok(!ids(res.files).includes(ctx.bulk2), 'the restored file is still listed as deleted');
});

check('folders.bulkDeleteFolders: to the trash, with the files in it', async (c) => {
  const none = await c.folders.bulkDeleteFolders([need('folderB')]);
  assert.equal(none, undefined);
  const live = await c.folders.listFolders();
  assert.ok(!ids(live.folders).includes(ctx.folderB), 'a trashed folder is still listed');
  const trash = await c.folders.searchFolders({ rootFolder: 'TRASH_ROOT' });
  assert.ok(ids(trash.folders).includes(ctx.folderB), 'not found under TRASH_ROOT');
  const pdf = await c.files.getFileDescriptor(need('pdf')); // moved into B earlier
  assert.equal(pdf.state, 'DELETED', 'a file of the trashed folder is not trashed');
});

check('folders.listDeletedFolders', async (c) => {
  const res = await c.folders.listDeletedFolders({ paging: { limit: 100 } });
  assert.ok(ids(res.folders).includes(need('folderB')), 'the trashed folder is not listed');
});

check('folders.bulkRestoreFoldersFromTrashBin', async (c) => {
  const none = await c.folders.bulkRestoreFoldersFromTrashBin([need('folderB')]);
  assert.equal(none, undefined);
  const b = await c.folders.getFolder(ctx.folderB);
  assertFolder(b, { parentFolderId: 'media-root' });
  const pdf = await c.files.getFileDescriptor(need('pdf'));
  assert.equal(pdf.state, 'OK');
  assert.equal(pdf.parentFolderId, ctx.folderB);
  const res = await c.folders.listDeletedFolders();
  assert.ok(!ids(res.folders).includes(ctx.folderB), 'the restored folder is still listed as deleted');
});

check('files.bulkDeleteFiles: permanent', async (c) => {
  await c.files.bulkDeleteFiles([need('oldBulkPdf')], { permanent: true });
  const err = await rejects(c.files.getFileDescriptor(ctx.oldBulkPdf), 'get after a permanent delete');
  assert.ok(err.status >= 400 && err.status < 500, `status ${err.status}: ${err.message}`);
  const res = await c.files.listDeletedFiles({ paging: { limit: 100 } });
  assert.ok(!ids(res.files).includes(ctx.oldBulkPdf), 'a purged file is listed as deleted');
});

check('folders.bulkDeleteFolders: permanent', async (c) => {
  await c.folders.bulkDeleteFolders([need('folderChild')], { permanent: true });
  const err = await rejects(c.folders.getFolder(ctx.folderChild), 'get after a permanent delete');
  assert.ok(err.status >= 400 && err.status < 500, `status ${err.status}: ${err.message}`);
  const res = await c.folders.listDeletedFolders({ paging: { limit: 100 } });
  assert.ok(!ids(res.folders).includes(ctx.folderChild), 'a purged folder is listed as deleted');
});

// ---- errors, as the SDK reads them -----------------------------------------------------------

check('errors: an unknown file id, read as an SDK error', async (c) => {
  const err = await rejects(c.files.getFileDescriptor('0123456789abcdef0123456789abcdef'), 'unknown id');
  assert.ok([400, 404].includes(err.status), `status ${err.status}: ${err.message}`);
  const code = err.details?.applicationError?.code ?? err.details?.validationError?.fieldViolations?.[0]?.ruleName;
  assert.match(String(code ?? ''), /\S/, `no error code the SDK could read: ${err.message}`);
});

check('errors: a validation error, fields renamed by the SDK to its arguments', async (c) => {
  const err = await rejects(c.files.getFileDescriptors([]), 'no file ids');
  assertValidationError(err, 'fileIds');
});

check('errors: a wrong API key is refused (401)', async () => {
  const stranger = sdkClient(need('base'), 'not-the-key');
  const err = await rejects(stranger.folders.listFolders(), 'wrong key');
  assert.equal(err.status, 401, `status ${err.status}: ${err.message}`);
});

// ---- limits of the generated typings (§11 of the API notes) ---------------------------------

check('limits: bulkImportFile takes at most 100 items (@maxSize 100)', async (c) => {
  const items = Array.from({ length: 101 }, (_, i) => ({
    url: `${need('src')}/src/pixel.png`, displayName: `over-${i}.png`,
  }));
  assertValidationError(await rejects(c.files.bulkImportFile(items), '101 items'), 'importFileRequests');
});

check('limits: getFileDescriptors takes at most 100 ids (@maxSize 100)', async (c) => {
  const many = Array.from({ length: 101 }, () => need('png'));
  assertValidationError(await rejects(c.files.getFileDescriptors(many), '101 ids'), 'fileIds');
});

check('limits: importFile filePath of 101 characters is refused (@maxLength 100)', async (c) => {
  const filePath = `/${'p'.repeat(100)}`;
  const err = await rejects(c.files.importFile(`${need('src')}/src/pixel.png`, { filePath }), 'filePath');
  assertValidationError(err, 'filePath');
});

check('limits: generateFileUploadUrl takes at most 50 labels (@maxSize 50)', async (c) => {
  const labels = Array.from({ length: 51 }, (_, i) => `label-${i}`);
  const err = await rejects(c.files.generateFileUploadUrl('image/png', { fileName: 'x.png', labels }), '51 labels');
  assertValidationError(err, 'labels');
});

check('limits: generateFileResumableUploadUrl accepts 101 labels (@maxSize 500)', async (c) => {
  const labels = Array.from({ length: 101 }, (_, i) => `label-${i}`);
  const res = await c.files.generateFileResumableUploadUrl('image/png', {
    fileName: 'x.png', uploadProtocol: 'TUS', labels,
  });
  assert.equal(res.uploadProtocol, 'TUS');
});

check('limits: importFile accepts 101 labels (@maxSize 500)', async (c) => {
  const labels = Array.from({ length: 101 }, (_, i) => `label-${i}`);
  const { file } = await c.files.importFile(`${need('src')}/src/pixel.png`, {
    displayName: 'many-labels.png', labels,
  });
  assertAccepted(file, { displayName: 'many-labels.png' });
});

check('limits: updateFileDescriptor takes at most 100 labels (FileDescriptor @maxSize 100)', async (c) => {
  const labels = Array.from({ length: 101 }, (_, i) => `label-${i}`);
  const err = await rejects(c.files.updateFileDescriptor({ _id: need('png'), labels }), '101 labels');
  assertValidationError(err, 'labels');
});

check('limits: createFolder accepts a displayName of 1000 characters (@maxLength 1000)', async (c) => {
  const { folder } = await c.folders.createFolder('n'.repeat(1000));
  assert.equal(folder.displayName, 'n'.repeat(1000));
});

check('limits: createFolder refuses a displayName of 1001 characters (@maxLength 1000)', async (c) => {
  const err = await rejects(c.folders.createFolder('n'.repeat(1001)), '1001 characters');
  assertValidationError(err, 'displayName');
});

check('limits: searchFiles search of 201 characters is refused (@maxLength 200)', async (c) => {
  const err = await rejects(c.files.searchFiles({ search: 's'.repeat(201) }), '201 characters');
  assertValidationError(err, 'search');
});

check('limits: generateFilesDownloadUrl needs at least one id (@minSize 1)', async (c) => {
  assertValidationError(await rejects(c.files.generateFilesDownloadUrl([]), 'no ids'), 'fileIds');
});

check('limits: bulkDeleteFiles takes at most 1000 ids (@maxSize 1000)', async (c) => {
  const many = Array.from({ length: 1001 }, () => need('png'));
  assertValidationError(await rejects(c.files.bulkDeleteFiles(many), '1001 ids'), 'fileIds');
});

check('limits: listFiles paging.limit above 100 is refused (@max 100)', async (c) => {
  const err = await rejects(c.files.listFiles({ paging: { limit: 101 } }), 'limit 101');
  assertValidationError(err, 'paging.limit');
});

// Last: a server that accepts the call trashes folder A.
check('limits: bulkDeleteFolders takes at most 100 ids (@maxSize 100)', async (c) => {
  const many = Array.from({ length: 101 }, () => need('folderA'));
  assertValidationError(await rejects(c.folders.bulkDeleteFolders(many), '101 ids'), 'folderIds');
});

check('limits: bulkRestoreFoldersFromTrashBin takes at most 100 ids (@maxSize 100)', async (c) => {
  const many = Array.from({ length: 101 }, () => need('folderA'));
  const err = await rejects(c.folders.bulkRestoreFoldersFromTrashBin(many), '101 ids');
  assertValidationError(err, 'folderIds');
});

// ---- documented validation errors (*ValidationErrors of the generated typings) ---------------

function assertRule(err, rule) {
  assert.equal(err.status, 400, `status ${err.status}: ${err.message}`);
  const rules = (err.details?.validationError?.fieldViolations ?? []).map((v) => v.ruleName);
  assert.ok(rules.includes(rule), `expected ruleName ${rule}, the SDK read ${JSON.stringify(rules)}`);
}

check('rules: generateFileUploadUrl of sizeInBytes 0 is ZERO_FILE_SIZE', async (c) => {
  const err = await rejects(c.files.generateFileUploadUrl('image/png', { sizeInBytes: '0' }), 'size 0');
  assertRule(err, 'ZERO_FILE_SIZE');
});

check('rules: generateFileDownloadUrl of an asset the file lacks is INVALID_ASSET_KEY', async (c) => {
  const err = await rejects(
    c.files.generateFileDownloadUrl(need('png'), { assetKeys: ['1080p.mp4'] }), 'unknown asset key');
  assertRule(err, 'INVALID_ASSET_KEY');
});

check('rules: listFiles sorted by an unsortable field is UNSUPPORTED_SORT_VALUE', async (c) => {
  const err = await rejects(
    c.files.listFiles({ sort: { fieldName: 'mimeType', order: 'ASC' } }), 'sort by mimeType');
  assertRule(err, 'UNSUPPORTED_SORT_VALUE');
});

check('rules: updateFolder with nothing to change is FIELD_MASK_IS_EMPTY_OR_MISSING', async (c) => {
  const err = await rejects(c.folders.updateFolder(need('folderA'), {}), 'an empty update');
  assertRule(err, 'FIELD_MASK_IS_EMPTY_OR_MISSING');
});

// ---------------------------------------------------------------------------------------------
// Runner

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describe(err) {
  const text = err instanceof assert.AssertionError ? err.message : (err?.stack ?? String(err));
  return text.split('\n').slice(0, 12).join('\n      ');
}

async function main() {
  let passed = 0;
  let failed = 0;
  try {
    sources = await startSources();
    ctx.src = `http://127.0.0.1:${sources.address().port}`;
    ctx.base = await startServer();
  } catch (err) {
    console.log(`FAIL setup: ${describe(err)}`);
    console.log(`--- server log ---\n${serverLog.split('\n').slice(-40).join('\n')}`);
    console.log(`0 passed, ${checks.length} failed`);
    return 1;
  }
  console.log(`official SDK: @wix/sdk ${sdkRequire('@wix/sdk/package.json').version}, `
    + `@wix/auto_sdk_media_files ${sdkRequire('@wix/auto_sdk_media_files/package.json').version}, `
    + `@wix/auto_sdk_media_folders ${sdkRequire('@wix/auto_sdk_media_folders/package.json').version}; `
    + `server ${ctx.base}`);
  const client = sdkClient(ctx.base);
  for (const { name, fn } of checks) {
    lastRequest = '';
    try {
      await withTimeout(fn(client), CHECK_TIMEOUT_MS);
      passed++;
      console.log(`ok   ${name}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}\n      ${describe(err)}${lastRequest ? `\n      last SDK request: ${lastRequest}` : ''}`);
    }
  }
  if (server.exitCode !== null) {
    console.log(`the server exited (${server.exitCode}) during the run`);
    failed++;
  }
  if (failed > 0) console.log(`--- server log (last 40 lines) ---\n${serverLog.split('\n').slice(-40).join('\n')}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => { cleanup(); process.exitCode = code; },
  (err) => { console.log(`FAIL runner: ${describe(err)}`); cleanup(); process.exitCode = 1; },
);
