// list_reference_images and prepare_reference_image end to end (local only: no OpenAI).
// Outputs are checked by reading the PNG files the server wrote: exact size, RGB, and
// pixels that tell the three resize modes apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  withServer, ok, toolError, refused, writePng, pngHeader, decodePng, sha256, listDir,
  hostileBattery, batteryState, JPEG_64x48, WEBP_64x48, GIF_1x1, encodePng,
} from './image-lib.mjs';

// Every size create_video takes, Gemini Omni's 1080p included.
const SIZES = [[1280, 720], [720, 1280], [1024, 1792], [1792, 1024], [1920, 1080], [1080, 1920]];
const RED = [220, 30, 30], GREEN = [30, 200, 30], BLUE = [30, 30, 220];

/** 400x100: left third red, middle third green, right third blue. */
function bands(x, w = 400) {
  return x < w / 3 ? RED : x < (2 * w) / 3 ? GREEN : BLUE;
}

function near(actual, expected, tol = 40) {
  return actual.slice(0, 3).every((v, i) => Math.abs(v - expected[i]) <= tol);
}

function assertColour(img, x, y, expected, what) {
  const px = img.px(x, y);
  assert.ok(near(px, expected), `${what}: pixel (${x},${y}) is ${px}, expected about ${expected}`);
}

test('the reference tools carry the contract annotations', async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    assert.deepEqual(
      [by.list_reference_images.readOnlyHint, by.list_reference_images.openWorldHint],
      [true, false],
    );
    const p = by.prepare_reference_image;
    assert.deepEqual([p.readOnlyHint, p.destructiveHint, p.idempotentHint, p.openWorldHint], [false, false, true, false]);
  });
});

test("prepare_reference_image's target_size offers exactly create_video's sizes", async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t.inputSchema]));
    const values = (p) => (p.anyOf ? p.anyOf[0] : p).enum;
    const sizes = values(by.create_video.properties.size);
    assert.deepEqual(values(by.prepare_reference_image.properties.target_size), sizes);
    assert.ok(sizes.includes('1920x1080') && sizes.includes('1080x1920'), `1080p sizes: ${sizes}`);
  });
});

test('list_reference_images lists images only, with filters, sorting and limits', async () => {
  await withServer(async ({ client, images, fake }) => {
    const files = { 'b.png': encodePng(10, 10), 'a.jpg': JPEG_64x48, 'c.jpeg': JPEG_64x48, 'd.webp': WEBP_64x48, 'e.gif': GIF_1x1, 'notes.txt': 'x', '.hidden.png': encodePng(2, 2) };
    let t = 1_700_000_000;
    for (const [n, b] of Object.entries(files)) {
      fs.writeFileSync(path.join(images, n), b);
      fs.utimesSync(path.join(images, n), t, t);
      t += 100;
    }
    fs.mkdirSync(path.join(images, 'folder.png'));
    fs.symlinkSync('b.png', path.join(images, 'link.png'));
    const list = async (args) => (await ok(client, 'list_reference_images', args)).structuredContent.data;
    const all = await list({});
    // default: modified, newest first; only regular image files
    assert.deepEqual(all.map((e) => e.filename), ['d.webp', 'c.jpeg', 'a.jpg', 'b.png']);
    const b = all.find((e) => e.filename === 'b.png');
    assert.deepEqual(b, { filename: 'b.png', size_bytes: files['b.png'].length, modified_timestamp: 1_700_000_000, file_type: 'png' });
    assert.deepEqual((await list({ file_type: 'jpeg' })).map((e) => e.filename).sort(), ['a.jpg', 'c.jpeg']);
    assert.deepEqual((await list({ file_type: 'png' })).map((e) => e.filename), ['b.png']);
    assert.deepEqual((await list({ file_type: 'webp' })).map((e) => e.filename), ['d.webp']);
    assert.deepEqual((await list({ sort_by: 'name', order: 'asc' })).map((e) => e.filename), ['a.jpg', 'b.png', 'c.jpeg', 'd.webp']);
    assert.deepEqual((await list({ sort_by: 'size', order: 'asc', limit: 2 })).map((e) => e.size_bytes),
      [...[files['b.png'], JPEG_64x48, WEBP_64x48].map((x) => x.length)].sort((p, q) => p - q).slice(0, 2));
    assert.deepEqual((await list({ pattern: '[ab]*' })).map((e) => e.filename).sort(), ['a.jpg', 'b.png']);
    assert.deepEqual(await list({ pattern: '../*' }), []);
    await refused(client, 'list_reference_images', { file_type: 'gif' }, /file_type/);
    await refused(client, 'list_reference_images', { limit: 0 }, /limit/);
    assert.equal(fake.requests.length, 0);
  });
});

test('prepare_reference_image: every mode gives exactly each video size, RGB, as {stem}_{WxH}.png', async () => {
  await withServer(async ({ client, images }) => {
    writePng(images, 'wide.png', 400, 100, { pixel: (x) => bands(x) });
    for (const mode of ['crop', 'pad', 'rescale']) {
      for (const [w, h] of SIZES) {
        const r = await ok(client, 'prepare_reference_image', { input_filename: 'wide.png', target_size: `${w}x${h}`, resize_mode: mode, overwrite: true });
        const s = r.structuredContent;
        assert.equal(s.output_filename, `wide_${w}x${h}.png`);
        assert.deepEqual(s.original_size, [400, 100]);
        assert.deepEqual(s.target_size, [w, h]);
        assert.equal(s.resize_mode, mode);
        const bytes = fs.readFileSync(path.join(images, s.output_filename));
        const hd = pngHeader(bytes);
        assert.deepEqual([hd.width, hd.height, hd.depth, hd.colourType], [w, h, 8, 2], `${mode} ${w}x${h}`);
        const link = r.content.find((c) => c.type === 'resource_link');
        assert.deepEqual([link.uri, link.mimeType, link.size], [`sanzaru://images/wide_${w}x${h}.png`, 'image/png', bytes.length]);
      }
    }
    // the default mode is crop
    const d = await ok(client, 'prepare_reference_image', { input_filename: 'wide.png', target_size: '1280x720', output_filename: 'default.png' });
    assert.equal(d.structuredContent.resize_mode, 'crop');
  });
});

test('prepare_reference_image: crop keeps the centre, pad letterboxes on black, rescale stretches', async () => {
  await withServer(async ({ client, images }) => {
    writePng(images, 'bands.png', 400, 100, { pixel: (x) => bands(x) });
    const run = async (mode, out) => {
      await ok(client, 'prepare_reference_image', { input_filename: 'bands.png', target_size: '720x1280', resize_mode: mode, output_filename: out });
      return decodePng(fs.readFileSync(path.join(images, out)));
    };
    // crop: scaled to cover (x12.8) then the middle 720 columns: all green
    const crop = await run('crop', 'crop.png');
    for (const [x, y] of [[0, 0], [719, 0], [0, 1279], [719, 1279], [360, 640]]) assertColour(crop, x, y, GREEN, 'crop');
    // pad: scaled to fit (720x180), centred on black
    const pad = await run('pad', 'pad.png');
    for (const [x, y] of [[0, 0], [719, 0], [360, 100], [0, 1279], [719, 1279], [360, 1200]]) assertColour(pad, x, y, [0, 0, 0], 'pad border');
    assertColour(pad, 5, 640, RED, 'pad left');
    assertColour(pad, 360, 640, GREEN, 'pad centre');
    assertColour(pad, 714, 640, BLUE, 'pad right');
    // rescale: the whole picture, stretched over the whole frame
    const rescale = await run('rescale', 'rescale.png');
    for (const y of [0, 640, 1279]) {
      assertColour(rescale, 5, y, RED, 'rescale left');
      assertColour(rescale, 360, y, GREEN, 'rescale centre');
      assertColour(rescale, 714, y, BLUE, 'rescale right');
    }
  });
});

test('prepare_reference_image: pad enlarges a small image, alpha is dropped, JPEG/WEBP/1x1 inputs work', async () => {
  await withServer(async ({ client, images }) => {
    writePng(images, 'small.png', 16, 9, { pixel: () => GREEN });
    await ok(client, 'prepare_reference_image', { input_filename: 'small.png', target_size: '1280x720', resize_mode: 'pad' });
    const small = decodePng(fs.readFileSync(path.join(images, 'small_1280x720.png')));
    // 16:9 into 16:9: enlarged to fill the frame (the original would leave it tiny)
    for (const [x, y] of [[2, 2], [1277, 2], [640, 360], [2, 717], [1277, 717]]) assertColour(small, x, y, GREEN, 'enlarged');
    writePng(images, 'alpha.png', 64, 48, { alpha: true, pixel: (x) => [200, 100, 50, x < 32 ? 0 : 255] });
    const a = await ok(client, 'prepare_reference_image', { input_filename: 'alpha.png', target_size: '1792x1024', resize_mode: 'rescale' });
    const ab = fs.readFileSync(path.join(images, a.structuredContent.output_filename));
    assert.equal(pngHeader(ab).colourType, 2, 'RGB, no alpha');
    fs.writeFileSync(path.join(images, 'photo.jpg'), JPEG_64x48);
    fs.writeFileSync(path.join(images, 'photo.webp'), WEBP_64x48);
    writePng(images, 'dot.png', 1, 1);
    for (const [input, stem] of [['photo.jpg', 'photo'], ['photo.webp', 'photo'], ['dot.png', 'dot']]) {
      for (const mode of ['crop', 'pad', 'rescale']) {
        const r = await ok(client, 'prepare_reference_image', { input_filename: input, target_size: '1024x1792', resize_mode: mode, output_filename: `${stem}-${mode}-${input.split('.')[1]}.png` });
        const hd = pngHeader(fs.readFileSync(path.join(images, r.structuredContent.output_filename)));
        assert.deepEqual([hd.width, hd.height, hd.colourType], [1024, 1792, 2], `${input} ${mode}`);
      }
    }
  });
});

test('prepare_reference_image: output names, collisions and overwrite', async () => {
  await withServer(async ({ client, images }) => {
    writePng(images, 'cat.png', 80, 60);
    const first = await ok(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '1280x720' });
    assert.equal(first.structuredContent.output_filename, 'cat_1280x720.png');
    // a default name never replaces an earlier result
    const second = await ok(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '1280x720' });
    assert.equal(second.structuredContent.output_filename, 'cat_1280x720-1.png');
    // a given name is never replaced unless asked
    fs.writeFileSync(path.join(images, 'keep.png'), 'precious');
    await toolError(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '1280x720', output_filename: 'keep.png' }, /^File already exists: keep\.png/);
    assert.equal(fs.readFileSync(path.join(images, 'keep.png'), 'utf8'), 'precious');
    await ok(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '720x1280', output_filename: 'keep.png', overwrite: true });
    assert.deepEqual([pngHeader(fs.readFileSync(path.join(images, 'keep.png'))).width, pngHeader(fs.readFileSync(path.join(images, 'keep.png'))).height], [720, 1280]);
    // with overwrite the default name is replaced in place
    await ok(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '1280x720', overwrite: true });
    await toolError(client, 'prepare_reference_image', { input_filename: 'cat.png', target_size: '1280x720', output_filename: 'cat.jpg' }, /^Unsupported file type: \.jpg\. Use: PNG/);
    assert.deepEqual(listDir(images), ['cat.png', 'cat_1280x720-1.png', 'cat_1280x720.png', 'keep.png']);
  });
});

test('prepare_reference_image: corrupt, cut-off and disguised images are tool errors', async () => {
  await withServer(async ({ client, images }) => {
    const good = encodePng(300, 200);
    const sig = Buffer.from('89504e470d0a1a0a', 'hex');
    const files = {
      'garbage.png': Buffer.concat([sig, Buffer.alloc(200, 0x5a)]),
      'header-only.png': good.subarray(0, 40),
      'text.png': Buffer.from('this is not an image'),
      'gif-inside.png': GIF_1x1,
      'empty.png': Buffer.alloc(0),
      'cut.jpg': JPEG_64x48.subarray(0, 200),
    };
    for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(images, n), b);
    for (const n of Object.keys(files)) {
      await toolError(client, 'prepare_reference_image', { input_filename: n, target_size: '1280x720' }, new RegExp(`^Could not prepare ${n.replace('.', '\\.')}: .+`));
    }
    await toolError(client, 'prepare_reference_image', { input_filename: 'missing.png', target_size: '1280x720' }, /^File not found: missing\.png$/);
    fs.writeFileSync(path.join(images, 'anim.gif'), GIF_1x1);
    await toolError(client, 'prepare_reference_image', { input_filename: 'anim.gif', target_size: '1280x720' }, /^Unsupported file type: \.gif\. Use: JPEG, PNG, or WEBP$/);
    const big = path.join(images, 'huge.png');
    fs.writeFileSync(big, good);
    fs.truncateSync(big, 50 * 1024 * 1024 + 1);
    await toolError(client, 'prepare_reference_image', { input_filename: 'huge.png', target_size: '1280x720' }, /too large/i);
    await refused(client, 'prepare_reference_image', { input_filename: 'garbage.png', target_size: '640x480' }, /target_size/);
    await refused(client, 'prepare_reference_image', { input_filename: 'garbage.png', target_size: '1280x720', resize_mode: 'zoom' }, /resize_mode/);
    assert.deepEqual(listDir(images), [...Object.keys(files), 'anim.gif', 'huge.png'].sort(), 'nothing was written');
    // and the server still works
    fs.writeFileSync(path.join(images, 'fine.png'), good);
    await ok(client, 'prepare_reference_image', { input_filename: 'fine.png', target_size: '1280x720' });
  });
});

test('prepare_reference_image input_filename and output_filename: the hostile-filename battery', async () => {
  await withServer(async ({ client, images }) => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-outside-'));
    try {
      const cases = hostileBattery(images, outside, 'png');
      const before = batteryState(images, outside, 'png');
      for (const c of cases) {
        await refused(client, 'prepare_reference_image', { input_filename: c.name, target_size: '1280x720' }, c.re);
      }
      for (const c of cases) {
        for (const overwrite of [false, true]) {
          // Without overwrite an occupied name is simply taken; either way it is refused.
          const re = c.kind === 'syntax' || overwrite ? c.re : new RegExp(`${c.re.source}|^File already exists: ${c.name.replace('.', '\\.')}`);
          await refused(client, 'prepare_reference_image', { input_filename: 'real.png', target_size: '1280x720', output_filename: c.name, overwrite }, re);
        }
      }
      assert.deepEqual(batteryState(images, outside, 'png'), before, 'nothing changed inside or outside');
      assert.equal(sha256(fs.readFileSync(path.join(outside, 'secret.png'))), before.secret);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

// libvips 8.14's thumbnail_source ignores fail_on, so a PNG cut inside its pixel data
// would be decoded with the missing rows filled in (repro: `vips thumbnail_source
// "[descriptor=0]" o.png 1280 --height 720 --fail-on error < truncated.png` exits 0).
// The issue asks for a tool error in every mode.
test('prepare_reference_image: an image truncated inside its pixel data is a tool error', async () => {
  await withServer(async ({ client, images }) => {
    const good = encodePng(300, 200);
    fs.writeFileSync(path.join(images, 'truncated.png'), good.subarray(0, Math.floor(good.length / 2)));
    fs.writeFileSync(path.join(images, 'truncated.jpg'), JPEG_64x48.subarray(0, JPEG_64x48.length - 300));
    for (const n of ['truncated.png', 'truncated.jpg']) {
      for (const mode of ['crop', 'pad', 'rescale']) {
        await toolError(client, 'prepare_reference_image', { input_filename: n, target_size: '1280x720', resize_mode: mode }, /^Could not prepare truncated\.(png|jpg): .+/);
      }
    }
    assert.deepEqual(listDir(images), ['truncated.jpg', 'truncated.png']);
  });
});
