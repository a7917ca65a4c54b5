// The gemini provider when things are not simple: video delivered as a URI behind a redirect
// to another origin (the key must stay with Google's API), Google's two error shapes, quota
// with RetryInfo, bodies that are not what they claim, hostile ids, an 8 MB video inline in
// its JSON (parsed and decoded off the loop), cancellation mid-download, and the key kept out
// of every URL and log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withGemini, pollUntilDone, apiRequests, GEMINI_KEY } from './gemini-lib.mjs';
import { ok, toolError, sha256, assertEntries, until } from './video-lib.mjs';

const INTERACTION = 'interactions/*';

test('URI output: streamed through the redirect; the storage origin never sees the key', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
    await pollUntilDone(client, c.id);
    const d = await ok(client, 'download_video', { video_id: c.id, filename: 'clip.mp4' });
    assert.equal(d.structuredContent.sha256, fake.assets.video.sha256);
    assert.equal(sha256(fs.readFileSync(path.join(videos, 'clip.mp4'))), fake.assets.video.sha256);
    const hop = fake.requestsMatching({ origin: 'api', path: 'files/**' });
    assert.equal(hop.length, 1);
    assert.equal(hop[0].status, 302);
    assert.equal(hop[0].headers['x-goog-api-key'], GEMINI_KEY, 'the key goes to the API origin');
    const storage = fake.requestsMatching({ origin: 'storage' });
    assert.equal(storage.length, 1);
    assert.equal(storage[0].status, 200);
    assert.equal(storage[0].headers['x-goog-api-key'], undefined);
    assert.equal(storage[0].headers.authorization, undefined);
    apiRequests(fake);
  }, { fake: { delivery: 'uri' } });
});

test('a URI at another origin is fetched without the key at all', async () => {
  await withGemini(async ({ client, fake }) => {
    const v = fake.addInteraction({ delivery: 'uri' });
    const d = await ok(client, 'download_video', { video_id: v.id });
    assert.equal(d.structuredContent.sha256, fake.assets.video.sha256);
    assert.equal(fake.requestsMatching({ origin: 'api', path: 'files/**' }).length, 0);
    const [storage] = fake.requestsMatching({ origin: 'storage' });
    assert.equal(storage.headers['x-goog-api-key'], undefined);
    assert.equal(storage.status, 200);
  }, { fake: { uriAt: 'storage' } });
});

test('an 8 MB video inline in its JSON: status and download, four downloads at once, every file intact', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(fake.addInteraction({ seconds: 8 }).id);
    const v = (await ok(client, 'get_video_status', { video_id: ids[0] })).structuredContent;
    assert.equal(v.status, 'completed');
    const results = await Promise.all(ids.map((id) => ok(client, 'download_video', { video_id: id })));
    for (const r of results) {
      assert.equal(r.structuredContent.size_bytes, 8_000_000);
      assert.equal(r.structuredContent.sha256, fake.assets.video.sha256);
    }
    for (const id of ids) assert.equal(sha256(fs.readFileSync(path.join(videos, `${id}.mp4`))), fake.assets.video.sha256);
    const gets = fake.requestsMatching({ method: 'GET', path: INTERACTION });
    assert.ok(gets.every((g) => g.responseBytes > 10_000_000), 'the inline videos came as JSON bodies');
  }, { fake: { videoBytes: 8_000_000 } });
});

test('a text block before the video does not hide it', async () => {
  await withGemini(async ({ client, fake }) => {
    const v = fake.addInteraction({});
    const d = await ok(client, 'download_video', { video_id: v.id });
    assert.equal(d.structuredContent.sha256, fake.assets.video.sha256);
  }, { fake: { outputText: 'Here is your video.' } });
});

test('Google\'s error bodies, both shapes, become one sentence', async () => {
  await withGemini(async ({ client, fake }) => {
    fake.faults.add({ method: 'POST', path: 'interactions', status: 403 });
    await toolError(client, 'create_video', { prompt: 'p' }, /^Gemini API error 403 \(PERMISSION_DENIED\): The caller does not have permission/);
    fake.faults.add({ method: 'POST', path: 'interactions', status: 429, retry_delay_s: 17 });
    await toolError(client, 'create_video', { prompt: 'p' },
      /^Gemini API error 429 \(RESOURCE_EXHAUSTED\): You exceeded your current quota, please check your plan and billing details\..* \(retry after 17s\)$/);
    fake.faults.add({ method: 'POST', path: 'interactions', status: 400, style: 'interactions', error: { message: 'Bad field', code: 'invalid_request' } });
    await toolError(client, 'create_video', { prompt: 'p' }, /^Gemini API error 400 \(invalid_request\): Bad field$/);
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 502, body: '<html><body><h1>502 Bad Gateway</h1>\n</body></html>' });
    await toolError(client, 'get_video_status', { video_id: 'v1_x' }, /^Gemini API error 502: <html><body><h1>502 Bad Gateway<\/h1> <\/body><\/html>$/);
    await toolError(client, 'get_video_status', { video_id: 'v1_nope' }, /^Gemini API error 404 \(not_found\): Interaction not found: v1_nope$/);
    await toolError(client, 'create_video', { prompt: 'p', model: 'gemini-nope' },
      /^Gemini API error 404 \(not_found\): models\/gemini-nope is not found for API version v1beta, or is not supported for interactions\.$/);
    fake.configure({ serviceErrorStyle: 'rpc' });
    await toolError(client, 'delete_video', { video_id: 'v1_nope' }, /^Gemini API error 404 \(NOT_FOUND\): Interaction not found: v1_nope$/);
  }, { env: { SANZARU_MAX_RETRIES: '0' } });
});

test('a wrong key reads as Google says it; 429 and 5xx are retried', async () => {
  await withGemini(async ({ client, fake }) => {
    await toolError(client, 'create_video', { prompt: 'p' }, /^Gemini API error 400 \(INVALID_ARGUMENT\): API key not valid\. Please pass a valid API key\.$/);
    fake.configure({ apiKey: null });
    fake.faults.add({ method: 'POST', path: 'interactions', status: 429, retry_after: 0 });
    fake.faults.add({ method: 'POST', path: 'interactions', status: 503 });
    fake.faults.add({ method: 'POST', path: 'interactions', drop: true });
    await ok(client, 'create_video', { prompt: 'p' });
    assert.equal(fake.requestsMatching({ method: 'POST', path: 'interactions' }).length, 5);
  }, { env: { GEMINI_API_KEY: 'wrong', SANZARU_MAX_RETRIES: '3' } });
});

test('answers that are not Interactions: invalid JSON, another shape, data that is not base64 or not an MP4', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    fake.faults.add({ method: 'GET', path: INTERACTION, invalid_json: true });
    await toolError(client, 'get_video_status', { video_id: 'v1_a' }, /^Gemini API returned status 200 with a body that is not JSON: /);
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 200, body: { hello: 'world' } });
    await toolError(client, 'get_video_status', { video_id: 'v1_a' }, /^Gemini returned something that is not an interaction \(no id\)$/);
    const step = (content) => ({ id: 'v1_a', status: 'completed', steps: [{ type: 'model_output', content: [content] }] });
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 200, body: step({ type: 'video', mime_type: 'video/mp4', data: '!!not base64!!' }) });
    await toolError(client, 'download_video', { video_id: 'v1_a' }, /^Gemini returned video v1_a as data that is not valid base64$/);
    const html = Buffer.from('<!DOCTYPE html><html>nope</html>').toString('base64');
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 200, body: step({ type: 'video', mime_type: 'video/mp4', data: html }) });
    await toolError(client, 'download_video', { video_id: 'v1_a' }, /expected an MP4 video, got data starting with '<!DOCTYPE html>/);
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 200, body: step({ type: 'video', mime_type: 'video/mp4', uri: 'gs://bucket/video.mp4' }) });
    await toolError(client, 'download_video', { video_id: 'v1_a' }, /^Gemini gave video v1_a at a URI sanzaru cannot fetch: gs:\/\/bucket\/video\.mp4$/);
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 200, body: step({ type: 'text', text: 'no video here' }) });
    const v = (await ok(client, 'get_video_status', { video_id: 'v1_a' })).structuredContent;
    assert.equal(v.status, 'failed');
    assert.deepEqual(v.error, { code: 'no_video', message: 'Gemini completed the interaction without a video' });
    assertEntries(videos, []);
  });
});

test('hostile ids are refused before any request, on every tool that takes one', async () => {
  await withGemini(async ({ client, fake }) => {
    const ids = ['../x', 'v1_a/b', 'v1_%2e%2e', 'v1 a', 'v1_\u00e9', 'v1_a?key=x', 'v1_a#b', '.', 'v'.repeat(129), 'v1_a\nb'];
    for (const id of ids) {
      await toolError(client, 'get_video_status', { video_id: id }, /^Invalid video_id: /);
      await toolError(client, 'delete_video', { video_id: id }, /^Invalid video_id: /);
      await toolError(client, 'download_video', { video_id: id }, /^Invalid video_id: /);
      await toolError(client, 'remix_video', { previous_video_id: id, prompt: 'p' }, /^Invalid previous_video_id: /);
    }
    assert.equal(fake.requests.length, 0);
  });
});

test('cancelling a download mid-transfer leaves no file behind', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    const v = fake.addInteraction({ delivery: 'uri' });
    fake.faults.add({ origin: 'storage', path: 'gemini-media/*', stall_ms: 20000, stall_after_bytes: 300_000 });
    const ac = new AbortController();
    const call = client.callTool({ name: 'download_video', arguments: { video_id: v.id } }, undefined, { signal: ac.signal });
    await until(() => fake.requestsMatching({ origin: 'storage' })[0]?.stalled);
    ac.abort();
    await assert.rejects(call);
    // the server cancels the transfer and removes its temporary
    await until(() => fs.readdirSync(videos).length === 0, 5000);
    assertEntries(videos, []);
    await ok(client, 'list_local_videos', {});
  }, { fake: { videoBytes: 2_000_000 } });
});

test('the key is never in a URL or a log line, even at DEBUG with failures', async () => {
  await withGemini(async ({ client, fake, stderr }) => {
    fake.faults.add({ method: 'GET', path: INTERACTION, status: 500, count: 1 });
    const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
    await pollUntilDone(client, c.id);
    await ok(client, 'download_video', { video_id: c.id });
    await toolError(client, 'get_video_status', { video_id: 'v1_missing' }, /404/);
    const reqs = apiRequests(fake);
    assert.ok(reqs.length >= 6);
    for (const r of fake.requests) assert.ok(!r.path.includes(GEMINI_KEY) && !JSON.stringify(r.query).includes(GEMINI_KEY));
    assert.ok(!stderr().includes(GEMINI_KEY), 'the key is not in the log');
    assert.match(stderr(), /DEBUG/);
  }, { env: { LOG_LEVEL: 'DEBUG' }, fake: { delivery: 'uri' } });
});
