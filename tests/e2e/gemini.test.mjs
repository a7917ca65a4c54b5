// The video tools on the gemini provider, end to end: the official MCP client over stdio,
// the real server configured with nothing but a Gemini key and base URL, against the fake
// Interactions API (tests/fake-gemini/, checked against Google's SDK). Every tool; the create
// request compared with the one @google/genai sends for the same parameters; the mapping of
// the Interaction onto the Video object; the ledger behind list_videos, across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sdkRequest, COMPARED_HEADERS } from '../fake-gemini/sdk-request.mjs';
import { withGemini, pollUntilDone, apiRequests, GEMINI_KEY } from './gemini-lib.mjs';
import { ok, toolError, sha256, PNG, JPEG_64x48, assertEntries } from './video-lib.mjs';
import { tempMedia } from './lib.mjs';

const creates = (fake) => fake.requestsMatching({ origin: 'api', method: 'POST', path: 'interactions' });

/** The create sanzaru sent last, and the one the SDK sends for params, on the same fake. */
async function compareWithSdk(fake, params) {
  const ours = creates(fake).at(-1);
  const sdk = await sdkRequest({ apiKey: GEMINI_KEY, ...params }, { fake });
  assert.equal(ours.method, sdk.method);
  assert.equal(ours.path, sdk.path);
  assert.deepEqual(ours.json, sdk.json, 'the body the SDK sends for the same parameters');
  for (const h of COMPARED_HEADERS) assert.equal(ours.headers[h].split(';')[0], sdk.headers[h].split(';')[0], h);
  assert.equal(sdk.status, 200);
  return ours;
}

test('tools/list: create_video defaults to the Gemini model when only a Gemini key is set', async () => {
  await withGemini(async ({ client }) => {
    const { tools } = await client.listTools();
    const cv = tools.find((t) => t.name === 'create_video');
    assert.equal(cv.inputSchema.properties.model.default, 'gemini-omni-1.1-flash');
    const size = cv.inputSchema.properties.size.anyOf?.[0] ?? cv.inputSchema.properties.size;
    assert.ok(size.enum.includes('1920x1080'));
  });
});

test('the whole flow with only a Gemini key: create, poll, download, remix, list, delete', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    const c = (await ok(client, 'create_video', { prompt: 'A red fox in the snow', size: '1280x720', seconds: '8' })).structuredContent;
    assert.match(c.id, /^v1_/);
    assert.equal(c.object, 'video');
    assert.equal(c.status, 'queued');
    assert.equal(c.progress, 0);
    assert.equal(c.model, 'gemini-omni-1.1-flash');
    assert.equal(c.prompt, 'A red fox in the snow');
    assert.equal(c.size, '1280x720');
    assert.equal(c.seconds, '8');
    assert.equal(c.remixed_from_video_id, null);
    assert.equal(c.error, null);
    assert.equal(typeof c.created_at, 'number');

    // queued (0) -> in_progress (50) -> completed (100): the stage, since the API gives none
    const seen = [];
    let v;
    do {
      v = (await ok(client, 'get_video_status', { video_id: c.id })).structuredContent;
      seen.push(`${v.status}:${v.progress}`);
    } while (v.status !== 'completed' && seen.length < 10);
    assert.deepEqual(seen, ['queued:0', 'in_progress:50', 'in_progress:50', 'completed:100']);
    assert.equal(v.prompt, 'A red fox in the snow', 'the prompt comes from the ledger');
    assert.equal(typeof v.completed_at, 'number');
    assert.ok(v.completed_at >= v.created_at);
    assert.equal(v.expires_at, null);

    const d = await ok(client, 'download_video', { video_id: c.id });
    assert.deepEqual(d.structuredContent, {
      filename: `${c.id}.mp4`, variant: 'video', size_bytes: fake.assets.video.length, sha256: fake.assets.video.sha256,
    });
    assert.equal(sha256(fs.readFileSync(path.join(videos, `${c.id}.mp4`))), fake.assets.video.sha256);
    assert.equal(d.content[1].type, 'resource_link');
    assertEntries(videos, [`${c.id}.mp4`]);

    const r = (await ok(client, 'remix_video', { previous_video_id: c.id, prompt: 'Now at night' })).structuredContent;
    assert.notEqual(r.id, c.id);
    assert.equal(r.remixed_from_video_id, c.id);
    assert.equal(r.prompt, 'Now at night');
    assert.equal(r.status, 'queued');
    const remix = creates(fake).at(-1).json;
    assert.equal(remix.previous_interaction_id, c.id);
    assert.equal(remix.model, 'gemini-omni-1.1-flash');
    assert.deepEqual(remix.response_format, { type: 'video', aspect_ratio: '16:9', resolution: '720p', duration: '8s' }, 'a remix keeps the size and length');
    const rv = await pollUntilDone(client, r.id);
    assert.equal(rv.status, 'completed');
    assert.equal(rv.remixed_from_video_id, c.id);

    const list = (await ok(client, 'list_videos', {})).structuredContent;
    assert.deepEqual(list.data.map((x) => x.id), [r.id, c.id], 'newest first');
    assert.equal(list.has_more, false);
    assert.equal(list.last, c.id);
    assert.deepEqual(list.data[1], { id: c.id, status: 'completed', created_at: c.created_at, seconds: '8', size: '1280x720', model: 'gemini-omni-1.1-flash', progress: 100 });

    const del = (await ok(client, 'delete_video', { video_id: c.id })).structuredContent;
    assert.deepEqual(del, { id: c.id, object: 'video.deleted', deleted: true });
    assert.equal(fake.state.interactions.has(c.id), false);
    assert.deepEqual((await ok(client, 'list_videos', {})).structuredContent.data.map((x) => x.id), [r.id]);
    await toolError(client, 'get_video_status', { video_id: c.id }, /^Gemini API error 404 \(not_found\): Interaction not found/);
    // the file stays
    assertEntries(videos, [`${c.id}.mp4`]);
    apiRequests(fake);
  });
});

test('create_video sends what Google\'s SDK sends for the same parameters', async () => {
  await withGemini(async ({ client, fake, images }) => {
    await ok(client, 'create_video', { prompt: 'a cat' });
    await compareWithSdk(fake, { prompt: 'a cat' });

    await ok(client, 'create_video', { prompt: 'a cat', size: '720x1280', seconds: '4' });
    await compareWithSdk(fake, { prompt: 'a cat', aspectRatio: '9:16', resolution: '720p', duration: 4 });

    await ok(client, 'create_video', { prompt: 'tall', size: '1080x1920', model: 'gemini-omni-1.2-flash', seconds: '12' });
    await compareWithSdk(fake, { prompt: 'tall', model: 'gemini-omni-1.2-flash', aspectRatio: '9:16', resolution: '1080p', duration: '12s' });

    fs.writeFileSync(path.join(images, 'first.png'), PNG);
    await ok(client, 'create_video', { prompt: 'the frame comes alive', input_reference_filename: 'first.png', size: '1280x720' });
    const ours = await compareWithSdk(fake, { prompt: 'the frame comes alive', image: { data: PNG, mime_type: 'image/png' }, aspectRatio: '16:9', resolution: '720p' });
    assert.deepEqual(ours.inputImages.map((i) => [i.mime, i.sha256, i.width, i.height]), [['image/png', sha256(PNG), 64, 48]]);

    fs.writeFileSync(path.join(images, 'ref.jpg'), JPEG_64x48);
    await ok(client, 'create_video', { prompt: 'jpeg', input_reference_filename: 'ref.jpg' });
    await compareWithSdk(fake, { prompt: 'jpeg', image: { data: JPEG_64x48, mime_type: 'image/jpeg' } });

    const prev = creates(fake)[0].created;
    fake.finish(prev);
    await ok(client, 'remix_video', { previous_video_id: prev, prompt: 'again' });
    await compareWithSdk(fake, { prompt: 'again', previousInteractionId: prev });
    apiRequests(fake);
  });
});

test('a refused size or length is said before any request, naming what the model makes', async () => {
  await withGemini(async ({ client, fake }) => {
    await toolError(client, 'create_video', { prompt: 'p', size: '1024x1792' },
      /^gemini-omni-1\.1-flash cannot make size 1024x1792: Gemini Omni makes 16:9 and 9:16 videos \(size 1280x720, 720x1280, 1920x1080 or 1080x1920\)$/);
    await toolError(client, 'create_video', { prompt: 'p', seconds: '12' },
      /^gemini-omni-1\.1-flash cannot make 12 seconds: it makes 3 to 10 seconds$/);
    await toolError(client, 'create_video', { prompt: 'p', model: 'gemini-omni-flash-preview', size: '1920x1080' },
      /^gemini-omni-flash-preview cannot make size 1920x1080: it makes 720p only \(size 1280x720 or 720x1280\)$/);
    assert.equal(fake.requests.length, 0);
    // 1.2 makes 12 seconds
    await ok(client, 'create_video', { prompt: 'p', model: 'gemini-omni-1.2-flash', seconds: '12' });
  });
});

test('a corrupt or cut-off reference image is refused by name before anything reaches Gemini', async () => {
  await withGemini(async ({ client, fake, images }) => {
    const sig = Buffer.from('89504e470d0a1a0a', 'hex');
    const bad = [
      ['corrupt.png', Buffer.concat([sig, Buffer.alloc(200, 0x5a)]), 'PNG'],
      ['cut.png', PNG.subarray(0, 40), 'PNG'],
      ['cut.jpg', JPEG_64x48.subarray(0, 200), 'JPEG'],
      ['tail.jpg', JPEG_64x48.subarray(0, JPEG_64x48.length - 300), 'JPEG'],
    ];
    for (const [name, bytes, format] of bad) {
      fs.writeFileSync(path.join(images, name), bytes);
      await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: name },
        new RegExp(`^Reference image '${name.replace('.', '\\.')}' is not a readable ${format}: .+`));
    }
    assert.equal(fake.requests.length, 0, 'no request reached Gemini');
  });
});

test('a 1080p reference made by prepare_reference_image starts a 1080p video on Gemini', async () => {
  await withGemini(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'photo.png'), PNG);
    for (const size of ['1920x1080', '1080x1920']) {
      const [w, h] = size.split('x').map(Number);
      const ref = (await ok(client, 'prepare_reference_image', { input_filename: 'photo.png', target_size: size })).structuredContent;
      assert.deepEqual([ref.output_filename, ref.target_size], [`photo_${size}.png`, [w, h]]);
      await ok(client, 'create_video', { prompt: 'it moves', size, input_reference_filename: ref.output_filename });
      const sent = creates(fake).at(-1);
      assert.deepEqual(sent.inputImages.map((i) => [i.mime, i.width, i.height]), [['image/png', w, h]]);
      assert.deepEqual([sent.json.response_format.aspect_ratio, sent.json.response_format.resolution], [w > h ? '16:9' : '9:16', '1080p']);
    }
  });
});

const GEMINI_SECONDS = ['3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '14', '15'];
const enumOf = (p) => (p.anyOf?.[0] ?? p).enum;

test('seconds offers every length Gemini Omni makes, sent as the SDK sends it; a model refuses what it cannot make', async () => {
  await withGemini(async ({ client, fake }) => {
    const { tools } = await client.listTools();
    const cv = tools.find((t) => t.name === 'create_video');
    assert.deepEqual(enumOf(cv.inputSchema.properties.seconds), GEMINI_SECONDS, 'the original 4, 8, 12 and Omni\'s 3 to 15');
    for (const seconds of ['3', '5', '10']) {
      const v = (await ok(client, 'create_video', { prompt: `${seconds}s`, seconds })).structuredContent;
      assert.equal(v.seconds, seconds);
      await compareWithSdk(fake, { prompt: `${seconds}s`, duration: Number(seconds) });
    }
    // a number is read as its string, as for every enum of strings
    await ok(client, 'create_video', { prompt: 'seven', seconds: 7, size: '1920x1080' });
    await compareWithSdk(fake, { prompt: 'seven', aspectRatio: '16:9', resolution: '1080p', duration: 7 });
    const v = (await ok(client, 'create_video', { prompt: 'long', model: 'gemini-omni-1.2-flash', seconds: '15' })).structuredContent;
    assert.equal(v.seconds, '15');
    assert.equal(creates(fake).at(-1).json.response_format.duration, '15s');
    const sent = fake.requests.length;
    await toolError(client, 'create_video', { prompt: 'p', seconds: '11' },
      /^gemini-omni-1\.1-flash cannot make 11 seconds: it makes 3 to 10 seconds$/);
    await toolError(client, 'create_video', { prompt: 'p', model: 'gemini-omni-flash-preview', seconds: '13' },
      /^gemini-omni-flash-preview cannot make 13 seconds: it makes 3 to 10 seconds$/);
    assert.equal(fake.requests.length, sent, 'a refused length sends nothing');
  });
});

test('failed, safety-blocked, incomplete and cancelled jobs are failures that say why', async () => {
  await withGemini(async ({ client, fake }) => {
    const cases = [
      ['failed', 'internal_error', /^Video generation failed due to an internal error\.$/],
      ['safety', 'safety', /^Blocked by Gemini's safety filters: The video could not be generated because the prompt or the generated content was blocked by safety filters\.$/],
      ['incomplete', 'incomplete', /^Gemini ended the interaction incomplete, without a video: The interaction ended before the video was complete\.$/],
      ['cancelled', 'cancelled', /^The Gemini interaction was cancelled before the video was made$/],
      [{ status: 'failed', error: { code: 'quota', message: 'Out of video quota' } }, 'quota', /^Out of video quota$/],
    ];
    for (const [outcome, code, re] of cases) {
      fake.setNextOutcome(outcome);
      const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
      const v = await pollUntilDone(client, c.id);
      assert.equal(v.status, 'failed', JSON.stringify(outcome));
      assert.equal(v.progress, 100);
      assert.equal(v.error.code, code);
      assert.match(v.error.message, re);
      await toolError(client, 'download_video', { video_id: c.id }, new RegExp(`^Video ${c.id} failed and has nothing to download: `));
    }
    // the list shows the failures as last seen
    const list = (await ok(client, 'list_videos', { order: 'asc' })).structuredContent;
    assert.deepEqual(list.data.map((x) => x.status), ['failed', 'failed', 'failed', 'failed', 'failed']);
  });
});

test('download_video of an unfinished job says so and writes nothing', async () => {
  await withGemini(async ({ client, videos }) => {
    const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
    await toolError(client, 'download_video', { video_id: c.id },
      new RegExp(`^Video ${c.id} is not ready to download: its status is queued \\(poll get_video_status until it is completed\\)$`));
    assertEntries(videos, []);
  });
});

test('thumbnail and spritesheet: a clear error naming what Gemini offers, and no request for content', async () => {
  await withGemini(async ({ client, fake, videos }) => {
    const v = fake.addInteraction({});
    for (const variant of ['thumbnail', 'spritesheet']) {
      await toolError(client, 'download_video', { video_id: v.id, variant },
        new RegExp(`^Video ${v.id} is on gemini, which offers only the video itself \\(MP4\\): variant '${variant}' is not available there$`));
    }
    assert.equal(fake.requests.length, 0);
    assertEntries(videos, []);
  });
});

test('list_videos pages through the ledger by creation time, and after must be one of its ids', async () => {
  await withGemini(async ({ client, fake }) => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await ok(client, 'create_video', { prompt: `p${i}` })).structuredContent.id);
    let page = (await ok(client, 'list_videos', { limit: 2 })).structuredContent;
    assert.deepEqual(page.data.map((x) => x.id), [ids[4], ids[3]]);
    assert.equal(page.has_more, true);
    page = (await ok(client, 'list_videos', { limit: 2, after: page.last })).structuredContent;
    assert.deepEqual(page.data.map((x) => x.id), [ids[2], ids[1]]);
    page = (await ok(client, 'list_videos', { limit: 2, after: page.last })).structuredContent;
    assert.deepEqual(page.data.map((x) => x.id), [ids[0]]);
    assert.equal(page.has_more, false);
    page = (await ok(client, 'list_videos', { limit: 3, order: 'asc' })).structuredContent;
    assert.deepEqual(page.data.map((x) => x.id), ids.slice(0, 3));
    await toolError(client, 'list_videos', { after: 'v1_unknown' }, /^No video 'v1_unknown' among the gemini jobs this server created: pass the last id of the previous page as after$/);
    // no listing request reaches the API: it has none
    assert.equal(fake.requestsMatching({ method: 'GET' }).length, 0);
    // a job made elsewhere can be polled, but it is not this server's to list
    const other = fake.addInteraction({});
    assert.equal((await ok(client, 'get_video_status', { video_id: other.id })).structuredContent.status, 'completed');
    page = (await ok(client, 'list_videos', {})).structuredContent;
    assert.ok(!page.data.some((x) => x.id === other.id));
  });
});

test('the ledger survives a restart: list_videos and the prompt of a status', async () => {
  const media = tempMedia();
  let id;
  try {
    await withGemini(async ({ client }) => {
      id = (await ok(client, 'create_video', { prompt: 'remember me' })).structuredContent.id;
    }, { env: { SANZARU_MEDIA_PATH: media.dir } });
    assert.ok(fs.existsSync(path.join(media.dir, '.sanzaru', 'state.db')));
    await withGemini(async ({ client, fake }) => {
      fake.addInteraction({ id, prompt: 'remember me' });
      const list = (await ok(client, 'list_videos', {})).structuredContent;
      assert.deepEqual(list.data.map((x) => x.id), [id]);
      const v = (await ok(client, 'get_video_status', { video_id: id })).structuredContent;
      assert.equal(v.prompt, 'remember me');
    }, { env: { SANZARU_MEDIA_PATH: media.dir } });
  } finally {
    media.cleanup();
  }
});

test('SANZARU_STATE_PATH moves the database', async () => {
  const dir = tempMedia();
  try {
    const db = path.join(dir.dir, 'deep', 'er', 'state.db');
    await withGemini(async ({ client, media }) => {
      await ok(client, 'create_video', { prompt: 'p' });
      await ok(client, 'list_videos', {});
      assert.ok(fs.existsSync(db));
      assert.equal(fs.existsSync(path.join(media.dir, '.sanzaru')), false);
    }, { env: { SANZARU_STATE_PATH: db } });
    assert.equal(fs.statSync(path.dirname(db)).mode & 0o777, 0o700);
  } finally {
    dir.cleanup();
  }
});

test('a state database that cannot be opened: list_videos says why, the other tools work', async () => {
  const dir = tempMedia();
  try {
    const blocker = path.join(dir.dir, 'file');
    fs.writeFileSync(blocker, 'not a directory');
    await withGemini(async ({ client }) => {
      const c = (await ok(client, 'create_video', { prompt: 'p' })).structuredContent;
      await ok(client, 'get_video_status', { video_id: c.id });
      await toolError(client, 'list_videos', {}, /^Cannot open the state database .*state\.db: /);
    }, { env: { SANZARU_STATE_PATH: path.join(blocker, 'state.db') } });
  } finally {
    dir.cleanup();
  }
});
