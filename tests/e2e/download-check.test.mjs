// What arrives is checked before it is published (issue 10, items 3 and 4): a download
// whose Content-Type or first bytes are not what the variant or output_format asks for
// (an HTML error page sent with 200, another image format) is a tool error that names
// what came instead, and nothing appears in the media directory; a given filename whose
// extension disagrees with the variant is refused before any request. On fc4f1de the
// HTML page was saved as html.mp4 and reported as a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, toolError, ok, assertEntries, contentRequests, sha256, PNG } from './video-lib.mjs';

const HTML = '<!DOCTYPE html><html><body>Bad gateway</body></html>';

test('download_video: an HTML page with 200 is refused, naming what came; nothing is published', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    fake.faults.add({ method: 'GET', path: 'videos/*/content', status: 200, body: HTML, headers: { 'content-type': 'text/html; charset=utf-8' } });
    await toolError(client, 'download_video', { video_id: v.id, filename: 'html.mp4' },
      /^expected an MP4 video, got text\/html starting with '<!DOCTYPE html><'$/);
    assertEntries(videos, []);
    // The same bytes under the right Content-Type: the bytes are what is wrong.
    fake.faults.add({ method: 'GET', path: 'videos/*/content', status: 200, body: HTML, headers: { 'content-type': 'video/mp4' } });
    await toolError(client, 'download_video', { video_id: v.id },
      /^expected an MP4 video, got data starting with '<!DOCTYPE html><'$/);
    assertEntries(videos, []);
    // An empty body.
    fake.faults.add({ method: 'GET', path: 'videos/*/content', status: 200, body: '', headers: { 'content-type': 'video/mp4' } });
    await toolError(client, 'download_video', { video_id: v.id }, /^expected an MP4 video, got an empty body$/);
    assertEntries(videos, []);
    // The real thing still goes through.
    const r = await ok(client, 'download_video', { video_id: v.id });
    assert.equal(r.structuredContent.sha256, sha256(fake.assets.video.bytes));
    assertEntries(videos, [`${v.id}.mp4`]);
  });
});

test('download_video: a thumbnail that is not WebP is refused', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    // A RIFF file, but a WAVE one (fault bodies are text, so the bytes are ASCII).
    fake.faults.add({ method: 'GET', path: 'videos/*/content', status: 200, body: 'RIFF\x10\x00\x00\x00WAVEfmt data', headers: { 'content-type': 'image/webp' } });
    await toolError(client, 'download_video', { video_id: v.id, variant: 'thumbnail' },
      /^expected a WebP image, got data starting with 'RIFF\\x10\\x00\\x00\\x00WAVEfmt '$/);
    fake.faults.add({ method: 'GET', path: 'videos/*/content', status: 200, body: '{"error":"nope"}', headers: { 'content-type': 'application/json' } });
    await toolError(client, 'download_video', { video_id: v.id, variant: 'thumbnail' },
      /^expected a WebP image, got application\/json starting with '\{"error":"nope"\}'$/);
    assertEntries(videos, []);
  });
});

test('download_video: a filename whose extension disagrees with the variant is refused before any request', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    await toolError(client, 'download_video', { video_id: v.id, filename: 'fz.webp' },
      /^Filename 'fz\.webp' does not match the video variant \(an MP4 video\): use a name ending in \.mp4$/);
    await toolError(client, 'download_video', { video_id: v.id, filename: 'thumb.mp4', variant: 'thumbnail' },
      /^Filename 'thumb\.mp4' does not match the thumbnail variant \(a WebP image\): use a name ending in \.webp$/);
    await toolError(client, 'download_video', { video_id: v.id, filename: 'sheet.png', variant: 'spritesheet' },
      /^Filename 'sheet\.png' does not match the spritesheet variant \(a JPEG image\): use a name ending in \.jpg or \.jpeg$/);
    assert.equal(contentRequests(fake).length, 0);
    assertEntries(videos, []);
    // Matching names, any case, are fine.
    await ok(client, 'download_video', { video_id: v.id, filename: 'sheet.JPEG', variant: 'spritesheet' });
    assertEntries(videos, ['sheet.JPEG']);
  });
});

test('generate_image: bytes of another format than output_format, or not an image, are refused', async () => {
  await withServer(async ({ client, fake, images }) => {
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 200, body: { created: 1, data: [{ b64_json: PNG.toString('base64') }] } });
    await toolError(client, 'generate_image', { prompt: 'p', output_format: 'jpeg' },
      /^OpenAI returned an image in another format than output_format asked for: expected a JPEG image, got data starting with '\\x89PNG/);
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 200, body: { created: 1, data: [{ b64_json: Buffer.from(HTML).toString('base64') }] } });
    await toolError(client, 'generate_image', { prompt: 'p' },
      /^OpenAI returned image data that could not be read: expected a PNG image, got data starting with '<!DOCTYPE html><'$/);
    assertEntries(images, []);
  });
});
