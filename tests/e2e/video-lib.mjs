// Shared helpers for the video end-to-end suites (video*.test.mjs): the real server over
// stdio with the official SDK client, against the in-process fake OpenAI server and a
// fresh media root; the hostile-filename battery; and checks that a directory holds
// nothing unexpected (hidden temporaries included).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { encodePng, JPEG_64x48, WEBP_64x48 } from '../fake-openai/media.mjs';
import { connect, tempMedia } from './lib.mjs';

export { encodePng, JPEG_64x48, WEBP_64x48 };

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
export const PNG = encodePng(64, 48);
export const GIF_1x1 = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

/**
 * Runs fn(ctx) against a fresh fake OpenAI server, media root and server under test, then
 * tears everything down and fails on any sanitizer report or output-schema mismatch in
 * the server's stderr. ctx: {client, fake, media, videos, images, stderr, pid, env}.
 * opts.env is merged over the defaults (a key set to undefined is removed); opts.fake
 * goes to startFakeOpenAI; opts.mkdirs=false leaves videos/ and images/ to the server.
 */
export async function withServer(fn, opts = {}) {
  const fake = await startFakeOpenAI(opts.fake || {});
  await withUpstream(fake, { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test' }, fn, opts);
}

/**
 * The same against any started fake upstream (closed afterwards): upstreamEnv points the
 * server at it; opts as for withServer. No other provider setting reaches the server.
 */
export async function withUpstream(fake, upstreamEnv, fn, opts = {}) {
  const media = tempMedia();
  const videos = path.join(media.dir, 'videos');
  const images = path.join(media.dir, 'images');
  if (opts.mkdirs !== false) {
    fs.mkdirSync(videos, { recursive: true });
    fs.mkdirSync(images, { recursive: true });
  }
  const env = {
    SANZARU_MEDIA_PATH: media.dir,
    ...upstreamEnv,
    LOG_LEVEL: 'INFO',
    ...(opts.env || {}),
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const s = await connect({ env });
  // How the server ended: it must exit by itself, cleanly, once stdin closes (a kill
  // would also skip LeakSanitizer's report at exit).
  const child = s.transport._process;
  const exited = new Promise((resolve) => {
    if (!child || child.exitCode !== null) resolve(child ? { code: child.exitCode, signal: child.signalCode } : null);
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ended = new Promise((resolve) => {
    if (!s.transport.stderr || s.transport.stderr.readableEnded) resolve();
    else {
      s.transport.stderr.on('end', resolve);
      s.transport.stderr.on('close', resolve);
    }
  });
  let failed = null;
  try {
    await fn({ client: s.client, fake, media, videos, images, stderr: s.stderr, pid: s.transport.pid, env });
  } catch (e) {
    failed = e;
  }
  await s.close();
  await Promise.race([ended, new Promise((r) => setTimeout(r, 10000).unref())]);
  await fake.close();
  if (opts.cleanup) opts.cleanup();
  if (!opts.keepMedia) media.cleanup();
  if (failed) {
    failed.message += `\n--- server stderr ---\n${s.stderr().slice(-4000)}`;
    throw failed;
  }
  const err = s.stderr();
  assert.doesNotMatch(err, SANITIZER, `sanitizer report:\n${err.slice(-6000)}`);
  const exit = await exited;
  if (exit) assert.deepEqual(exit, { code: 0, signal: null }, `the server's exit:\n${err.slice(-2000)}`);
  assert.doesNotMatch(err, /does not match its outputSchema/, err);
}

/** Calls a tool, expects success, checks the text block mirrors structuredContent. */
export async function ok(client, name, args, options) {
  const r = await client.callTool({ name, arguments: args }, undefined, options);
  assert.ok(!r.isError, `${name} failed: ${r.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return r;
}

/** Calls a tool and expects a tool error (isError) matching re; returns its text. */
export async function toolError(client, name, args, re) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name}(${JSON.stringify(args)}) should fail, got ${JSON.stringify(r.structuredContent)}`);
  assert.match(r.content[0].text, re, `${name}(${JSON.stringify(args)})`);
  return r.content[0].text;
}

/**
 * Calls a tool with arguments that break its schema and expects what MCP 2025-11-25
 * (SEP-1303) and the Python original give: a tool result with isError, its text naming
 * the argument ("Invalid arguments for tool <name>: ..."), matching re.
 */
export async function schemaError(client, name, args, re) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name}(${JSON.stringify(args)}) should be refused, got ${JSON.stringify(r.structuredContent)}`);
  assert.match(r.content[0].text, new RegExp(`^Invalid arguments for tool ${name}: `));
  assert.match(r.content[0].text, re, `${name}(${JSON.stringify(args)})`);
  return r.content[0].text;
}

/** Every entry of dir, hidden ones included, sorted. */
export function entries(dir) {
  return fs.readdirSync(dir).sort();
}

/** Asserts dir holds exactly names (hidden entries count: no temporary may remain). */
export function assertEntries(dir, names, what = dir) {
  assert.deepEqual(entries(dir), [...names].sort(), `${what}: unexpected entries`);
}

/** Polls pred every 10 ms until it is true or timeoutMs pass; returns pred's last value. */
export async function until(pred, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Requests the fake saw for one video's content. */
export function contentRequests(fake) {
  return fake.requestsMatching({ method: 'GET', path: 'videos/*/content' });
}

/**
 * The hostile-filename battery. Each case: {label, name, setup(dir, outside)?, how}, where
 * how is 'schema' (refused as a JSON-RPC invalid-params error before the tool runs) or a
 * RegExp for the tool error. setup creates whatever the case needs inside the target
 * directory; `outside` is a directory outside every media root.
 */
export function hostileNames({ writing }) {
  const long = 'a'.repeat(252) + '.png'; // 256 bytes
  return [
    { label: '../x', name: '../x.png', how: /path traversal detected in '..\/x.png'/ },
    { label: 'absolute', name: '/etc/passwd', how: /path traversal detected in '\/etc\/passwd'/ },
    { label: 'a/b', name: 'a/b.png', how: /path traversal detected in 'a\/b.png'/ },
    { label: '..', name: '..', how: /path traversal detected in '\.\.'/ },
    { label: 'empty', name: '', how: 'schema' },
    { label: 'NUL', name: 'a\u0000b.png', how: 'schema' },
    { label: '256 bytes', name: long, how: /too long|255/ },
    {
      label: 'symlink inside the root',
      name: 'inside.png',
      setup: (dir) => {
        fs.writeFileSync(path.join(dir, 'target.png'), PNG);
        fs.symlinkSync('target.png', path.join(dir, 'inside.png'));
      },
      how: writing ? /already exists|symbolic link/ : /cannot be a symbolic link: inside\.png/,
    },
    {
      label: 'symlink outside the root',
      name: 'outside.png',
      setup: (dir, outside) => {
        fs.writeFileSync(path.join(outside, 'secret.png'), PNG);
        fs.symlinkSync(path.join(outside, 'secret.png'), path.join(dir, 'outside.png'));
      },
      how: writing ? /already exists|symbolic link/ : /cannot be a symbolic link: outside\.png/,
    },
    {
      label: 'directory',
      name: 'adir.png',
      setup: (dir) => fs.mkdirSync(path.join(dir, 'adir.png')),
      how: writing ? /already exists|not a regular file/ : /not a regular file: adir\.png/,
    },
    {
      label: 'FIFO',
      name: 'fifo.png',
      setup: (dir) => execFileSync('mkfifo', [path.join(dir, 'fifo.png')]),
      how: writing ? /already exists|not a regular file/ : /not a regular file: fifo\.png/,
    },
  ];
}
