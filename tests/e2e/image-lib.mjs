// Shared helpers for the image and reference end-to-end suites: a real server (over
// stdio, with the official SDK client) against the in-process fake OpenAI server and a
// fresh media root; real image files; a tiny PNG reader for checking outputs; and the
// hostile-filename battery.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { encodePng, JPEG_64x48, WEBP_64x48 } from '../fake-openai/media.mjs';
import { connect, tempMedia } from './lib.mjs';

export { encodePng, JPEG_64x48, WEBP_64x48 };

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** A GIF89a 1x1 (for extension/content checks). */
export const GIF_1x1 = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

/**
 * Starts the fake OpenAI server, a media root and the server under test; runs fn(ctx) and
 * tears everything down, failing on any sanitizer report or output-schema mismatch on
 * the server's stderr. ctx: {client, fake, media, images, stderr, env}.
 * opts.env is merged over the defaults (set a key to undefined to remove it).
 */
export async function withServer(fn, opts = {}) {
  const fake = await startFakeOpenAI(opts.fake || {});
  const media = tempMedia();
  const images = path.join(media.dir, 'images');
  fs.mkdirSync(images, { recursive: true });
  const env = {
    SANZARU_MEDIA_PATH: media.dir,
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    SANZARU_MAX_RETRIES: '0',
    LOG_LEVEL: 'INFO',
    ...(opts.env || {}),
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const s = await connect({ env });
  let failed = null;
  try {
    await fn({ client: s.client, fake, media, images, stderr: s.stderr, env });
  } catch (e) {
    failed = e;
  }
  const ended = new Promise((resolve) => {
    if (!s.transport.stderr || s.transport.stderr.readableEnded) resolve();
    else {
      s.transport.stderr.on('end', resolve);
      s.transport.stderr.on('close', resolve);
    }
  });
  await s.close();
  await Promise.race([ended, new Promise((r) => setTimeout(r, 10000))]);
  await fake.close();
  media.cleanup();
  if (failed) {
    failed.message += `\n--- server stderr ---\n${s.stderr().slice(-4000)}`;
    throw failed;
  }
  const err = s.stderr();
  assert.doesNotMatch(err, SANITIZER, `sanitizer report:\n${err.slice(-6000)}`);
  assert.doesNotMatch(err, /does not match its outputSchema/, err);
}

/** Calls a tool and expects a successful result; returns it. */
export async function ok(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.ok(!r.isError, `${name} failed: ${r.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return r;
}

/** Calls a tool and expects a tool error (isError) whose text matches re; returns the text. */
export async function toolError(client, name, args, re) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name} should fail, got ${JSON.stringify(r.structuredContent)}`);
  if (re) assert.match(r.content[0].text, re);
  return r.content[0].text;
}

/** Expects the call to be refused with a tool error (bad arguments included), the text matching re. */
export async function refused(client, name, args, re) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name}(${JSON.stringify(args).slice(0, 200)}) should be refused, got ${JSON.stringify(r.structuredContent)}`);
  const text = r.content[0].text;
  if (re) assert.match(text, re, `${name}(${JSON.stringify(args).slice(0, 200)})`);
  return text;
}

/** Requests the fake recorded for method + path glob (e.g. 'POST', 'images/edits'). */
export function recorded(fake, method, p) {
  return fake.requestsMatching({ method, path: p });
}

/** Writes a PNG (RGB, or RGBA with alpha:true) of w x h to dir/name; returns its bytes. */
export function writePng(dir, name, w = 64, h = 48, { alpha = false, pixel } = {}) {
  const buf = encodePng(w, h, { channels: alpha ? 4 : 3, pixel });
  fs.writeFileSync(path.join(dir, name), buf);
  return buf;
}

/**
 * Writes images whose first bytes say PNG, JPEG or WEBP but that cannot be used into dir:
 * corrupt after the signature, cut off inside the header, cut off inside the pixel data
 * (the header reads, the file stops before its end). Returns [{name, format}], format as
 * the tools name it ('PNG', 'JPEG', 'WEBP'); the PNGs have an alpha channel, so each is
 * also a mask in every way but this.
 */
export function writeUnreadable(dir) {
  const sig = Buffer.from('89504e470d0a1a0a', 'hex');
  const rgba = encodePng(300, 200, { channels: 4 });
  const files = [
    ['corrupt.png', Buffer.concat([sig, Buffer.alloc(200, 0x5a)]), 'PNG'],
    ['cut.png', rgba.subarray(0, 40), 'PNG'],
    ['half.png', rgba.subarray(0, rgba.length >> 1), 'PNG'],
    ['cut.jpg', JPEG_64x48.subarray(0, 200), 'JPEG'],
    ['tail.jpg', JPEG_64x48.subarray(0, JPEG_64x48.length - 300), 'JPEG'],
    ['corrupt.webp', Buffer.concat([WEBP_64x48.subarray(0, 12), Buffer.alloc(100, 0x33)]), 'WEBP'],
    ['short.webp', WEBP_64x48.subarray(0, WEBP_64x48.length - 10), 'WEBP'],
  ];
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
  return files.map(([name, , format]) => ({ name, format }));
}

/** The sentence a tool gives for an upload that failed its probe: what is "Input image",
 *  "Mask" or "Reference image". */
export function unreadableRe(what, { name, format }) {
  return new RegExp(`^${what} '${name.replace('.', '\\.')}' is not a readable ${format}: .+`);
}

/** Width, height, bit depth and colour type from a PNG's IHDR (asserting the signature). */
export function pngHeader(buf) {
  assert.ok(buf.length >= 33, 'PNG too short');
  assert.equal(buf.toString('hex', 0, 8), '89504e470d0a1a0a', 'PNG signature');
  assert.equal(buf.toString('latin1', 12, 16), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), depth: buf[24], colourType: buf[25] };
}

/** Decodes an 8-bit, non-interlaced RGB/RGBA PNG: {width, height, channels, px(x, y)}. */
export function decodePng(buf) {
  const h = pngHeader(buf);
  assert.equal(h.depth, 8, 'decodePng handles 8-bit only');
  const channels = { 2: 3, 6: 4 }[h.colourType];
  assert.ok(channels, `decodePng handles RGB/RGBA only, got colour type ${h.colourType}`);
  assert.equal(buf[28], 0, 'non-interlaced');
  const idat = [];
  for (let o = 8; o < buf.length; ) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('latin1', o + 4, o + 8);
    if (type === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = h.width * channels;
  const out = Buffer.alloc(stride * h.height);
  for (let y = 0; y < h.height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[y * stride + i - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? out[(y - 1) * stride + i - channels] : 0;
      let v = line[i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 0xff;
    }
  }
  return {
    width: h.width,
    height: h.height,
    channels,
    px: (x, y) => [...out.subarray(y * stride + x * channels, y * stride + x * channels + channels)],
  };
}

/** Names in dir, sorted (hidden temporaries included, so a leftover would show). */
export function listDir(dir) {
  return fs.readdirSync(dir).sort();
}

/**
 * Sets up the hostile-filename battery in the image directory `images` (with `outside`
 * a directory outside it) and returns [{label, name, re, kind}] where kind says what the
 * name is: 'syntax' (refused by its spelling), 'symlink-in', 'symlink-out', 'dir', 'fifo'.
 * ext is the extension the on-disk traps carry (so an extension check cannot be what
 * refuses them). `re` is what the refusal must say.
 */
export function hostileBattery(images, outside, ext = 'png') {
  const real = path.join(images, `real.${ext}`);
  if (!fs.existsSync(real)) fs.writeFileSync(real, ext === 'png' ? encodePng(64, 48, { channels: 4 }) : JPEG_64x48);
  const secret = path.join(outside, `secret.${ext}`);
  fs.writeFileSync(secret, ext === 'png' ? encodePng(64, 48, { channels: 4 }) : JPEG_64x48);
  fs.symlinkSync(`real.${ext}`, path.join(images, `link-in.${ext}`));
  fs.symlinkSync(secret, path.join(images, `link-out.${ext}`));
  fs.mkdirSync(path.join(images, `dir.${ext}`));
  execFileSync('mkfifo', [path.join(images, `fifo.${ext}`)]);
  const traversal = (n) => new RegExp(`Invalid filename: path traversal detected in '${n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}'`);
  return [
    { label: '../x', name: '../x', re: traversal('../x'), kind: 'syntax' },
    { label: '/etc/passwd', name: '/etc/passwd', re: traversal('/etc/passwd'), kind: 'syntax' },
    { label: 'a/b', name: 'a/b', re: traversal('a/b'), kind: 'syntax' },
    { label: '..', name: '..', re: traversal('..'), kind: 'syntax' },
    { label: 'empty', name: '', re: /must not be empty/, kind: 'syntax' },
    { label: 'NUL', name: `a\u0000b.${ext}`, re: /must not contain NUL/, kind: 'syntax' },
    { label: '256 bytes', name: 'a'.repeat(255 - ext.length) + `.${ext}`, re: /longer than 255 bytes/, kind: 'syntax' },
    { label: 'symlink inside', name: `link-in.${ext}`, re: new RegExp(`cannot be a symbolic link: link-in\\.${ext}`), kind: 'symlink-in' },
    { label: 'symlink outside', name: `link-out.${ext}`, re: new RegExp(`cannot be a symbolic link: link-out\\.${ext}`), kind: 'symlink-out' },
    { label: 'directory', name: `dir.${ext}`, re: new RegExp(`is not a regular file: dir\\.${ext}`), kind: 'dir' },
    { label: 'FIFO', name: `fifo.${ext}`, re: new RegExp(`is not a regular file: fifo\\.${ext}`), kind: 'fifo' },
  ];
}

/** Snapshot of the battery's on-disk targets, to prove nothing was touched. */
export function batteryState(images, outside, ext = 'png') {
  const st = (p) => {
    const l = fs.lstatSync(p);
    return { type: l.isSymbolicLink() ? 'link' : l.isDirectory() ? 'dir' : l.isFIFO() ? 'fifo' : 'file', size: l.isFile() ? l.size : 0, mtime: l.mtimeMs };
  };
  return {
    listing: listDir(images),
    outsideListing: listDir(outside),
    real: sha256(fs.readFileSync(path.join(images, `real.${ext}`))),
    secret: sha256(fs.readFileSync(path.join(outside, `secret.${ext}`))),
    traps: ['link-in', 'link-out', 'dir', 'fifo'].map((n) => st(path.join(images, `${n}.${ext}`))),
    dirContents: listDir(path.join(images, `dir.${ext}`)),
  };
}
