// Faults around the video tools, one test per case: upstream 429 and 5xx with the
// retry policy, a connection reset, a truncated body and a stall mid-download,
// cancellation mid-download, a full disk, a missing API key, and overwrite. After every
// failed download the video directory holds nothing, hidden temporaries included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withServer, ok, toolError, sha256, PNG, assertEntries, contentRequests, until } from './video-lib.mjs';

const CONTENT = 'videos/*/content';

// ---- retries ----------------------------------------------------------------------------

test('429 with Retry-After: waits as told, then succeeds (2 requests)', async () => {
  await withServer(async ({ client, fake }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: `videos/${v.id}`, status: 429, headers: { 'retry-after': '1' } });
    const r = await ok(client, 'get_video_status', { video_id: v.id });
    assert.equal(r.structuredContent.id, v.id);
    const recs = fake.requestsMatching({ method: 'GET', path: `videos/${v.id}` });
    assert.equal(recs.length, 2);
    assert.equal(recs[0].status, 429);
    assert.equal(recs[1].status, 200);
    assert.ok(recs[1].time - recs[0].time >= 900, `waited ${recs[1].time - recs[0].time} ms for Retry-After: 1`);
  });
});

test('429 on create_video: the multipart body is sent again, whole', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'ref.png'), PNG);
    fake.faults.add({ method: 'POST', path: 'videos', status: 429, headers: { 'retry-after-ms': '50' } });
    await ok(client, 'create_video', { prompt: 'again', size: '1280x720', input_reference_filename: 'ref.png' });
    const recs = fake.requestsMatching({ method: 'POST', path: 'videos' });
    assert.equal(recs.length, 2);
    assert.deepEqual(recs[1].fields, { prompt: 'again', model: 'sora-2', size: '1280x720' });
    assert.equal(recs[1].files[0].sha256, sha256(PNG));
  });
});

test('429 on download_video, then the whole file (2 requests)', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: CONTENT, status: 429, headers: { 'retry-after-ms': '100' } });
    const r = await ok(client, 'download_video', { video_id: v.id });
    assert.equal(r.structuredContent.sha256, fake.assets.video.sha256);
    assert.equal(contentRequests(fake).length, 2);
    assertEntries(videos, [`${v.id}.mp4`]);
    assert.equal(sha256(fs.readFileSync(path.join(videos, `${v.id}.mp4`))), fake.assets.video.sha256);
  });
});

test('500 three times: fails after 2 retries with a clear error (3 requests)', async () => {
  await withServer(async ({ client, fake }) => {
    fake.faults.add({ method: 'GET', path: 'videos/video_1', status: 500, count: 3 });
    await toolError(
      client, 'get_video_status', { video_id: 'video_1' },
      /^OpenAI API error 500 \(server_error\): The server had an error while processing your request/,
    );
    assert.equal(fake.requestsMatching({ path: 'videos/video_1' }).length, 3);
    assert.equal(fake.faults.pending(), 0);
  });
});

test('500 three times on download_video: error, 3 requests, no file', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: CONTENT, status: 500, count: 3 });
    await toolError(client, 'download_video', { video_id: v.id }, /^OpenAI API error 500/);
    assert.equal(contentRequests(fake).length, 3);
    assertEntries(videos, []);
  });
});

test('503 twice then success: two retries are enough', async () => {
  await withServer(async ({ client, fake }) => {
    fake.faults.add({ method: 'GET', path: 'videos', status: 503, count: 2 });
    await ok(client, 'list_videos', {});
    assert.equal(fake.requestsMatching({ path: 'videos' }).length, 3);
  });
});

test('invalid JSON from upstream is a tool error', async () => {
  await withServer(async ({ client, fake }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: `videos/${v.id}`, invalid_json: true });
    await toolError(client, 'get_video_status', { video_id: v.id }, /JSON/);
  });
});

test('a malformed Video object from upstream is a tool error naming the field; unknown fields pass', async () => {
  await withServer(async ({ client, fake }) => {
    const v = fake.addVideo({});
    // Types the Video schema (and our outputSchema) rule out, on each tool that passes it on.
    fake.faults.add({ method: 'GET', path: `videos/${v.id}`, status: 200, body: { id: 5, status: [] } });
    await toolError(client, 'get_video_status', { video_id: v.id }, /^OpenAI returned a malformed video: 'id' must be a string, not an integer$/);
    fake.faults.add({ method: 'GET', path: `videos/${v.id}`, status: 200, body: { id: v.id, object: 'video' } });
    await toolError(client, 'get_video_status', { video_id: v.id }, /^OpenAI returned a malformed video: 'status' is required$/);
    fake.faults.add({ method: 'POST', path: 'videos', status: 200, body: { id: 'video_x', status: 'queued', progress: 'half' } });
    await toolError(client, 'create_video', { prompt: 'p' }, /^OpenAI returned a malformed video: 'progress' must be a number or null, not a string$/);
    fake.faults.add({ method: 'POST', path: `videos/${v.id}/remix`, status: 200, body: { id: 'video_y', status: 'queued', error: 'boom' } });
    await toolError(client, 'remix_video', { previous_video_id: v.id, prompt: 'p' }, /^OpenAI returned a malformed video: 'error' must be an object or null, not a string$/);
    fake.faults.add({ method: 'GET', path: 'videos', status: 200, body: { object: 'list', data: [{ id: 'video_a', status: 'completed' }, { id: 7 }], has_more: false } });
    await toolError(client, 'list_videos', {}, /^OpenAI returned a malformed video list: 'data\[1\]\.id' must be a string or null, not an integer$/);
    fake.faults.add({ method: 'DELETE', path: `videos/${v.id}`, status: 200, body: { id: v.id, deleted: 'yes' } });
    await toolError(client, 'delete_video', { video_id: v.id }, /^OpenAI returned a malformed deletion result: 'deleted' must be a boolean, not a string$/);
    // Fields the schema does not declare are the API's to add: passed through.
    fake.faults.add({ method: 'GET', path: `videos/${v.id}`, status: 200, body: { ...fake.videoView(v.id), characters: [{ id: 'c1' }] } });
    const r = await ok(client, 'get_video_status', { video_id: v.id });
    assert.deepEqual(r.structuredContent.characters, [{ id: 'c1' }]);
    assert.equal(r.structuredContent.id, v.id);
  });
});

// ---- broken downloads ---------------------------------------------------------------------

test('a connection reset mid-download: tool error, no file, no temporary, no retry', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    // Headers and 500 kB first, a pause so they surely reach the client (an RST throws
    // away what the peer has not read yet), then more and the reset. Every attempt
    // resets, so a retry would show as a second request.
    fake.faults.add({ method: 'GET', path: CONTENT, stall_after_bytes: 500_000, stall_ms: 1000, reset_after_bytes: 1_000_000, count: -1 });
    const text = await toolError(client, 'download_video', { video_id: v.id }, /./);
    assert.match(text, /connection/i, 'a transport failure, not an API error');
    assert.doesNotMatch(text, /^OpenAI API error/);
    const recs = contentRequests(fake);
    assert.equal(recs.length, 1, 'a body already streaming to disk is not retried');
    assert.equal(recs[0].cut, 'reset');
    assertEntries(videos, []);
    // the server is fine afterwards
    fake.faults.clear();
    await ok(client, 'download_video', { video_id: v.id });
    assertEntries(videos, [`${v.id}.mp4`]);
  });
});

test('a truncated download (short body, clean close): tool error, no file', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: CONTENT, truncate: 3_000_000, count: -1 });
    await toolError(client, 'download_video', { video_id: v.id }, /./);
    assert.equal(contentRequests(fake)[0].cut, 'truncate');
    assertEntries(videos, []);
  });
});

test('a download that stalls past the stall timeout: tool error, no file', async () => {
  await withServer(
    async ({ client, fake, videos }) => {
      const v = fake.addVideo({});
      fake.faults.add({ method: 'GET', path: CONTENT, stall_after_bytes: 500_000, stall_ms: 30_000 });
      await toolError(client, 'download_video', { video_id: v.id }, /No data received .* for 300 ms/);
      assertEntries(videos, []);
    },
    { env: { SANZARU_STALL_TIMEOUT_MS: '300' } },
  );
});

// ---- cancellation ----------------------------------------------------------------------------

test('cancellation mid-download stops the transfer promptly and leaves no file', async (t) => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: CONTENT, stall_after_bytes: 2_000_000, stall_ms: 60_000 });
    const ac = new AbortController();
    const progress = [];
    const call = client.callTool({ name: 'download_video', arguments: { video_id: v.id } }, undefined, {
      signal: ac.signal,
      onprogress: (p) => progress.push(p),
    });
    call.catch(() => {});
    // mid-transfer: bytes have arrived and the fake is holding the rest back
    assert.ok(await until(() => contentRequests(fake)[0]?.stalled && progress.length > 0), 'download under way');
    const rec = contentRequests(fake)[0];
    assert.equal(rec.completed, undefined, 'the response is still open');
    const t0 = Date.now();
    ac.abort();
    await assert.rejects(call, /abort/i);
    assert.ok(await until(() => rec.completed !== undefined, 5000), 'the fake saw the connection close');
    const ms = Date.now() - t0;
    t.diagnostic(`transfer closed ${ms} ms after the cancel`);
    assert.equal(rec.completed, false, 'the body was not completed');
    assert.ok(ms < 1000, `closed within 1 s (took ${ms} ms)`);
    assert.ok(progress.at(-1).progress < fake.assets.video.length);
    assertEntries(videos, []);
    // the call is gone, the server is healthy, the next download works
    await client.ping();
    const r = await ok(client, 'download_video', { video_id: v.id, filename: 'after.mp4' });
    assert.equal(r.structuredContent.sha256, fake.assets.video.sha256);
    assertEntries(videos, ['after.mp4']);
  });
});

test('cancellation while create_video waits for OpenAI closes the request', async () => {
  await withServer(async ({ client, fake }) => {
    fake.faults.add({ method: 'POST', path: 'videos', delay_ms: 60_000 });
    const ac = new AbortController();
    const call = client.callTool({ name: 'create_video', arguments: { prompt: 'p' } }, undefined, { signal: ac.signal });
    call.catch(() => {});
    assert.ok(await until(() => fake.requestsMatching({ method: 'POST', path: 'videos' }).length === 1));
    const rec = fake.requestsMatching({ method: 'POST', path: 'videos' })[0];
    ac.abort();
    await assert.rejects(call, /abort/i);
    assert.ok(await until(() => rec.completed !== undefined, 5000), 'the fake saw the request go away');
    assert.equal(rec.completed, false);
    await ok(client, 'list_videos', {});
  });
});

// ---- a full disk ------------------------------------------------------------------------------

function mountTmpfs(sizeOpt) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { skip: 'not running as root' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeOpt}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    fs.rmdirSync(dir);
    return { skip: `cannot mount a tmpfs: ${String(e.stderr || e.message).trim()}` };
  }
  return {
    dir,
    cleanup: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } finally {
        fs.rmdirSync(dir);
      }
    },
  };
}

test('disk full (ENOSPC on a 1 MB tmpfs): tool error naming disk space, no file, space released', async (t) => {
  const m = mountTmpfs('1m');
  if (m.skip) {
    t.skip(`disk-full test skipped: ${m.skip}`);
    return;
  }
  await withServer(
    async ({ client, fake }) => {
      const v = fake.addVideo({});
      const free0 = fs.statfsSync(m.dir).bfree;
      await toolError(client, 'download_video', { video_id: v.id }, /^Not enough disk space to write video_\w+\.mp4$/);
      assertEntries(m.dir, []);
      assert.equal(fs.statfsSync(m.dir).bfree, free0, 'the unfinished file released its space');
      // a small variant still fits
      const r = await ok(client, 'download_video', { video_id: v.id, variant: 'thumbnail' });
      assertEntries(m.dir, [r.structuredContent.filename]);
    },
    { env: { VIDEO_PATH: m.dir }, cleanup: m.cleanup },
  );
});

// ---- configuration ------------------------------------------------------------------------------

test('no video provider configured: every video tool says how to configure one; nothing is sent or written', async () => {
  await withServer(
    async ({ client, fake, videos, images }) => {
      fs.writeFileSync(path.join(images, 'ref.png'), PNG);
      const calls = [
        ['create_video', { prompt: 'p' }],
        ['create_video', { prompt: 'p', input_reference_filename: 'ref.png' }],
        ['get_video_status', { video_id: 'video_1' }],
        ['download_video', { video_id: 'video_1' }],
        ['download_video', { video_id: 'video_1', filename: 'x.mp4', overwrite: true }],
        ['list_videos', {}],
        ['delete_video', { video_id: 'video_1' }],
        ['remix_video', { previous_video_id: 'video_1', prompt: 'x' }],
      ];
      for (const [name, args] of calls) {
        await toolError(client, name, args, /^No video provider is configured: set GEMINI_API_KEY for Google's Gemini Omni, AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY for Sora on Azure OpenAI, or OPENAI_API_KEY .*docs\/providers\.md$/);
      }
      assert.equal(fake.requests.length, 0);
      assertEntries(videos, []);
      // the local tools still work
      await ok(client, 'list_local_videos', {});
    },
    { env: { OPENAI_API_KEY: undefined } },
  );
});

// ---- overwrite ---------------------------------------------------------------------------------

test('overwrite: false refuses an existing file at once and keeps it; true replaces it', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    const file = path.join(videos, 'mine.mp4');
    fs.writeFileSync(file, 'my own precious video');
    const ino = fs.statSync(file).ino;
    for (const args of [{}, { overwrite: false }]) {
      await toolError(
        client, 'download_video', { video_id: v.id, filename: 'mine.mp4', ...args },
        /^File already exists: mine\.mp4 \(pass overwrite: true to replace it\)$/,
      );
    }
    assert.equal(contentRequests(fake).length, 0, 'refused before downloading');
    assert.equal(fs.readFileSync(file, 'utf8'), 'my own precious video');
    assert.equal(fs.statSync(file).ino, ino);

    const r = await ok(client, 'download_video', { video_id: v.id, filename: 'mine.mp4', overwrite: true });
    assert.equal(r.structuredContent.filename, 'mine.mp4');
    assert.equal(sha256(fs.readFileSync(file)), fake.assets.video.sha256);
    assertEntries(videos, ['mine.mp4']);
  });
});

test('overwrite: true with a failing download keeps the old file', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    const file = path.join(videos, 'mine.mp4');
    fs.writeFileSync(file, 'old');
    fake.faults.add({ method: 'GET', path: CONTENT, reset_after_bytes: 100_000, count: -1 });
    await toolError(client, 'download_video', { video_id: v.id, filename: 'mine.mp4', overwrite: true }, /./);
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
    assertEntries(videos, ['mine.mp4']);
  });
});
