// generate_image and edit_image (OpenAI Images API) end to end: the official SDK client
// drives the real server over stdio against the fake OpenAI server, which records the
// JSON and multipart bodies the server sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  withServer, ok, toolError, refused, recorded, writePng, pngHeader, sha256, listDir,
  JPEG_64x48, WEBP_64x48, GIF_1x1, writeUnreadable, unreadableRe,
} from './image-lib.mjs';

const USAGE_KEYS = ['input_tokens', 'input_tokens_details', 'output_tokens', 'output_tokens_details', 'total_tokens'];

test('generate_image with defaults: POST /images/generations {prompt, model, n:1}, gen_<unix>.png saved', async () => {
  await withServer(async ({ client, fake, images }) => {
    const r = await ok(client, 'generate_image', { prompt: 'a watercolour heron' });
    const reqs = recorded(fake, 'POST', 'images/generations');
    assert.equal(reqs.length, 1);
    assert.match(reqs[0].contentType, /^application\/json/);
    assert.deepEqual(reqs[0].json, { prompt: 'a watercolour heron', model: 'gpt-image-2', n: 1 });
    const s = r.structuredContent;
    assert.match(s.filename, /^gen_\d+\.png$/);
    assert.ok(Math.abs(+/\d+/.exec(s.filename)[0] - Date.now() / 1000) < 60);
    assert.deepEqual(s.size, [64, 48]);
    assert.equal(s.format, 'png');
    assert.equal(s.model, 'gpt-image-2');
    assert.deepEqual(Object.keys(s.usage).sort(), USAGE_KEYS);
    assert.equal(s.usage.output_tokens, 1056);
    const bytes = fs.readFileSync(path.join(images, s.filename));
    assert.equal(sha256(bytes), fake.assets.png.sha256);
    assert.deepEqual([pngHeader(bytes).width, pngHeader(bytes).height], [64, 48]);
    assert.equal(s.size_bytes, bytes.length);
    const link = r.content.find((c) => c.type === 'resource_link');
    assert.deepEqual([link.uri, link.mimeType, link.size], [`sanzaru://images/${s.filename}`, 'image/png', bytes.length]);
    assert.deepEqual(listDir(images), [s.filename]);
    // again: a new name, the first file untouched
    const r2 = await ok(client, 'generate_image', { prompt: 'a watercolour heron' });
    assert.notEqual(r2.structuredContent.filename, s.filename);
    assert.equal(listDir(images).length, 2);
  });
});

test('generate_image passes every option and honours SANZARU_IMAGE_MODEL', async () => {
  await withServer(
    async ({ client, fake, images }) => {
      const opts = { size: '1536x1024', quality: 'high', background: 'opaque', output_format: 'webp', moderation: 'low' };
      const r = await ok(client, 'generate_image', { prompt: 'p', ...opts, model: 'gpt-image-1' });
      assert.deepEqual(recorded(fake, 'POST', 'images/generations')[0].json, { prompt: 'p', model: 'gpt-image-1', n: 1, ...opts });
      assert.match(r.structuredContent.filename, /^gen_\d+\.webp$/);
      assert.equal(r.structuredContent.format, 'webp');
      assert.equal(r.structuredContent.model, 'gpt-image-1');
      assert.equal(r.content[1].mimeType, 'image/webp');
      assert.equal(sha256(fs.readFileSync(path.join(images, r.structuredContent.filename))), sha256(WEBP_64x48));
      const d = await ok(client, 'generate_image', { prompt: 'p', output_format: 'jpeg', filename: 'heron.jpg', quality: 'low' });
      assert.deepEqual(recorded(fake, 'POST', 'images/generations')[1].json, { prompt: 'p', model: 'gpt-image-1.5', n: 1, output_format: 'jpeg', quality: 'low' });
      assert.deepEqual([d.structuredContent.filename, d.structuredContent.format, d.structuredContent.model], ['heron.jpg', 'jpeg', 'gpt-image-1.5']);
      assert.equal(sha256(fs.readFileSync(path.join(images, 'heron.jpg'))), sha256(JPEG_64x48));
      // every size of the contract is accepted
      for (const size of ['auto', '1024x1024', '1024x1536', '2048x2048', '2048x1152', '2560x1440', '1440x2560', '3840x2160', '2160x3840'])
        await ok(client, 'generate_image', { prompt: 'p', size, filename: `s-${size}.png` });
      // background transparent is fine with a model other than gpt-image-2
      await ok(client, 'generate_image', { prompt: 'p', background: 'transparent', filename: 't.png' });
      assert.equal(recorded(fake, 'POST', 'images/generations').at(-1).json.background, 'transparent');
    },
    { env: { SANZARU_IMAGE_MODEL: 'gpt-image-1.5' } },
  );
});

test('generate_image refuses before any request: transparent on gpt-image-2, mismatched names, bad options', async () => {
  await withServer(async ({ client, fake, images }) => {
    await toolError(client, 'generate_image', { prompt: 'p', background: 'transparent' },
      /^gpt-image-2 does not support transparent backgrounds\. Use gpt-image-1\.5 for transparent output\.$/);
    await toolError(client, 'generate_image', { prompt: 'p', background: 'transparent', model: 'gpt-image-2-mini' }, /gpt-image-2-mini does not support transparent/);
    await toolError(client, 'generate_image', { prompt: 'p', output_format: 'jpeg', filename: 'x.png' },
      /^Filename 'x\.png' does not match output_format jpeg: use a name ending in \.jpg or \.jpeg$/);
    await toolError(client, 'generate_image', { prompt: 'p', filename: 'x.webp' }, /^Filename 'x\.webp' does not match output_format png: use a name ending in \.png$/);
    await toolError(client, 'generate_image', { prompt: 'p', filename: 'x.gif' }, /^Unsupported file type: \.gif/);
    for (const args of [
      { prompt: 'p', size: 'huge' }, { prompt: 'p', quality: 'ultra' }, { prompt: 'p', output_format: 'gif' },
      { prompt: 'p', background: 'green' }, { prompt: 'p', moderation: 'none' }, { prompt: '' }, {},
      { prompt: 'p', n: 2 }, { prompt: 'p', overwrite: 'yes' },
    ])
      await refused(client, 'generate_image', args, /.+/);
    assert.equal(fake.requests.length, 0);
    assert.deepEqual(listDir(images), []);
  });
});

test('generate_image: overwrite semantics, checked before the image is paid for', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'mine.png'), 'precious');
    await toolError(client, 'generate_image', { prompt: 'p', filename: 'mine.png' }, /^File already exists: mine\.png \(pass overwrite: true to replace it\)$/);
    assert.equal(fake.requests.length, 0, 'no generation was requested');
    assert.equal(fs.readFileSync(path.join(images, 'mine.png'), 'utf8'), 'precious');
    const r = await ok(client, 'generate_image', { prompt: 'p', filename: 'mine.png', overwrite: true });
    assert.equal(r.structuredContent.filename, 'mine.png');
    assert.equal(sha256(fs.readFileSync(path.join(images, 'mine.png'))), fake.assets.png.sha256);
    assert.deepEqual(listDir(images), ['mine.png']);
  });
});

test('generate_image relays upstream failures and malformed replies; nothing is written', async () => {
  await withServer(async ({ client, fake, images }) => {
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 500 });
    await toolError(client, 'generate_image', { prompt: 'p' },
      /^OpenAI API error 500 \(server_error\): The server had an error while processing your request \(injected fault\)\.$/);
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 400, error: { message: 'Your request was rejected as a result of our safety system.', code: 'moderation_blocked' } });
    await toolError(client, 'generate_image', { prompt: 'p' }, /^OpenAI API error 400 \(moderation_blocked\): Your request was rejected as a result of our safety system\.$/);
    const replies = [
      [{ created: 1, data: [] }, /^OpenAI returned no image data$/],
      [{ created: 1, data: [{ url: 'https://x/y.png' }] }, /^OpenAI returned no image data$/],
      [{ created: 1, data: [{ b64_json: '%%%' }] }, /could not be read: Invalid base64/],
      [{ created: 1, data: [{ b64_json: Buffer.from('GIF89a nope').toString('base64') }] }, /could not be read/],
      [[1, 2, 3], /unexpected response/],
    ];
    for (const [body, re] of replies) {
      fake.faults.add({ method: 'POST', path: 'images/generations', status: 200, body });
      await toolError(client, 'generate_image', { prompt: 'p', filename: 'out.png' }, re);
    }
    fake.faults.add({ method: 'POST', path: 'images/generations', reset_after_bytes: 100, status: 200, body: { created: 1, data: [{ b64_json: fake.assets.png.bytes.toString('base64') }] } });
    await toolError(client, 'generate_image', { prompt: 'p' }, /.+/);
    assert.deepEqual(listDir(images), []);
  });
});

test('generate_image: usage is null when OpenAI sends none; large replies parse the same', async () => {
  await withServer(async ({ client, fake, images }) => {
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 200, body: { created: 1, data: [{ b64_json: fake.assets.png.bytes.toString('base64') }] } });
    const r = await ok(client, 'generate_image', { prompt: 'p' });
    assert.equal(r.structuredContent.usage, null);
    const usage = { input_tokens: 5, output_tokens: 7, total_tokens: 12 };
    const b64 = fake.assets.png.bytes.toString('base64');
    fake.faults.add({ method: 'POST', path: 'images/generations', status: 200, body: { created: 1, revised_prompt: 'y'.repeat(400 * 1024), data: [{ b64_json: b64 }], usage } });
    const big = await ok(client, 'generate_image', { prompt: 'p', filename: 'big.png' });
    assert.deepEqual(big.structuredContent.usage, usage);
    assert.equal(sha256(fs.readFileSync(path.join(images, 'big.png'))), fake.assets.png.sha256);
  });
});

test('generate_image: cancelling during the request leaves nothing on disk', async () => {
  await withServer(async ({ client, fake, images }) => {
    fake.faults.add({ method: 'POST', path: 'images/generations', delay_ms: 3000, status: 500 });
    const ac = new AbortController();
    const p = client.callTool({ name: 'generate_image', arguments: { prompt: 'slow' } }, undefined, { signal: ac.signal });
    while (recorded(fake, 'POST', 'images/generations').length === 0) await new Promise((r) => setTimeout(r, 20));
    ac.abort('stop');
    await assert.rejects(p);
    const rec = recorded(fake, 'POST', 'images/generations')[0];
    for (let i = 0; i < 75 && rec.completed === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rec.completed, false, 'the request was abandoned');
    assert.deepEqual(await client.ping(), {});
    assert.deepEqual(listDir(images), []);
  });
});

test('without OPENAI_API_KEY the Images API tools say so and send nothing', async () => {
  await withServer(
    async ({ client, fake, images }) => {
      writePng(images, 'a.png');
      await toolError(client, 'generate_image', { prompt: 'p' }, /^OPENAI_API_KEY is not set$/);
      await toolError(client, 'edit_image', { prompt: 'p', input_images: ['a.png'] }, /^OPENAI_API_KEY is not set$/);
      assert.equal(fake.requests.length, 0);
      assert.deepEqual(listDir(images), ['a.png']);
    },
    { env: { OPENAI_API_KEY: '' } },
  );
});

test('edit_image with one image: multipart with an "image" part and the fields', async () => {
  await withServer(async ({ client, fake, images }) => {
    const png = writePng(images, 'photo.png');
    const r = await ok(client, 'edit_image', { prompt: 'make it snow', input_images: ['photo.png'], input_fidelity: 'high' });
    const [req] = recorded(fake, 'POST', 'images/edits');
    assert.match(req.contentType, /^multipart\/form-data; boundary=/);
    // input_fidelity is dropped for gpt-image-2 (it always works at high fidelity)
    assert.deepEqual(req.fields, { prompt: 'make it snow', model: 'gpt-image-2', n: '1' });
    assert.equal(req.files.length, 1);
    assert.deepEqual(
      [req.files[0].name, req.files[0].filename, req.files[0].contentType, req.files[0].sha256],
      ['image', 'photo.png', 'image/png', sha256(png)],
    );
    const s = r.structuredContent;
    assert.match(s.filename, /^edit_\d+\.png$/);
    assert.deepEqual([s.size, s.format, s.model], [[64, 48], 'png', 'gpt-image-2']);
    assert.equal(s.usage.input_tokens_details.image_tokens, 323);
    assert.equal(sha256(fs.readFileSync(path.join(images, s.filename))), fake.assets.png.sha256);
    assert.equal(r.content[1].uri, `sanzaru://images/${s.filename}`);
  });
});

test('edit_image with several images and a mask: repeated image[] parts in order, mask, options, input_fidelity', async () => {
  await withServer(async ({ client, fake, images }) => {
    const a = writePng(images, 'a.png');
    fs.writeFileSync(path.join(images, 'b.jpeg'), JPEG_64x48);
    fs.writeFileSync(path.join(images, 'c.WEBP'), WEBP_64x48);
    const mask = writePng(images, 'mask.png', 64, 48, { alpha: true });
    const r = await ok(client, 'edit_image', {
      prompt: 'blend', input_images: ['a.png', 'b.jpeg', 'c.WEBP'], mask_filename: 'mask.png', model: 'gpt-image-1.5',
      size: '1024x1536', quality: 'medium', background: 'transparent', output_format: 'webp', input_fidelity: 'low', filename: 'blend.webp',
    });
    const [req] = recorded(fake, 'POST', 'images/edits');
    assert.deepEqual(req.fields, {
      prompt: 'blend', model: 'gpt-image-1.5', n: '1', size: '1024x1536', quality: 'medium', background: 'transparent', output_format: 'webp', input_fidelity: 'low',
    });
    assert.deepEqual(
      req.files.map((f) => [f.name, f.filename, f.contentType, f.sha256]),
      [
        ['image[]', 'a.png', 'image/png', sha256(a)],
        ['image[]', 'b.jpeg', 'image/jpeg', sha256(JPEG_64x48)],
        ['image[]', 'c.WEBP', 'image/webp', sha256(WEBP_64x48)],
        ['mask', 'mask.png', 'image/png', sha256(mask)],
      ],
    );
    // parts arrive in order: images first, then the mask, then the fields
    assert.deepEqual(req.parts.slice(0, 4).map((p) => p.name), ['image[]', 'image[]', 'image[]', 'mask']);
    assert.deepEqual([r.structuredContent.filename, r.structuredContent.format, r.structuredContent.model], ['blend.webp', 'webp', 'gpt-image-1.5']);
    assert.equal(r.structuredContent.usage.input_tokens_details.image_tokens, 3 * 323);
    // content decides the part's type, not the name
    fs.writeFileSync(path.join(images, 'really-jpeg.png'), JPEG_64x48);
    await ok(client, 'edit_image', { prompt: 'p', input_images: ['really-jpeg.png'] });
    assert.equal(recorded(fake, 'POST', 'images/edits')[1].files[0].contentType, 'image/jpeg');
  });
});

test('edit_image takes 1 to 16 images', async () => {
  await withServer(async ({ client, fake, images }) => {
    for (let i = 0; i < 17; i++) writePng(images, `i${i}.png`);
    const names = (n) => Array.from({ length: n }, (_, i) => `i${i}.png`);
    await toolError(client, 'edit_image', { prompt: 'p', input_images: [] }, /^At least one input image is required$/);
    await toolError(client, 'edit_image', { prompt: 'p', input_images: names(17) }, /^Maximum 16 input images allowed/);
    assert.equal(fake.requests.length, 0);
    await ok(client, 'edit_image', { prompt: 'p', input_images: names(16) });
    const [req] = recorded(fake, 'POST', 'images/edits');
    assert.equal(req.files.length, 16);
    assert.deepEqual(req.files.map((f) => f.filename), names(16));
    assert.ok(req.files.every((f) => f.name === 'image[]'));
    await refused(client, 'edit_image', { prompt: 'p' }, /input_images/);
  });
});

test('edit_image refuses bad inputs, masks and names before any request', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png');
    writePng(images, 'opaque.png');
    fs.writeFileSync(path.join(images, 'mask.jpg'), JPEG_64x48);
    fs.writeFileSync(path.join(images, 'anim.gif'), GIF_1x1);
    fs.writeFileSync(path.join(images, 'gif-inside.png'), GIF_1x1);
    fs.writeFileSync(path.join(images, 'text.jpg'), 'hello');
    writePng(images, 'mask.png', 64, 48, { alpha: true });
    const cases = [
      [{ input_images: ['photo.png'], mask_filename: 'mask.jpg' }, /^Mask must be PNG format with alpha channel$/],
      [{ input_images: ['photo.png'], mask_filename: 'opaque.png' }, /^Mask must be PNG format with alpha channel$/],
      [{ input_images: ['photo.png'], mask_filename: 'gif-inside.png' }, /^Mask must be PNG format with alpha channel$/],
      [{ input_images: ['photo.png'], mask_filename: 'absent.png' }, /^File not found: absent\.png$/],
      [{ input_images: ['photo.png', 'absent.png'] }, /^File not found: absent\.png$/],
      [{ input_images: ['anim.gif'] }, /^Unsupported file type: \.gif\. Use: JPEG, PNG, or WEBP$/],
      [{ input_images: ['gif-inside.png'] }, /^Unsupported image content: gif-inside\.png is not a PNG, JPEG or WEBP image$/],
      [{ input_images: ['text.jpg'] }, /^Unsupported image content: text\.jpg/],
      [{ input_images: ['photo.png'], background: 'transparent' }, /^gpt-image-2 does not support transparent backgrounds/],
      [{ input_images: ['photo.png'], output_format: 'webp', filename: 'e.png' }, /^Filename 'e\.png' does not match output_format webp/],
    ];
    for (const [args, re] of cases) await toolError(client, 'edit_image', { prompt: 'p', ...args }, re);
    fs.writeFileSync(path.join(images, 'taken.png'), 'x');
    await toolError(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], filename: 'taken.png' }, /^File already exists: taken\.png/);
    assert.equal(fake.requests.length, 0);
    const r = await ok(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], filename: 'taken.png', overwrite: true, mask_filename: 'mask.png' });
    assert.equal(r.structuredContent.filename, 'taken.png');
    assert.equal(sha256(fs.readFileSync(path.join(images, 'taken.png'))), fake.assets.png.sha256);
  });
});

test('edit_image probes every input and the mask by content: a corrupt or cut-off file is refused by name, and nothing is sent', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png');
    writePng(images, 'mask.png', 64, 48, { alpha: true });
    const bad = writeUnreadable(images);
    for (const f of bad) {
      await toolError(client, 'edit_image', { prompt: 'p', input_images: [f.name] }, unreadableRe('Input image', f));
      // a later input too, after a good one
      await toolError(client, 'edit_image', { prompt: 'p', input_images: ['photo.png', f.name] }, unreadableRe('Input image', f));
      if (f.format === 'PNG') {
        await toolError(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], mask_filename: f.name }, unreadableRe('Mask', f));
      }
    }
    assert.equal(fake.requests.length, 0, `sent: ${fake.requests.map((q) => q.path)}`);
    assert.deepEqual(listDir(images), ['mask.png', 'photo.png', ...bad.map((f) => f.name)].sort(), 'nothing was written');
    // whole files still go, as they are
    await ok(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], mask_filename: 'mask.png' });
    const req = recorded(fake, 'POST', 'images/edits')[0];
    assert.deepEqual(req.files.map((x) => [x.name, x.sha256]), [
      ['image', sha256(fs.readFileSync(path.join(images, 'photo.png')))],
      ['mask', sha256(fs.readFileSync(path.join(images, 'mask.png')))],
    ]);
  });
});

test('edit_image relays upstream failures (the fake checks the mask size like OpenAI)', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png', 64, 48);
    writePng(images, 'small-mask.png', 32, 32, { alpha: true });
    await toolError(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'], mask_filename: 'small-mask.png' },
      /^OpenAI API error 400 \(invalid_image_format\): Invalid mask image format - mask size does not match image size$/);
    fake.faults.add({ method: 'POST', path: 'images/edits', status: 500 });
    await toolError(client, 'edit_image', { prompt: 'p', input_images: ['photo.png'] }, /^OpenAI API error 500 \(server_error\)/);
    assert.deepEqual(listDir(images), ['photo.png', 'small-mask.png']);
  });
});

test('generate_image: cancelling while the decode waits for a busy imaging pool leaves nothing on disk', async () => {
  await withServer(
    async ({ client, fake, images }) => {
      // One imaging job at a time, kept busy by prepare_reference_image on large pictures.
      writePng(images, 'big.png', 2048, 2048, { pixel: (x, y) => [(x * 7) & 255, (y * 13) & 255, (x ^ y) & 255] });
      let pending = 3;
      const prepares = Array.from({ length: 3 }, (_, i) =>
        client.callTool({ name: 'prepare_reference_image', arguments: { input_filename: 'big.png', target_size: '1280x720', output_filename: `p${i}.png` } })
          .finally(() => pending--));
      const ac = new AbortController();
      const gen = client.callTool({ name: 'generate_image', arguments: { prompt: 'p', filename: 'late.png' } }, undefined, { signal: ac.signal });
      let rec;
      while (!(rec = recorded(fake, 'POST', 'images/generations')[0]) || rec.completed !== true) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100)); // the reply reaches the server; its decode is queued
      const busy = pending > 0;
      ac.abort('stop');
      await assert.rejects(gen);
      for (const r of await Promise.all(prepares)) assert.ok(!r.isError, r.content?.[0]?.text);
      assert.deepEqual(await client.ping(), {});
      assert.ok(busy, 'the pool was still busy when the call was cancelled (else this test proves nothing)');
      assert.deepEqual(listDir(images), ['big.png', 'p0.png', 'p1.png', 'p2.png']);
    },
    { env: { SANZARU_IMAGE_JOBS: '1' } },
  );
});
