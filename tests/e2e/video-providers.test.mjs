// Which provider serves a video call, end to end, with several fake upstreams at once (the
// fake Gemini, the fake OpenAI as OpenAI and as Azure OpenAI): the default provider and its
// model, a model's prefix, an id that stays with the provider that made it (the ledger; the
// id's shape when the ledger does not know it), and Sora's retirement said plainly when the
// openai provider meets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { withServer, withUpstream, ok, toolError } from './video-lib.mjs';

const RETIRED = /^OpenAI retired the Videos API \(sora-2, sora-2-pro\) on 2026-09-24: http:\/\/127\.0\.0\.1:\d+\/v1 no longer makes videos \(OpenAI API error (404|410)[^)]*\)[^]*To keep making videos set GEMINI_API_KEY for Google's Gemini Omni \(gemini-omni-1\.1-flash\), or AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY for Sora on Azure OpenAI, or OPENAI_BASE_URL to a gateway that still serves \/v1\/videos; see docs\/providers\.md$/;

/** Runs fn with the fake Gemini, the fake OpenAI and the fake Azure all configured (opts.use
 *  picks which are), closing the extra fakes afterwards. */
async function withAll(fn, { use = ['gemini', 'openai', 'azure'], env = {} } = {}) {
  const gemini = await startFakeGemini({});
  const azure = await startFakeOpenAI({ flavour: 'azure' });
  const openai = await startFakeOpenAI({});
  const upstreamEnv = {};
  if (use.includes('gemini')) Object.assign(upstreamEnv, { GEMINI_API_KEY: 'gk', GEMINI_BASE_URL: gemini.url });
  if (use.includes('openai')) Object.assign(upstreamEnv, { OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: openai.url });
  if (use.includes('azure')) Object.assign(upstreamEnv, { AZURE_OPENAI_ENDPOINT: azure.endpoint, AZURE_OPENAI_API_KEY: 'ak' });
  try {
    // withUpstream closes the fake it is given; the other two are closed here
    await withUpstream(gemini, upstreamEnv, (ctx) => fn({ ...ctx, gemini, azure, openai }), { env });
  } finally {
    await azure.close();
    await openai.close();
  }
}

const count = (fake) => fake.requests.length;

test('with Gemini, Azure and OpenAI configured: Gemini by default, sora-* on Azure, and every id stays home', async () => {
  await withAll(async ({ client, gemini, azure, openai }) => {
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'create_video').inputSchema.properties.model.default, 'gemini-omni-1.1-flash');
    const g = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
    assert.match(g.id, /^v1_/);
    const s = (await ok(client, 'create_video', { prompt: 'p', model: 'sora-2' })).structuredContent;
    assert.equal(azure.requestsMatching({ method: 'POST', path: 'videos' }).length, 1, 'sora-2 goes to Azure, not to the retired OpenAI');
    assert.equal(count(openai), 0);
    const before = [count(gemini), count(azure), count(openai)];
    await ok(client, 'get_video_status', { video_id: g.id });
    await ok(client, 'get_video_status', { video_id: s.id });
    assert.deepEqual([count(gemini), count(azure), count(openai)], [before[0] + 1, before[1] + 1, before[2]]);
    // remix and delete follow the ledger too
    gemini.finish(g.id);
    azure.completeVideo(s.id);
    await ok(client, 'remix_video', { previous_video_id: s.id, prompt: 'q' });
    await ok(client, 'remix_video', { previous_video_id: g.id, prompt: 'q' });
    assert.equal(azure.requestsMatching({ method: 'POST', path: 'videos/*/remix' }).length, 1);
    assert.equal(gemini.requestsMatching({ method: 'POST', path: 'interactions' }).length, 2);
    await ok(client, 'delete_video', { video_id: s.id });
    assert.equal(azure.requestsMatching({ method: 'DELETE' }).length, 1);
    // list_videos: the default provider's (Gemini's ledger)
    const list = (await ok(client, 'list_videos', {})).structuredContent;
    assert.ok(list.data.every((v) => v.id.startsWith('v1_')));
    assert.equal(count(openai), 0);
  });
});

test('an id the ledger does not know goes by its shape: video_ to OpenAI (ids made before the ledger), v1_ to Gemini', async () => {
  await withAll(async ({ client, gemini, azure, openai }) => {
    const old = openai.addVideo({});
    const v = (await ok(client, 'get_video_status', { video_id: old.id })).structuredContent;
    assert.equal(v.id, old.id);
    const d = (await ok(client, 'download_video', { video_id: old.id })).structuredContent;
    assert.equal(d.sha256, openai.assets.video.sha256);
    assert.equal(count(azure), 0);
    const it = gemini.addInteraction({});
    assert.equal((await ok(client, 'get_video_status', { video_id: it.id })).structuredContent.status, 'completed');
    assert.equal(openai.requestsMatching({ path: '**' }).length, 2);
  });
});

test('SANZARU_VIDEO_PROVIDER=openai makes OpenAI the default: its model, its list', async () => {
  await withAll(async ({ client, openai, gemini }) => {
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'create_video').inputSchema.properties.model.default, 'sora-2');
    const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
    assert.equal(c.model, 'sora-2');
    await ok(client, 'list_videos', {});
    assert.equal(openai.requestsMatching({ method: 'GET', path: 'videos' }).length, 1);
    // a gemini-* model still goes to Gemini
    await ok(client, 'create_video', { prompt: 'p', model: 'gemini-omni-1.1-flash' });
    assert.equal(gemini.requestsMatching({ method: 'POST', path: 'interactions' }).length, 1);
  }, { use: ['gemini', 'openai'], env: { SANZARU_VIDEO_PROVIDER: 'openai' } });
});

test('SANZARU_VIDEO_MODEL picks the default model, and through it the provider', async () => {
  await withAll(async ({ client, gemini }) => {
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'create_video').inputSchema.properties.model.default, 'gemini-omni-1.2-flash');
    const c = (await ok(client, 'create_video', { prompt: 'p', seconds: '12' })).structuredContent;
    assert.equal(c.model, 'gemini-omni-1.2-flash');
    assert.equal(gemini.requests.length, 1);
  }, { use: ['gemini', 'openai'], env: { SANZARU_VIDEO_MODEL: 'gemini-omni-1.2-flash' } });
});

const secondsEnum = async (client) => {
  const { tools } = await client.listTools();
  const p = tools.find((t) => t.name === 'create_video').inputSchema.properties.seconds;
  return (p.anyOf?.[0] ?? p).enum;
};

test("seconds offers what the configured providers make: Sora's 4, 8, 12 alone, Gemini's 3 to 15 beside it", async () => {
  await withAll(async ({ client }) => {
    assert.deepEqual(await secondsEnum(client), ['4', '8', '12']);
  }, { use: ['azure', 'openai'] });
  await withAll(async ({ client, azure, gemini }) => {
    assert.deepEqual(await secondsEnum(client), ['3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15']);
    // Sora still refuses what it cannot make, before any request, naming what it makes
    await toolError(client, 'create_video', { prompt: 'p', model: 'sora-2', seconds: '5' }, /^sora-2 cannot make 5 seconds: Sora makes 4, 8 or 12$/);
    assert.equal(count(azure), 0);
    await ok(client, 'create_video', { prompt: 'p', seconds: '5' });
    assert.equal(gemini.requestsMatching({ method: 'POST', path: 'interactions' })[0].json.response_format.duration, '5s');
  }, { use: ['gemini', 'azure'] });
});

test('a Gemini id or model without a Gemini key says which key is missing, and nothing is sent', async () => {
  await withServer(async ({ client, fake }) => {
    await toolError(client, 'get_video_status', { video_id: 'v1_abc' }, /^GEMINI_API_KEY is not set: this video is on Google's Gemini API \(set GEMINI_API_KEY or GOOGLE_API_KEY\)$/);
    await toolError(client, 'create_video', { prompt: 'p', model: 'gemini-omni-1.1-flash' }, /^GEMINI_API_KEY is not set: the model gemini-omni-1\.1-flash runs on Google's Gemini API/);
    assert.equal(fake.requests.length, 0);
  });
});

test('GOOGLE_API_KEY works as the Gemini key', async () => {
  const gemini = await startFakeGemini({ apiKey: 'goog' });
  await withUpstream(gemini, { GOOGLE_API_KEY: 'goog', GEMINI_BASE_URL: gemini.url }, async ({ client }) => {
    await ok(client, 'create_video', { prompt: 'p' });
    assert.equal(gemini.requests[0].headers['x-goog-api-key'], 'goog');
  });
});

// ---- Sora's retirement ------------------------------------------------------------------

test('only an OpenAI key, and the Videos API gone (404): every video tool says OpenAI retired it and what to do', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const calls = [
      ['create_video', { prompt: 'p' }],
      ['list_videos', {}],
      ['get_video_status', { video_id: 'video_1' }],
      ['download_video', { video_id: 'video_1' }],
      ['remix_video', { previous_video_id: 'video_1', prompt: 'x' }],
      ['delete_video', { video_id: 'video_1' }],
    ];
    for (const [name, args] of calls) await toolError(client, name, args, RETIRED);
    assert.equal(fs.readdirSync(videos).length, 0);
    assert.equal(fake.requests.length, calls.length);
  }, { fake: { videosRetired: 404 } });
});

test('410 Gone and model_not_found for a Sora model read as the retirement too', async () => {
  await withServer(async ({ client, fake }) => {
    await toolError(client, 'get_video_status', { video_id: 'video_1' }, RETIRED);
    fake.configure({ videosRetired: null });
    fake.faults.add({ method: 'POST', path: 'videos', status: 404, error: { message: 'The model `sora-2` does not exist or you do not have access to it.', code: 'model_not_found', type: 'invalid_request_error' } });
    await toolError(client, 'create_video', { prompt: 'p' }, /^OpenAI retired the Videos API .*\(OpenAI API error 404 \(model_not_found\): The model `sora-2` does not exist/);
  }, { fake: { videosRetired: 410 } });
});

test('a 404 for one unknown video at a gateway that serves the Videos API is just that', async () => {
  await withServer(async ({ client }) => {
    await toolError(client, 'get_video_status', { video_id: 'video_nope' }, /^OpenAI API error 404 \(invalid_request_error\): No video found with id 'video_nope'\.$/);
  });
});

