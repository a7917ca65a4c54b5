// The hostile-filename battery on every filename parameter of the five OpenAI image
// tools: input_images[] and mask_filename (create_image, edit_image) and filename
// (download_image, generate_image, edit_image). Each case must be refused with its own
// sentence, send nothing upstream, and leave every file (inside and outside the image
// directory) exactly as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withServer, ok, refused, recorded, writePng, hostileBattery, batteryState } from './image-lib.mjs';

function outsideDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-outside-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the battery: call(name, extraArgs) must be refused with the case's sentence. */
async function battery(ctx, { ext = 'png', label, call, overwrite = [undefined] }) {
  const out = outsideDir();
  try {
    const cases = hostileBattery(ctx.images, out.dir, ext);
    const before = batteryState(ctx.images, out.dir, ext);
    const sent = ctx.fake.requests.length;
    for (const c of cases) {
      for (const ow of overwrite) {
        const text = await refused(ctx.client, ...call(c.name, ow), c.re);
        assert.ok(text, `${label}: ${c.label}`);
      }
    }
    assert.equal(ctx.fake.requests.length, sent, `${label}: nothing was sent upstream`);
    assert.deepEqual(batteryState(ctx.images, out.dir, ext), before, `${label}: nothing changed on disk`);
  } finally {
    out.cleanup();
  }
}

test('create_image input_images[]: the hostile-filename battery', async () => {
  await withServer(async (ctx) => {
    writePng(ctx.images, 'ok.png');
    await battery(ctx, { label: 'input_images[0]', call: (n) => ['create_image', { prompt: 'p', input_images: [n] }] });
    // a bad name after a good one is refused before anything is read or sent
    await refused(ctx.client, 'create_image', { prompt: 'p', input_images: ['ok.png', '../x'] }, /path traversal detected in '\.\.\/x'/);
    assert.equal(ctx.fake.requests.length, 0);
  });
});

test('create_image mask_filename: the hostile-filename battery', async () => {
  await withServer(async (ctx) => {
    writePng(ctx.images, 'ok.png');
    await battery(ctx, {
      label: 'mask_filename',
      call: (n) => ['create_image', { prompt: 'p', input_images: ['ok.png'], mask_filename: n }],
    });
  });
});

test('edit_image input_images[] and mask_filename: the hostile-filename battery', async () => {
  await withServer(async (ctx) => {
    writePng(ctx.images, 'ok.png');
    await battery(ctx, { label: 'input_images[0]', call: (n) => ['edit_image', { prompt: 'p', input_images: [n] }] });
    await battery(ctx, { label: 'input_images[1] (jpg)', ext: 'jpg', call: (n) => ['edit_image', { prompt: 'p', input_images: ['ok.png', n] }] });
  });
  await withServer(async (ctx) => {
    writePng(ctx.images, 'ok.png');
    await battery(ctx, { label: 'mask_filename', call: (n) => ['edit_image', { prompt: 'p', input_images: ['ok.png'], mask_filename: n }] });
  });
});

test('generate_image filename: the hostile-filename battery, with and without overwrite', async () => {
  await withServer(async (ctx) => {
    await battery(ctx, {
      label: 'filename',
      overwrite: [undefined, true],
      call: (n, ow) => ['generate_image', { prompt: 'p', filename: n, ...(ow === undefined ? {} : { overwrite: ow }) }],
    });
    assert.equal(ctx.fake.requests.length, 0, 'no image was paid for');
  });
});

test('edit_image filename: the hostile-filename battery, with and without overwrite', async () => {
  await withServer(async (ctx) => {
    writePng(ctx.images, 'ok.png');
    await battery(ctx, {
      label: 'filename',
      overwrite: [undefined, true],
      call: (n, ow) => ['edit_image', { prompt: 'p', input_images: ['ok.png'], filename: n, ...(ow === undefined ? {} : { overwrite: ow }) }],
    });
    assert.equal(ctx.fake.requests.length, 0);
  });
});

test('download_image filename: the hostile-filename battery, with and without overwrite', async () => {
  await withServer(async (ctx) => {
    const id = (await ok(ctx.client, 'create_image', { prompt: 'p' })).structuredContent.id;
    ctx.fake.completeResponse(id);
    await battery(ctx, {
      label: 'filename',
      overwrite: [undefined, true],
      call: (n, ow) => ['download_image', { response_id: id, filename: n, ...(ow === undefined ? {} : { overwrite: ow }) }],
    });
    assert.equal(recorded(ctx.fake, 'GET', `responses/${id}`).length, 0, 'the image was not even fetched');
    // and an ordinary name still works afterwards
    await ok(ctx.client, 'download_image', { response_id: id, filename: 'fine.png' });
  });
});
