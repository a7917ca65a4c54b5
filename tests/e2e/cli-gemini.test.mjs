// The agent CLI's video commands on the gemini provider, against the fake Interactions API
// (tests/fake-gemini): the same commands as on OpenAI, each a separate process, so the
// ledger in the media root is what carries a job from one command to the next.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { listDir, run, runOne } from './cli-lib.mjs';
import { tempMedia } from './lib.mjs';

const KEY = 'gk-test-0123456789';
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

async function withGemini(fn, fakeOpts = {}) {
  const fake = await startFakeGemini({ apiKey: KEY, ...fakeOpts });
  const media = tempMedia();
  const ctx = {
    fake,
    media,
    videos: path.join(media.dir, 'videos'),
    env: {
      SANZARU_MEDIA_PATH: media.dir,
      GEMINI_API_KEY: KEY,
      GEMINI_BASE_URL: fake.url,
      SANZARU_MAX_RETRIES: '0',
      SANZARU_CLI_POLL_MS: '20,80',
    },
  };
  try {
    await fn(ctx);
  } finally {
    await fake.close();
    media.cleanup();
  }
}

test('gemini: create --wait -o, status, list from the ledger, remix --download, delete, wait', async () => {
  await withGemini(async (ctx) => {
    const made = await runOne(ctx, ['video', 'create', 'a paper boat on a river', '--seconds', '8', '--size', '1280x720', '-o', 'boat.mp4']);
    const { env } = made;
    assert.match(env.id, /^v1_/);
    assert.equal(env.result.model, 'gemini-omni-1.1-flash');
    assert.equal(env.result.status, 'completed');
    assert.equal(env.result.download.path, path.join(ctx.media.dir, 'boat.mp4'));
    assert.equal(sha256(fs.readFileSync(path.join(ctx.media.dir, 'boat.mp4'))), ctx.fake.assets.video.sha256);
    // The stages as Gemini reports them: 0 queued, 50 in progress, 100 done.
    const stages = made.progress.filter((p) => p.phase === 'wait').map((p) => `${p.status}:${p.percent}`);
    assert.deepEqual([...new Set(stages)], ['queued:0', 'in_progress:50', 'completed:100']);
    const create = ctx.fake.requestsMatching({ method: 'POST', path: '/v1beta/interactions' });
    assert.equal(create.length, 1);
    assert.deepEqual(create[0].json.response_format, { type: 'video', aspect_ratio: '16:9', resolution: '720p', duration: '8s' });

    // Another process: the ledger routes the id to Gemini and lists the job.
    const status = (await runOne(ctx, ['video', 'status', env.id])).env;
    assert.equal(status.result.prompt, 'a paper boat on a river');
    const list = (await runOne(ctx, ['video', 'list'])).env;
    assert.deepEqual(list.result.data.map((v) => v.id), [env.id]);

    const remix = (await runOne(ctx, ['video', 'remix', env.id, '--prompt', 'at dusk', '--download'])).env;
    assert.match(remix.id, /^v1_/);
    assert.equal(remix.result.remixed_from_video_id, env.id);
    assert.deepEqual(listDir(ctx.videos), [`${remix.id}.mp4`]);

    const pending = (await runOne(ctx, ['video', 'create', 'a kite'])).env.result.id;
    const waited = (await runOne(ctx, ['wait', pending])).env;
    assert.equal(waited.id, pending);
    assert.equal(waited.result.status, 'completed');

    const del = (await runOne(ctx, ['video', 'delete', env.id])).env;
    assert.equal(del.result.deleted, true);
  });
});

test('gemini: a safety block is exit 5 with Gemini\'s reason; a thumbnail is refused (exit 1); no key is exit 3', async () => {
  await withGemini(async (ctx) => {
    ctx.fake.setNextOutcome('safety');
    const blocked = (await runOne(ctx, ['video', 'create', 'something', '--wait'], 5)).env;
    assert.equal(blocked.error.type, 'job_failed');
    assert.match(blocked.error.message, /Blocked by Gemini's safety filters/);
    assert.equal(blocked.job.error.code, 'safety');

    const done = (await runOne(ctx, ['video', 'create', 'a hat', '--wait'])).env.id;
    const thumb = (await runOne(ctx, ['video', 'download', done, '--variant', 'thumbnail'], 1)).env;
    assert.equal(thumb.error.type, 'runtime');
    assert.match(thumb.error.message, /thumbnail/);

    const nokey = (await runOne(ctx, ['video', 'status', done], 3, { env: { GEMINI_API_KEY: undefined } })).env;
    assert.equal(nokey.error.type, 'configuration');
    assert.match(nokey.error.message, /GEMINI_API_KEY is not set|No video provider is configured/);
  });
});

test('gemini: a model that cannot make a size is a runtime refusal before any request', async () => {
  await withGemini(async (ctx) => {
    const r = await run(ctx, ['video', 'create', 'x', '--model', 'gemini-omni-flash-preview', '--size', '1792x1024']);
    assert.equal(r.code, 1);
    assert.match(r.envelopes[0].error.message, /gemini-omni-flash-preview cannot make size/);
    assert.equal(ctx.fake.requestsMatching({ method: 'POST', path: '/v1beta/interactions' }).length, 0);
  });
});
