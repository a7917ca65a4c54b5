// Both protocol eras end to end against one binary: the official v2 TypeScript client
// (@modelcontextprotocol/client 2.4.0, MCP 2026-07-28, negotiating with server/discover)
// over stdio and Streamable HTTP, and the v1 SDK (@modelcontextprotocol/sdk 1.32.2,
// initialize, 2025-11-25), against the fake OpenAI server. Each client: the probe and the
// era it settles on, a stable tools/list, every tool called, progress on the request's own
// stream, the overwrite question answered (elicitation/create for the legacy client, an
// InputRequiredResult and a retry for the modern one), and a new media file announced on a
// subscriptions/listen stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdio } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { encodePng } from '../fake-openai/media.mjs';
import { makeSilentWav } from '../fake-openai/audio.mjs';
import { rawServer, serverBin, serverEnv, tempMedia } from './lib.mjs';
import { startHttp } from './http-lib.mjs';

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;
const PNG = encodePng(64, 48);
const TOOLS = [
  'create_video', 'get_video_status', 'download_video', 'list_videos', 'delete_video', 'remix_video',
  'create_image', 'get_image_status', 'download_image', 'generate_image', 'edit_image',
  'list_local_videos', 'list_reference_images', 'prepare_reference_image',
  'list_audio_files', 'get_latest_audio', 'convert_audio', 'compress_audio', 'transcribe_audio',
  'transcribe_with_enhancement', 'chat_with_audio', 'create_audio',
];

/** An answer policy for the overwrite question, and a record of what was asked. */
function questioner() {
  const q = { asked: [], answer: { action: 'accept', content: { replace: true } } };
  q.handle = async (request) => {
    q.asked.push(request.params);
    return q.answer;
  };
  return q;
}

function modernClient(q) {
  const c = new ModernClient(
    { name: 'sanzaru-e2e-modern', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: 'auto' } },
  );
  c.setRequestHandler('elicitation/create', q.handle);
  return c;
}

/** A fake OpenAI, a media root with two inputs, and the server's environment. */
async function world() {
  const fake = await startFakeOpenAI({});
  const media = tempMedia();
  const videos = path.join(media.dir, 'videos');
  const images = path.join(media.dir, 'images');
  fs.mkdirSync(videos, { recursive: true });
  fs.mkdirSync(images, { recursive: true });
  fs.writeFileSync(path.join(images, 'photo.png'), PNG);
  fs.writeFileSync(path.join(images, 'wide.png'), encodePng(96, 48));
  const audio = path.join(media.dir, 'audio');
  fs.mkdirSync(audio, { recursive: true });
  fs.writeFileSync(path.join(audio, 'voice.wav'), makeSilentWav(2));
  const env = { SANZARU_MEDIA_PATH: media.dir, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test', LOG_LEVEL: 'INFO' };
  return { fake, media, videos, images, audio, env, close: async () => { await fake.close(); media.cleanup(); } };
}

async function call(client, name, args, options) {
  // v1's callTool takes (params, resultSchema, options); v2's (params, options).
  const r =
    client instanceof LegacyClient
      ? await client.callTool({ name, arguments: args }, undefined, options)
      : await client.callTool({ name, arguments: args }, options);
  assert.ok(!r.isError, `${name} failed: ${r.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, `${name}: text mirrors structuredContent`);
  return r;
}

async function poll(client, tool, args, field, done) {
  for (let i = 0; i < 40; i++) {
    const r = await call(client, tool, args);
    if (r.structuredContent[field] === done) return r;
    assert.notEqual(r.structuredContent[field], 'failed', `${tool}: ${JSON.stringify(r.structuredContent)}`);
  }
  throw new Error(`${tool} never reached ${field}=${done}`);
}

/** Calls every tool once, as a client would in a working session; returns the tool names
 * it called, and the download's progress notifications. */
async function everyTool(client, w) {
  const called = new Set();
  const c = async (name, args, options) => {
    called.add(name);
    return call(client, name, args, options);
  };
  const { structuredContent: v } = await c('create_video', { prompt: 'A lighthouse at dusk', seconds: '4' });
  called.add('get_video_status');
  await poll(client, 'get_video_status', { video_id: v.id }, 'status', 'completed');
  const progress = [];
  const dl = await c('download_video', { video_id: v.id }, { onprogress: (p) => progress.push(p) });
  assert.equal(dl.structuredContent.size_bytes, w.fake.assets.video.length);
  assert.equal(fs.readFileSync(path.join(w.videos, `${v.id}.mp4`)).length, w.fake.assets.video.length);
  assert.ok(dl.content.some((b) => b.type === 'resource_link'), 'a resource link to the saved file');
  await c('list_videos', { limit: 5 });
  const remix = await c('remix_video', { previous_video_id: v.id, prompt: 'at dawn' });
  assert.ok(remix.structuredContent.id);
  await c('delete_video', { video_id: remix.structuredContent.id });
  const local = await c('list_local_videos', {});
  assert.deepEqual(local.structuredContent.data.map((f) => f.filename), [`${v.id}.mp4`]);

  const { structuredContent: img } = await c('create_image', { prompt: 'a red fox' });
  called.add('get_image_status');
  await poll(client, 'get_image_status', { response_id: img.id }, 'status', 'completed');
  await c('download_image', { response_id: img.id, filename: 'fox.png' });
  assert.ok(fs.existsSync(path.join(w.images, 'fox.png')));
  await c('generate_image', { prompt: 'a watercolour heron', filename: 'heron.png' });
  await c('edit_image', { prompt: 'make it snow', input_images: ['photo.png'], filename: 'snow.png' });
  const refs = await c('list_reference_images', {});
  assert.ok(refs.structuredContent.data.some((f) => f.filename === 'photo.png'));
  const prep = await c('prepare_reference_image', { input_filename: 'wide.png', target_size: '1280x720' });
  assert.ok(fs.existsSync(path.join(w.images, prep.structuredContent.output_filename)));

  const files = await c('list_audio_files', {});
  assert.ok(files.structuredContent.data.some((f) => f.file_name === 'voice.wav'));
  await c('get_latest_audio', {});
  const mp3 = await c('convert_audio', { input_path: 'voice.wav', output_format: 'mp3' });
  assert.ok(fs.existsSync(path.join(w.audio, mp3.structuredContent.output_file)));
  await c('compress_audio', { input_path: 'voice.wav' });
  assert.match((await c('transcribe_audio', { file_path: 'voice.wav' })).structuredContent.text, /^A recording of 2\.0 seconds/);
  await c('transcribe_with_enhancement', { file_path: 'voice.wav' });
  await c('chat_with_audio', { file_path: 'voice.wav', user_prompt: 'What is it?' });
  const speech = await c('create_audio', { text_prompt: 'Hello there.' });
  assert.ok(fs.existsSync(path.join(w.audio, speech.structuredContent.output_file)));
  return { called, progress, videoId: v.id };
}

/** The overwrite question: a yes replaces the file, a no keeps it and says so. */
async function overwriteQuestion(client, q, w, videoId) {
  const file = path.join(w.videos, 'clip.mp4');
  fs.writeFileSync(file, 'old bytes');
  q.asked.length = 0;
  q.answer = { action: 'accept', content: { replace: true } };
  const r = await call(client, 'download_video', { video_id: videoId, filename: 'clip.mp4' });
  assert.equal(q.asked.length, 1, 'asked once');
  assert.match(q.asked[0].message, /`clip\.mp4` already exists in the videos folder\. Replace it\?/);
  assert.equal(q.asked[0].requestedSchema.properties.replace.type, 'boolean');
  assert.equal(r.structuredContent.size_bytes, w.fake.assets.video.length);
  assert.equal(fs.readFileSync(file).length, w.fake.assets.video.length, 'replaced');

  fs.writeFileSync(file, 'keep me');
  q.answer = { action: 'decline' };
  const kept = await client.callTool({ name: 'download_video', arguments: { video_id: videoId, filename: 'clip.mp4' } });
  assert.equal(kept.isError, true);
  assert.match(kept.content[0].text, /^File already exists: clip\.mp4 \(kept: the user chose not to replace it; pass overwrite: true to replace it\)$/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'keep me', 'kept');
  assert.equal(q.asked.length, 2);

  // The same image flow asks too (edit_image checks its output before paying upstream).
  fs.writeFileSync(path.join(w.images, 'taken.png'), PNG);
  q.answer = { action: 'accept', content: { replace: true } };
  await call(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], filename: 'taken.png' });
  assert.equal(q.asked.length, 3);

  // And the audio tools that take an output name, before anything is paid for.
  fs.writeFileSync(path.join(w.audio, 'taken.mp3'), 'old');
  await call(client, 'create_audio', { text_prompt: 'again', output_filename: 'taken.mp3' });
  assert.equal(q.asked.length, 4);
  assert.match(q.asked[3].message, /`taken\.mp3` already exists in the audio folder\. Replace it\?/);
  assert.notEqual(fs.readFileSync(path.join(w.audio, 'taken.mp3'), 'latin1'), 'old', 'replaced');
}

function assertClean(stderr) {
  assert.doesNotMatch(stderr, SANITIZER, stderr.slice(-4000));
  assert.doesNotMatch(stderr, /does not match its outputSchema/, stderr.slice(-4000));
}

test('modern client over stdio: probe, stable list, every tool, progress, the overwrite question, listen', async () => {
  const w = await world();
  const q = questioner();
  const client = modernClient(q);
  const transport = new ModernStdio({ command: serverBin, env: serverEnv(w.env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  try {
    await client.connect(transport);
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28', 'the probe found a modern server');
    assert.equal(client.getServerVersion().name, 'sanzaru');
    assert.match(client.getInstructions(), /create_video/);
    const first = (await client.listTools(undefined, { cacheMode: 'refresh' })).tools.map((t) => t.name);
    const again = (await client.listTools(undefined, { cacheMode: 'refresh' })).tools.map((t) => t.name);
    assert.deepEqual(first, again, 'deterministic order');
    assert.deepEqual([...first].sort(), [...TOOLS].sort());

    const changed = [];
    client.setNotificationHandler('notifications/resources/list_changed', async (n) => changed.push(n));
    const sub = await client.listen({ resourcesListChanged: true, toolsListChanged: true });
    assert.deepEqual(sub.honoredFilter, { resourcesListChanged: true }, 'the tool list never changes');

    const { called, progress, videoId } = await everyTool(client, w);
    assert.deepEqual([...called].sort(), [...TOOLS].sort(), 'every tool called');
    assert.ok(progress.length >= 1, 'download progress arrived');
    assert.equal(progress.at(-1).progress, w.fake.assets.video.length);
    assert.ok(changed.length >= 5, `every saved file announced on the listen stream (${changed.length})`);

    await overwriteQuestion(client, q, w, videoId);
    await sub.close();
    assert.equal(await sub.closed, 'local');
  } finally {
    await client.close();
    await w.close();
  }
  assertClean(stderr);
});

test('modern client over HTTP: no session, every tool, progress on the POST stream, the overwrite question', async () => {
  const w = await world();
  const srv = await startHttp({ env: w.env });
  const q = questioner();
  const client = modernClient(q);
  try {
    await client.connect(new ModernHttp(new URL(srv.url)));
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    assert.equal(client.transport.sessionId, undefined, 'no Mcp-Session-Id in the modern era');
    const changed = [];
    client.setNotificationHandler('notifications/resources/updated', async (n) => changed.push(n.params.uri));
    client.setNotificationHandler('notifications/resources/list_changed', async () => changed.push('list'));
    const sub = await client.listen({ resourcesListChanged: true });
    const { called, progress, videoId } = await everyTool(client, w);
    assert.deepEqual([...called].sort(), [...TOOLS].sort());
    assert.ok(progress.length >= 1, 'progress on the request stream');
    assert.ok(changed.includes('list'), 'list_changed reached the listen stream');
    await overwriteQuestion(client, q, w, videoId);
    await sub.close();
  } finally {
    await client.close();
    await srv.stop();
    await w.close();
  }
  assertClean(srv.stderr());
});

test('legacy client (SDK 1.32.2) against the same binary: initialize, every tool, elicitation/create for the question', async () => {
  const w = await world();
  const q = questioner();
  const client = new LegacyClient({ name: 'sanzaru-e2e-legacy', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, q.handle);
  const transport = new LegacyStdio({ command: serverBin, env: serverEnv(w.env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  try {
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'sanzaru');
    const { called, progress, videoId } = await everyTool(client, w);
    assert.deepEqual([...called].sort(), [...TOOLS].sort());
    assert.ok(progress.length >= 1);
    await overwriteQuestion(client, q, w, videoId);
  } finally {
    await client.close();
    await w.close();
  }
  assertClean(stderr);
});

test('a client that cannot answer keeps today\'s refusal: "pass overwrite: true"', async () => {
  const w = await world();
  const client = new ModernClient({ name: 'mute', version: '1' }, { versionNegotiation: { mode: 'auto' } });
  const transport = new ModernStdio({ command: serverBin, env: serverEnv(w.env), stderr: 'pipe' });
  try {
    await client.connect(transport);
    fs.writeFileSync(path.join(w.images, 'mine.png'), PNG);
    const r = await client.callTool({ name: 'generate_image', arguments: { prompt: 'p', filename: 'mine.png' } });
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /^File already exists: mine\.png \(pass overwrite: true to replace it\)$/);
  } finally {
    await client.close();
    await w.close();
  }
});

test('SANZARU_REQUEST_STATE_KEY: one instance seals the question, another with the same key takes the answer', async () => {
  const w = await world();
  const key = 'one-key-for-every-instance-behind-the-balancer';
  const start = (extra) => rawServer({ bin: serverBin, env: { ...w.env, ...extra } });
  const a = start({ SANZARU_REQUEST_STATE_KEY: key });
  const b = start({ SANZARU_REQUEST_STATE_KEY: key });
  const c = start({}); // a random key of its own
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
  };
  const args = { input_filename: 'wide.png', target_size: '1280x720', output_filename: 'ref.png' };
  const ask = (srv, id, extra = {}) => {
    srv.sendJson({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'prepare_reference_image', arguments: args, ...extra, _meta: meta } });
    return srv.next((m) => m.id === id);
  };
  try {
    fs.writeFileSync(path.join(w.images, 'ref.png'), 'old');
    const first = await ask(a, 1);
    assert.equal(first.result.resultType, 'input_required');
    assert.equal(first.result.inputRequests.overwrite.method, 'elicitation/create');
    const state = first.result.requestState;
    assert.equal(typeof state, 'string');
    const answer = { overwrite: { action: 'accept', content: { replace: true } } };
    // another instance without the key refuses the state
    const refused = await ask(c, 2, { requestState: state, inputResponses: answer });
    assert.equal(refused.error.code, -32602);
    assert.match(refused.error.message, /^Invalid requestState: its integrity check failed/);
    // the same state for other arguments is refused too
    b.sendJson({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'prepare_reference_image', arguments: { ...args, target_size: '720x1280' }, requestState: state, inputResponses: answer, _meta: meta } });
    assert.match((await b.next((m) => m.id === 3)).error.message, /issued for another request/);
    // instance b, sharing the key, takes the answer and replaces the file
    const done = await ask(b, 4, { requestState: state, inputResponses: answer });
    assert.equal(done.result.resultType, 'complete', JSON.stringify(done));
    assert.equal(done.result.structuredContent.output_filename, 'ref.png');
    assert.notEqual(fs.readFileSync(path.join(w.images, 'ref.png'), 'utf8'), 'old');
  } finally {
    for (const s of [a, b, c]) s.child.stdin.end();
    await Promise.all([a.exited, b.exited, c.exited]);
    await w.close();
  }
});
