#!/usr/bin/env node
// Records the seeds of fuzz_videos and fuzz_images from the fake OpenAI server
// (tests/fake-openai/): the bodies it answers with, each behind the few bytes
// the driver reads first (see the driver's opening comment). Run it again when
// the fake's answers change; the committed seeds are its output.
//   node fuzz/make-seeds.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAI } from '../tests/fake-openai/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OPS = { create: 0, retrieve: 1, list: 2, delete: 3, remix: 4, download: 5 };

const fake = await startFakeOpenAI({ videos: { queuedPolls: 1, inProgressPolls: 1 } });

async function call(method, p, body) {
  const res = await fetch(`${fake.url}${p}`, {
    method,
    headers: { authorization: 'Bearer sk-seed', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

async function multipart(p, fields) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${fake.url}${p}`, { method: 'POST', headers: { authorization: 'Bearer sk-seed' }, body: form });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** Two bytes the drivers turn into status 100 + (v % 500). */
const statusBytes = (status) => Buffer.from([(status - 100) >> 8, (status - 100) & 0xff]);

function write(driver, name, head, { status, body }) {
  const dir = path.join(here, 'corpus', driver);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), Buffer.concat([head, statusBytes(status), body]));
}

try {
  // ---- fuzz_videos: byte 0 = op + 6 * flags (1 OpenAI itself, 2 an HTTP error,
  // 4 a Sora model, 8 at api.openai.com); then the status; then the body.
  const video = (op, flags = 1) => Buffer.from([OPS[op] + 6 * flags]);
  const created = await multipart('/videos', { prompt: 'a fox', model: 'sora-2', seconds: '4', size: '720x1280' });
  write('videos', 'create', video('create', 1 | 4), created);
  const id = JSON.parse(created.body).id;
  write('videos', 'retrieve-queued', video('retrieve'), await call('GET', `/videos/${id}`));
  write('videos', 'retrieve-in-progress', video('retrieve'), await call('GET', `/videos/${id}`));
  write('videos', 'retrieve-completed', video('retrieve'), await call('GET', `/videos/${id}`));
  fake.failNextVideo({ code: 'moderation_blocked', message: 'Your request was blocked by our moderation system.' });
  const failing = JSON.parse((await multipart('/videos', { prompt: 'x', model: 'sora-2' })).body).id;
  fake.failVideo(failing, { code: 'moderation_blocked', message: 'Your request was blocked by our moderation system.' });
  write('videos', 'retrieve-failed', video('retrieve'), await call('GET', `/videos/${failing}`));
  write('videos', 'remix', video('remix'), await call('POST', `/videos/${id}/remix`, { prompt: 'at night' }));
  write('videos', 'list', video('list'), await call('GET', '/videos?limit=2&order=desc'));
  write('videos', 'list-bad-after', video('list', 1 | 2), await call('GET', '/videos?limit=1&after=nope'));
  write('videos', 'delete', video('delete'), await call('DELETE', `/videos/${failing}`));
  write('videos', 'not-found', video('retrieve', 1 | 2), await call('GET', '/videos/video_missing'));
  fake.configure({ videosRetired: 404 });
  write('videos', 'retired-404', video('download', 1 | 2 | 8), await call('GET', `/videos/${id}/content`));
  fake.configure({ videosRetired: 410 });
  write('videos', 'retired-410', video('create', 1 | 2 | 4), await multipart('/videos', { prompt: 'p', model: 'sora-2' }));
  fake.configure({ videosRetired: null });

  // ---- fuzz_images: byte 0 = the format output_format asked for (0 any, 1 PNG,
  // 2 JPEG, 3 WEBP); then the status; then the body.
  const want = (n) => Buffer.from([n]);
  const resp = JSON.parse((await call('POST', '/responses', {
    model: 'gpt-5.2', input: 'a fox', tools: [{ type: 'image_generation', model: 'gpt-image-2' }], background: true,
  })).body);
  write('images', 'response-queued', want(0), await call('GET', `/responses/${resp.id}`));
  fake.completeResponse(resp.id);
  write('images', 'response-completed', want(1), await call('GET', `/responses/${resp.id}`));
  for (const outcome of ['no_image_call', 'call_failed', 'call_in_progress', 'failed', 'incomplete']) {
    fake.setNextResponseOutcome(outcome);
    const r = JSON.parse((await call('POST', '/responses', { model: 'gpt-5.2', input: 'x', tools: [{ type: 'image_generation' }], background: true })).body);
    fake.completeResponse(r.id);
    write('images', `response-${outcome.replace(/_/g, '-')}`, want(0), await call('GET', `/responses/${r.id}`));
  }
  write('images', 'generations-png', want(1), await call('POST', '/images/generations', { prompt: 'a fox', model: 'gpt-image-2', n: 1 }));
  write('images', 'generations-jpeg', want(2), await call('POST', '/images/generations', { prompt: 'a fox', model: 'gpt-image-2', n: 1, output_format: 'jpeg' }));
  write('images', 'generations-webp', want(3), await call('POST', '/images/generations', { prompt: 'a fox', model: 'gpt-image-2', n: 1, output_format: 'webp' }));
  const png = new Blob([fake.assets.png.bytes], { type: 'image/png' });
  const form = new FormData();
  form.append('image', png, 'photo.png');
  form.append('prompt', 'add a hat');
  form.append('model', 'gpt-image-2');
  const edit = await fetch(`${fake.url}/images/edits`, { method: 'POST', headers: { authorization: 'Bearer sk-seed' }, body: form });
  write('images', 'edits', want(1), { status: edit.status, body: Buffer.from(await edit.arrayBuffer()) });
  write('images', 'error-400', want(0), await call('POST', '/images/generations', { prompt: 'p', model: 'gpt-image-2', size: 'huge' }));
  console.log(`seeds written under ${path.join(here, 'corpus')}/{videos,images}`);
} finally {
  await fake.close();
}
