// The video tools on the azure provider, end to end: the real server configured with
// nothing but AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY, against the fake OpenAI server
// acting as Azure OpenAI's v1 API (paths under /openai/v1, the key in `api-key`). Every tool;
// the key never sent as a bearer token nor anywhere but the resource; Azure's errors named as
// Azure's; ids the ledger knows as Azure's stay with Azure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { withUpstream, ok, toolError, sha256, PNG, assertEntries } from './video-lib.mjs';

const AZURE_KEY = 'az-test-key-0123';

export async function withAzure(fn, opts = {}) {
  const fake = await startFakeOpenAI({ flavour: 'azure', apiKey: AZURE_KEY, ...(opts.fake || {}) });
  await withUpstream(fake, { AZURE_OPENAI_ENDPOINT: fake.endpoint, AZURE_OPENAI_API_KEY: AZURE_KEY }, fn, opts);
}

/** Every request reached /openai/v1 with the key in api-key, never as a bearer token. */
function checkCredentials(fake) {
  assert.ok(fake.requests.length > 0);
  for (const r of fake.requests) {
    assert.match(r.path, /^\/openai\/v1\//, r.path);
    assert.equal(r.headers['api-key'], AZURE_KEY, `${r.method} ${r.path}`);
    assert.equal(r.headers.authorization, undefined, `${r.method} ${r.path}: no Authorization header`);
    assert.ok(!r.path.includes(AZURE_KEY) && !JSON.stringify(r.query).includes(AZURE_KEY));
  }
}

test('the whole flow with only Azure settings: create, poll, download every variant, remix, list, delete', async () => {
  await withAzure(async ({ client, fake, videos, images, stderr }) => {
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'create_video').inputSchema.properties.model.default, 'sora-2');
    fs.writeFileSync(path.join(images, 'frame.png'), PNG);
    const c = (await ok(client, 'create_video', { prompt: 'A lighthouse', size: '1280x720', seconds: '8', input_reference_filename: 'frame.png' })).structuredContent;
    const [rec] = fake.requestsMatching({ method: 'POST', path: 'videos' });
    assert.deepEqual(rec.fields, { prompt: 'A lighthouse', model: 'sora-2', seconds: '8', size: '1280x720' });
    assert.equal(rec.files[0].sha256, sha256(PNG));
    assert.equal(c.status, 'queued');
    let v;
    for (let i = 0; i < 6 && v?.status !== 'completed'; i++) v = (await ok(client, 'get_video_status', { video_id: c.id })).structuredContent;
    assert.equal(v.status, 'completed');
    assert.equal(v.progress, 100);
    for (const [variant, ext, asset] of [['video', 'mp4', 'video'], ['thumbnail', 'webp', 'thumbnail'], ['spritesheet', 'jpg', 'spritesheet']]) {
      const d = (await ok(client, 'download_video', { video_id: c.id, variant })).structuredContent;
      assert.equal(d.filename, `${c.id}.${ext}`);
      assert.equal(d.sha256, fake.assets[asset].sha256);
    }
    assertEntries(videos, [`${c.id}.mp4`, `${c.id}.webp`, `${c.id}.jpg`]);
    const r = (await ok(client, 'remix_video', { previous_video_id: c.id, prompt: 'At dusk' })).structuredContent;
    assert.equal(r.remixed_from_video_id, c.id);
    const list = (await ok(client, 'list_videos', {})).structuredContent;
    assert.deepEqual(list.data.map((x) => x.id), [r.id, c.id]);
    assert.equal(fake.requestsMatching({ method: 'GET', path: 'videos' }).length, 1, 'Azure lists itself');
    assert.deepEqual((await ok(client, 'delete_video', { video_id: r.id })).structuredContent, { id: r.id, object: 'video.deleted', deleted: true });
    checkCredentials(fake);
    assert.ok(!stderr().includes(AZURE_KEY));
  });
});

test('Azure\'s errors are named as Azure\'s; a 404 there is not the retirement', async () => {
  await withAzure(async ({ client, fake }) => {
    await toolError(client, 'get_video_status', { video_id: 'video_nope' }, /^Azure OpenAI API error 404 \(invalid_request_error\): No video found with id 'video_nope'\.$/);
    fake.faults.add({ method: 'POST', path: 'videos', status: 404 });
    await toolError(client, 'create_video', { prompt: 'p' }, /^Azure OpenAI API error 404/);
    await toolError(client, 'create_video', { prompt: 'p', size: '1920x1080' }, /^sora-2 cannot make size 1920x1080/);
  }, { env: { SANZARU_MAX_RETRIES: '0' } });
});

test('a wrong Azure key reads as Azure says it', async () => {
  await withAzure(async ({ client }) => {
    await toolError(client, 'list_videos', {}, /^Azure OpenAI API error 401 \(401\): Access denied due to invalid subscription key or wrong API endpoint/);
  }, { env: { AZURE_OPENAI_API_KEY: 'wrong' } });
});

test('AZURE_OPENAI_ENDPOINT given with /openai/v1 already works the same', async () => {
  const fake = await startFakeOpenAI({ flavour: 'azure', apiKey: AZURE_KEY });
  await withUpstream(fake, { AZURE_OPENAI_ENDPOINT: `${fake.url}/`, AZURE_OPENAI_API_KEY: AZURE_KEY }, async ({ client }) => {
    await ok(client, 'create_video', { prompt: 'p' });
    checkCredentials(fake);
  });
});

test('an endpoint without a key: the video tools say which variable is missing', async () => {
  const fake = await startFakeOpenAI({ flavour: 'azure' });
  await withUpstream(fake, { AZURE_OPENAI_ENDPOINT: fake.endpoint, SANZARU_VIDEO_PROVIDER: 'azure' }, async ({ client }) => {
    await toolError(client, 'create_video', { prompt: 'p' }, /^No video provider is configured/);
    assert.equal(fake.requests.length, 0);
  });
});
