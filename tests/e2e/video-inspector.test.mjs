// What a person does from a shell: the MCP Inspector's command-line mode runs the real binary
// once per call, configured with nothing but one provider's settings (and the media root),
// against the fakes. A user with only a Gemini key, or only Azure settings, goes create ->
// status -> download -> remix; a user with only an OpenAI key learns that OpenAI retired the
// Videos API and what to do instead. Each call is a new process: what carries over between
// them is the media root and the state database under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { repoRoot, serverBin, tempMedia } from './lib.mjs';

const inspector = path.join(repoRoot, 'tests', 'node_modules', '.bin', 'mcp-inspector');

/** One tools/call through the Inspector CLI (asynchronously: the fakes run in this process). */
function call(env, tool, args = {}) {
  const argv = ['--cli', serverBin];
  for (const [k, v] of Object.entries({ ...env, LOG_LEVEL: 'ERROR' })) argv.push('-e', `${k}=${v}`);
  argv.push('--method', 'tools/call', '--tool-name', tool);
  for (const [k, v] of Object.entries(args)) argv.push('--tool-arg', `${k}=${JSON.stringify(v)}`);
  return new Promise((resolve, reject) => {
    execFile(inspector, argv, { encoding: 'utf8', timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${tool}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

async function okCall(env, tool, args) {
  const r = await call(env, tool, args);
  assert.ok(!r.isError, `${tool}: ${r.content?.[0]?.text}`);
  return r.structuredContent;
}

/** create -> status until completed -> download -> remix, each a separate run of the server. */
async function journey(env, media, fake) {
  const c = await okCall(env, 'create_video', { prompt: 'A paper boat on a river' });
  assert.equal(c.status, 'queued');
  let v;
  for (let i = 0; i < 6 && v?.status !== 'completed'; i++) v = await okCall(env, 'get_video_status', { video_id: c.id });
  assert.equal(v.status, 'completed');
  const d = await okCall(env, 'download_video', { video_id: c.id });
  const file = path.join(media, 'videos', d.filename);
  assert.equal(createHash('sha256').update(fs.readFileSync(file)).digest('hex'), fake.assets.video.sha256);
  const r = await okCall(env, 'remix_video', { previous_video_id: c.id, prompt: 'At sunset' });
  assert.equal(r.remixed_from_video_id, c.id);
  return { c, r };
}

test('only a Gemini key: create -> status -> download -> remix through the Inspector CLI', async () => {
  const fake = await startFakeGemini({ apiKey: 'gk-inspector' });
  const m = tempMedia();
  try {
    const env = { GEMINI_API_KEY: 'gk-inspector', GEMINI_BASE_URL: fake.url, SANZARU_MEDIA_PATH: m.dir };
    const { c, r } = await journey(env, m.dir, fake);
    assert.match(c.id, /^v1_/);
    const list = await okCall(env, 'list_videos', {});
    assert.deepEqual(list.data.map((x) => x.id), [r.id, c.id], 'the ledger kept both jobs across runs');
  } finally {
    await fake.close();
    m.cleanup();
  }
});

test('only Azure settings: create -> status -> download -> remix through the Inspector CLI', async () => {
  const fake = await startFakeOpenAI({ flavour: 'azure', apiKey: 'az-inspector' });
  const m = tempMedia();
  try {
    const env = { AZURE_OPENAI_ENDPOINT: fake.endpoint, AZURE_OPENAI_API_KEY: 'az-inspector', SANZARU_MEDIA_PATH: m.dir };
    await journey(env, m.dir, fake);
    assert.ok(fake.requests.every((x) => x.headers['api-key'] === 'az-inspector' && x.path.startsWith('/openai/v1/')));
  } finally {
    await fake.close();
    m.cleanup();
  }
});

test('only an OpenAI key: the retirement message and what to do', async () => {
  const fake = await startFakeOpenAI({ videosRetired: 404 });
  const m = tempMedia();
  try {
    const env = { OPENAI_API_KEY: 'sk-inspector', OPENAI_BASE_URL: fake.url, SANZARU_MEDIA_PATH: m.dir };
    const r = await call(env, 'create_video', { prompt: 'p' });
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /^OpenAI retired the Videos API \(sora-2, sora-2-pro\) on 2026-09-24: .* set GEMINI_API_KEY .* AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY .* OPENAI_BASE_URL to a gateway that still serves \/v1\/videos; see docs\/providers\.md$/);
  } finally {
    await fake.close();
    m.cleanup();
  }
});
