// The video tools end to end: the official SDK client over stdio against the real
// server and the in-process fake OpenAI server. Happy paths, checking both what the tool
// returned and what the fake recorded (multipart fields and file parts, JSON bodies,
// query strings), and the whole flow create -> poll -> download -> list -> read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { rawServer, serverBin, tempMedia } from './lib.mjs';
import { withServer, ok, toolError, sha256, PNG, JPEG_64x48, WEBP_64x48, assertEntries, contentRequests } from './video-lib.mjs';

const VIDEO_TOOLS = ['create_video', 'get_video_status', 'download_video', 'list_videos', 'delete_video', 'remix_video'];

test('tools/list describes the six video tools with the annotations of TOOLS.md', async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const name of VIDEO_TOOLS) {
      const t = byName[name];
      assert.ok(t, `${name} listed`);
      assert.ok(t.title && t.description.length > 40, `${name} has a title and a description`);
      assert.equal(t.inputSchema.additionalProperties, false, name);
      assert.ok(t.outputSchema, `${name} has an output schema`);
    }
    const hints = (n) => {
      const a = byName[n].annotations;
      return [a.readOnlyHint, a.destructiveHint, a.idempotentHint, a.openWorldHint];
    };
    // read-only + open world
    assert.deepEqual(hints('get_video_status'), [true, undefined, undefined, true]);
    assert.deepEqual(hints('list_videos'), [true, undefined, undefined, true]);
    // writes, open world
    assert.deepEqual(hints('create_video'), [false, false, false, true]);
    assert.deepEqual(hints('remix_video'), [false, false, false, true]);
    // writes, idempotent, open world
    assert.deepEqual(hints('download_video'), [false, false, true, true]);
    // destructive, idempotent, open world
    assert.deepEqual(hints('delete_video'), [false, true, true, true]);

    // Optional parameters are nullable as the original declares them (pydantic's
    // anyOf [T, null]); the value's own schema is the first branch.
    const opt = (p) => {
      assert.deepEqual(p.anyOf?.[1], { type: 'null' }, `nullable: ${JSON.stringify(p)}`);
      return p.anyOf[0];
    };
    const cv = byName.create_video.inputSchema;
    assert.deepEqual(cv.required, ['prompt']);
    assert.deepEqual(cv.properties.prompt.type, 'string');
    assert.deepEqual(opt(cv.properties.seconds).enum, ['4', '8', '12']);
    assert.equal(cv.properties.seconds.default, null);
    assert.deepEqual(opt(cv.properties.size).enum, ['720x1280', '1280x720', '1024x1792', '1792x1024', '1920x1080', '1080x1920']);
    assert.equal(opt(cv.properties.model).type, 'string');
    assert.equal(opt(cv.properties.model).enum, undefined, 'model is a free string');
    assert.equal(cv.properties.model.default, 'sora-2');
    assert.equal(cv.properties.input_reference_filename.default, null);
    const dv = byName.download_video.inputSchema;
    assert.deepEqual(dv.required, ['video_id']);
    assert.deepEqual(opt(dv.properties.variant).enum, ['video', 'thumbnail', 'spritesheet']);
    assert.equal(dv.properties.variant.default, 'video');
    assert.equal(opt(dv.properties.overwrite).type, 'boolean');
    const lv = byName.list_videos.inputSchema;
    assert.equal(lv.properties.limit.default, 20);
    assert.equal(opt(lv.properties.limit).minimum, 1);
    assert.equal(opt(lv.properties.limit).maximum, 100);
    assert.deepEqual(opt(lv.properties.order).enum, ['asc', 'desc']);
    assert.equal(lv.properties.order.default, 'desc');
    assert.deepEqual(byName.remix_video.inputSchema.required.sort(), ['previous_video_id', 'prompt']);
    // the descriptions tell a model how the tools fit together
    assert.match(byName.create_video.description, /get_video_status/);
    assert.match(byName.get_video_status.description, /download_video/);
  });
});

test('create_video sends only prompt and model by default, as multipart', async () => {
  await withServer(async ({ client, fake }) => {
    const r = await ok(client, 'create_video', { prompt: 'A red fox in the snow' });
    const [rec] = fake.requestsMatching({ method: 'POST', path: 'videos' });
    assert.match(rec.contentType, /^multipart\/form-data; boundary=/);
    assert.deepEqual(rec.fields, { prompt: 'A red fox in the snow', model: 'sora-2' });
    assert.deepEqual(rec.files, []);
    assert.equal(rec.headers.authorization, 'Bearer sk-test');
    const v = r.structuredContent;
    assert.equal(v.id, rec.created);
    assert.equal(v.object, 'video');
    assert.equal(v.status, 'queued');
    assert.equal(v.prompt, 'A red fox in the snow');
    assert.deepEqual(v, fake.snapshot().videos.map(({ polls, input_reference, ...x }) => x)[0]);
  });
});

test('create_video sends seconds, size, model and a PNG reference as a file part', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'first frame.png'), PNG);
    const r = await ok(client, 'create_video', {
      prompt: 'The frame comes alive',
      model: 'sora-2-pro-2025-10-06',
      seconds: '8',
      size: '1280x720',
      input_reference_filename: 'first frame.png',
    });
    const [rec] = fake.requestsMatching({ method: 'POST', path: 'videos' });
    assert.deepEqual(rec.fields, { prompt: 'The frame comes alive', model: 'sora-2-pro-2025-10-06', seconds: '8', size: '1280x720' });
    assert.equal(rec.files.length, 1);
    const f = rec.files[0];
    assert.equal(f.name, 'input_reference');
    assert.equal(f.filename, 'first frame.png');
    assert.equal(f.contentType, 'image/png');
    assert.equal(f.bytes, PNG.length);
    assert.equal(f.sha256, sha256(PNG));
    assert.equal(r.structuredContent.seconds, '8');
    assert.equal(r.structuredContent.size, '1280x720');
    assert.equal(r.structuredContent.model, 'sora-2-pro-2025-10-06');
  });
});

test('create_video sends JPEG (.jpg and .jpeg) and WEBP references with their MIME types', async () => {
  await withServer(async ({ client, fake, images }) => {
    const cases = [
      ['ref.jpg', JPEG_64x48, 'image/jpeg'],
      ['ref.JPEG', JPEG_64x48, 'image/jpeg'],
      ['ref.webp', WEBP_64x48, 'image/webp'],
    ];
    for (const [name, bytes] of cases) fs.writeFileSync(path.join(images, name), bytes);
    for (const [name, bytes, mime] of cases) {
      await ok(client, 'create_video', { prompt: 'p', input_reference_filename: name });
      const recs = fake.requestsMatching({ method: 'POST', path: 'videos' });
      const f = recs[recs.length - 1].files[0];
      assert.equal(f.contentType, mime, name);
      assert.equal(f.sha256, sha256(bytes), name);
      assert.equal(f.filename, name);
    }
  });
});

test('create_video takes its default model from SANZARU_VIDEO_MODEL', async () => {
  await withServer(
    async ({ client, fake }) => {
      await ok(client, 'create_video', { prompt: 'p' });
      assert.equal(fake.requestsMatching({ method: 'POST', path: 'videos' })[0].fields.model, 'sora-2-pro');
    },
    { env: { SANZARU_VIDEO_MODEL: 'sora-2-pro' } },
  );
});

test('the Video object passes through, unknown fields included', async () => {
  const video = {
    id: 'video_new',
    object: 'video',
    model: 'sora-3',
    status: 'queued',
    progress: 0,
    created_at: 1700000000,
    completed_at: null,
    expires_at: null,
    prompt: 'p',
    size: '720x1280',
    seconds: '4',
    remixed_from_video_id: null,
    error: null,
    quality: 'cinematic',
    nested: { a: [1, 2] },
  };
  await withServer(async ({ client, fake }) => {
    fake.faults.add({ method: 'POST', path: 'videos', status: 200, body: video });
    const r = await ok(client, 'create_video', { prompt: 'p' });
    assert.deepEqual(r.structuredContent, video);
    fake.faults.add({ method: 'GET', path: 'videos/video_new', status: 200, body: { ...video, status: 'in_progress', progress: 42 } });
    const g = await ok(client, 'get_video_status', { video_id: 'video_new' });
    assert.deepEqual(g.structuredContent, { ...video, status: 'in_progress', progress: 42 });
  });
});

test('get_video_status follows a video from queued to completed, and reports a failure', async () => {
  await withServer(async ({ client, fake }) => {
    const { structuredContent: v } = await ok(client, 'create_video', { prompt: 'p' });
    const seen = [];
    for (let i = 0; i < 6; i++) {
      const r = await ok(client, 'get_video_status', { video_id: v.id });
      seen.push(r.structuredContent.status);
      assert.equal(r.structuredContent.id, v.id);
    }
    assert.deepEqual(seen, ['queued', 'in_progress', 'in_progress', 'completed', 'completed', 'completed']);
    const gets = fake.requestsMatching({ method: 'GET', path: `videos/${v.id}` });
    assert.equal(gets.length, 6);

    fake.failNextVideo({ code: 'moderation_blocked', message: 'Your request was blocked by moderation.' });
    const { structuredContent: bad } = await ok(client, 'create_video', { prompt: 'p' });
    let f;
    for (let i = 0; i < 4; i++) f = await ok(client, 'get_video_status', { video_id: bad.id });
    assert.equal(f.structuredContent.status, 'failed');
    assert.deepEqual(f.structuredContent.error, { code: 'moderation_blocked', message: 'Your request was blocked by moderation.' });
  });
});

test('list_videos sends limit, after and order and summarises each video', async () => {
  await withServer(async ({ client, fake }) => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(fake.addVideo({ prompt: `v${i}`, seconds: '8', size: '1792x1024', model: 'sora-2-pro' }).id);

    const all = await ok(client, 'list_videos', {});
    let rec = fake.requestsMatching({ method: 'GET', path: 'videos' }).at(-1);
    assert.deepEqual(rec.query, { limit: '20', order: 'desc' });
    assert.deepEqual(all.structuredContent.data.map((v) => v.id), [...ids].reverse());
    assert.equal(all.structuredContent.has_more, false);
    assert.equal(all.structuredContent.last, ids[0]);
    const item = all.structuredContent.data[0];
    assert.deepEqual(Object.keys(item).sort(), ['created_at', 'id', 'model', 'progress', 'seconds', 'size', 'status']);
    assert.deepEqual(
      { status: item.status, seconds: item.seconds, size: item.size, model: item.model, progress: item.progress },
      { status: 'completed', seconds: '8', size: '1792x1024', model: 'sora-2-pro', progress: 100 },
    );
    assert.equal(typeof item.created_at, 'number');

    const p1 = await ok(client, 'list_videos', { limit: 2, order: 'asc' });
    rec = fake.requestsMatching({ method: 'GET', path: 'videos' }).at(-1);
    assert.deepEqual(rec.query, { limit: '2', order: 'asc' });
    assert.deepEqual(p1.structuredContent.data.map((v) => v.id), ids.slice(0, 2));
    assert.equal(p1.structuredContent.has_more, true);
    assert.equal(p1.structuredContent.last, ids[1]);

    const p2 = await ok(client, 'list_videos', { limit: 2, order: 'asc', after: p1.structuredContent.last });
    rec = fake.requestsMatching({ method: 'GET', path: 'videos' }).at(-1);
    assert.deepEqual(rec.query, { limit: '2', after: ids[1], order: 'asc' });
    assert.deepEqual(p2.structuredContent.data.map((v) => v.id), ids.slice(2, 4));
  });
});

test('list_videos escapes after into the query string', async () => {
  await withServer(async ({ client, fake }) => {
    fake.faults.add({ method: 'GET', path: 'videos', status: 200, body: { object: 'list', data: [], has_more: false } });
    await ok(client, 'list_videos', { after: 'x&limit=100 /../?#é' });
    const rec = fake.requestsMatching({ method: 'GET', path: 'videos' })[0];
    assert.equal(rec.path, '/v1/videos');
    assert.deepEqual(rec.query, { limit: '20', after: 'x&limit=100 /../?#é', order: 'desc' });
  });
});

test('list_videos: last falls back to the last item, else null', async () => {
  await withServer(async ({ client, fake }) => {
    fake.faults.add({
      method: 'GET',
      path: 'videos',
      status: 200,
      body: { object: 'list', data: [{ id: 'video_a', status: 'queued' }, { id: 'video_b', status: 'failed', extra: 1 }], has_more: true },
    });
    const r = await ok(client, 'list_videos', {});
    assert.equal(r.structuredContent.last, 'video_b');
    assert.equal(r.structuredContent.has_more, true);
    assert.deepEqual(r.structuredContent.data[1], {
      id: 'video_b', status: 'failed', created_at: null, seconds: null, size: null, model: null, progress: null,
    });
    fake.faults.add({ method: 'GET', path: 'videos', status: 200, body: { object: 'list', data: [], has_more: false, first_id: null, last_id: null } });
    const e = await ok(client, 'list_videos', {});
    assert.deepEqual(e.structuredContent, { data: [], has_more: false, last: null });
  });
});

test('remix_video posts JSON {prompt} to /videos/{id}/remix and returns the new video', async () => {
  await withServer(async ({ client, fake }) => {
    const src = fake.addVideo({ prompt: 'a cat' });
    const r = await ok(client, 'remix_video', { previous_video_id: src.id, prompt: 'make it a dog' });
    const [rec] = fake.requestsMatching({ method: 'POST', path: `videos/${src.id}/remix` });
    assert.match(rec.contentType, /^application\/json/);
    assert.deepEqual(rec.json, { prompt: 'make it a dog' });
    assert.equal(r.structuredContent.remixed_from_video_id, src.id);
    assert.equal(r.structuredContent.prompt, 'make it a dog');
    assert.notEqual(r.structuredContent.id, src.id);
    assert.equal(r.structuredContent.id, rec.created);
  });
});

test('delete_video deletes upstream and leaves downloaded files alone', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    await ok(client, 'download_video', { video_id: v.id, filename: 'kept.mp4' });
    const r = await ok(client, 'delete_video', { video_id: v.id });
    assert.deepEqual(r.structuredContent, { id: v.id, object: 'video.deleted', deleted: true });
    assert.equal(fake.requestsMatching({ method: 'DELETE', path: `videos/${v.id}` }).length, 1);
    assert.equal(fake.state.videos.has(v.id), false);
    assertEntries(videos, ['kept.mp4']);
    assert.equal(sha256(fs.readFileSync(path.join(videos, 'kept.mp4'))), fake.assets.video.sha256);
    await toolError(client, 'get_video_status', { video_id: v.id }, /OpenAI API error 404.*No video found/);
  });
});

test('the whole flow: create, poll until completed, download with progress, list, read', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const { structuredContent: created } = await ok(client, 'create_video', { prompt: 'A lighthouse at dusk', seconds: '4' });
    let status = created.status;
    let polls = 0;
    while (status !== 'completed') {
      assert.ok(++polls < 20, 'completes within 20 polls');
      status = (await ok(client, 'get_video_status', { video_id: created.id })).structuredContent.status;
      assert.notEqual(status, 'failed');
    }
    const progress = [];
    const r = await ok(client, 'download_video', { video_id: created.id }, { onprogress: (p) => progress.push(p) });
    const name = `${created.id}.mp4`;
    assert.deepEqual(r.structuredContent, {
      filename: name,
      variant: 'video',
      size_bytes: fake.assets.video.length,
      sha256: fake.assets.video.sha256,
    });
    // [text, resource_link]
    assert.equal(r.content.length, 2);
    assert.deepEqual(r.content[1], {
      type: 'resource_link',
      uri: `sanzaru://videos/${name}`,
      name,
      mimeType: 'video/mp4',
      size: fake.assets.video.length,
    });
    const [rec] = contentRequests(fake);
    assert.deepEqual(rec.query, { variant: 'video' });
    assert.equal(rec.path, `/v1/videos/${created.id}/content`);
    // progress: bytes so far, increasing, total = Content-Length (the raw-wire test below
    // checks the last one too: the SDK may drop a notification that arrives with the result)
    assert.ok(progress.length >= 1, `progress notifications: ${progress.length}`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
    for (const p of progress) assert.equal(p.total, fake.assets.video.length);

    assertEntries(videos, [name]);
    const bytes = fs.readFileSync(path.join(videos, name));
    assert.equal(sha256(bytes), fake.assets.video.sha256);

    const local = await ok(client, 'list_local_videos', {});
    assert.equal(local.structuredContent.data.length, 1);
    assert.equal(local.structuredContent.data[0].filename, name);
    assert.equal(local.structuredContent.data[0].size_bytes, fake.assets.video.length);
    assert.equal(local.structuredContent.data[0].file_type, 'mp4');

    const res = await client.readResource({ uri: `sanzaru://videos/${name}` });
    assert.equal(res.contents.length, 1);
    assert.equal(res.contents[0].mimeType, 'video/mp4');
    assert.equal(sha256(Buffer.from(res.contents[0].blob, 'base64')), fake.assets.video.sha256);
  });
});

test('download_video progress on the wire: bytes so far, increasing, ending at the total, before the result', async () => {
  const fake = await startFakeOpenAI();
  const media = tempMedia();
  const s = rawServer({
    bin: serverBin,
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, SANZARU_MEDIA_PATH: media.dir },
  });
  try {
    await s.initialize();
    const v = fake.addVideo({});
    s.sendJson({
      jsonrpc: '2.0', id: 7, method: 'tools/call',
      params: { name: 'download_video', arguments: { video_id: v.id }, _meta: { progressToken: 'dl' } },
    });
    const progress = [];
    for (;;) {
      const m = await s.next((x) => x.id === 7 || x.method === 'notifications/progress', 30000);
      if (m.id === 7) {
        assert.equal(m.result.isError, undefined, JSON.stringify(m.result));
        break;
      }
      assert.equal(m.params.progressToken, 'dl');
      progress.push(m.params);
    }
    const total = fake.assets.video.length;
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
    for (const p of progress) assert.equal(p.total, total);
    assert.ok(progress[0].progress < total);
    assert.equal(progress.at(-1).progress, total);
    // no progress without a token
    s.sendJson({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'download_video', arguments: { video_id: v.id } } });
    await s.next((x) => x.id === 8, 30000);
    assert.equal(s.pending().filter((x) => x.method === 'notifications/progress').length, 0);
  } finally {
    s.child.stdin.end();
    await s.exited;
    await fake.close();
    media.cleanup();
  }
  assert.doesNotMatch(s.stderr(), /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/);
});

test('download_video saves the thumbnail and the spritesheet under default names', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    const t = await ok(client, 'download_video', { video_id: v.id, variant: 'thumbnail' });
    assert.deepEqual(t.structuredContent, {
      filename: `${v.id}.webp`, variant: 'thumbnail', size_bytes: WEBP_64x48.length, sha256: sha256(WEBP_64x48),
    });
    assert.equal(t.content[1].mimeType, 'image/webp');
    const s = await ok(client, 'download_video', { video_id: v.id, variant: 'spritesheet' });
    assert.deepEqual(s.structuredContent, {
      filename: `${v.id}.jpg`, variant: 'spritesheet', size_bytes: JPEG_64x48.length, sha256: sha256(JPEG_64x48),
    });
    assert.equal(s.content[1].mimeType, 'image/jpeg');
    assert.deepEqual(contentRequests(fake).map((r) => r.query.variant), ['thumbnail', 'spritesheet']);
    assert.deepEqual(fs.readFileSync(path.join(videos, `${v.id}.webp`)), WEBP_64x48);
    assert.deepEqual(fs.readFileSync(path.join(videos, `${v.id}.jpg`)), JPEG_64x48);
  });
});

test('download_video: a second download under the default name gets a free name', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    const a = await ok(client, 'download_video', { video_id: v.id, variant: 'thumbnail' });
    const b = await ok(client, 'download_video', { video_id: v.id, variant: 'thumbnail' });
    assert.equal(a.structuredContent.filename, `${v.id}.webp`);
    assert.equal(b.structuredContent.filename, `${v.id}-1.webp`);
    assert.equal(b.content[1].uri, `sanzaru://videos/${v.id}-1.webp`);
    assertEntries(videos, [`${v.id}.webp`, `${v.id}-1.webp`]);
  });
});

test('download_video of an unfinished video fails with the API message and writes nothing', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const { structuredContent: v } = await ok(client, 'create_video', { prompt: 'p' });
    await toolError(client, 'download_video', { video_id: v.id }, /OpenAI API error 404 \(video_not_ready\): Video is not ready yet/);
    await toolError(client, 'download_video', { video_id: 'video_nope' }, /OpenAI API error 404.*No video found with id 'video_nope'/);
    assertEntries(videos, []);
  });
});

test('upstream error messages reach the user for every tool', async () => {
  await withServer(async ({ client, fake }) => {
    const err = { message: 'Billing hard limit has been reached.', type: 'insufficient_quota', code: 'billing_hard_limit_reached' };
    const calls = [
      ['create_video', { prompt: 'p' }, 'POST', 'videos'],
      ['get_video_status', { video_id: 'video_1' }, 'GET', 'videos/video_1'],
      ['list_videos', {}, 'GET', 'videos'],
      ['delete_video', { video_id: 'video_1' }, 'DELETE', 'videos/video_1'],
      ['remix_video', { previous_video_id: 'video_1', prompt: 'x' }, 'POST', 'videos/video_1/remix'],
      ['download_video', { video_id: 'video_1' }, 'GET', 'videos/video_1/content'],
    ];
    for (const [name, args, method, p] of calls) {
      fake.faults.add({ method, path: p, status: 400, error: err });
      await toolError(client, name, args, /^OpenAI API error 400 \(billing_hard_limit_reached\): Billing hard limit has been reached\.$/);
    }
  });
});
