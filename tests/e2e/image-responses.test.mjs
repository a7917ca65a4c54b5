// create_image, get_image_status and download_image (OpenAI Responses API) end to end:
// the official SDK client drives the real server over stdio against the fake OpenAI
// server; every upstream request the server makes is checked as recorded by the fake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  withServer, ok, toolError, recorded, writePng, pngHeader, sha256, listDir,
  JPEG_64x48, WEBP_64x48, GIF_1x1, encodePng, writeUnreadable, unreadableRe,
} from './image-lib.mjs';

function dataUrl(url) {
  const m = /^data:([^;]+);base64,(.*)$/s.exec(url);
  assert.ok(m, `not a base64 data URL: ${url.slice(0, 40)}`);
  return { mime: m[1], bytes: Buffer.from(m[2], 'base64') };
}

async function createCompleted(client, fake, args = { prompt: 'a red fox' }) {
  const r = await ok(client, 'create_image', args);
  fake.completeResponse(r.structuredContent.id);
  return r.structuredContent.id;
}

test('tools are listed with the contract annotations and closed input schemas', async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t]));
    const hints = (t) => {
      const a = by[t].annotations;
      return [a.readOnlyHint, a.destructiveHint, a.idempotentHint, a.openWorldHint];
    };
    assert.deepEqual(hints('create_image'), [false, false, false, true]);
    assert.deepEqual(hints('get_image_status'), [true, undefined, undefined, true]);
    assert.deepEqual(hints('download_image'), [false, false, true, true]);
    assert.deepEqual(hints('generate_image'), [false, false, false, true]);
    assert.deepEqual(hints('edit_image'), [false, false, false, true]);
    for (const n of ['create_image', 'get_image_status', 'download_image', 'generate_image', 'edit_image']) {
      assert.equal(by[n].inputSchema.additionalProperties, false, n);
      assert.ok(by[n].outputSchema, n);
    }
    assert.deepEqual(by.create_image.inputSchema.required, ['prompt']);
    assert.deepEqual(
      Object.keys(by.create_image.inputSchema.properties).sort(),
      ['input_images', 'mask_filename', 'model', 'previous_response_id', 'prompt', 'tool_config'],
    );
    assert.deepEqual(Object.keys(by.download_image.inputSchema.properties).sort(), ['filename', 'overwrite', 'response_id']);
    assert.deepEqual(Object.keys(by.get_image_status.inputSchema.properties), ['response_id']);
  });
});

test('create_image from text: POST /responses with background and the default models', async () => {
  await withServer(async ({ client, fake }) => {
    const r = await ok(client, 'create_image', { prompt: 'a red fox' });
    const { id, status, created_at } = r.structuredContent;
    assert.match(id, /^resp_/);
    assert.equal(status, 'queued');
    assert.equal(typeof created_at, 'number');
    assert.deepEqual(Object.keys(r.structuredContent).sort(), ['created_at', 'id', 'status']);
    const reqs = recorded(fake, 'POST', 'responses');
    assert.equal(reqs.length, 1);
    assert.deepEqual(reqs[0].json, {
      model: 'gpt-5.2',
      input: 'a red fox',
      tools: [{ type: 'image_generation', model: 'gpt-image-2' }],
      background: true,
    });
    assert.equal(reqs[0].headers.authorization, 'Bearer sk-test');
    assert.equal(reqs[0].created, id);
    assert.equal(fake.requests.length, 1, 'nothing else was sent');
  });
});

test('create_image defaults follow SANZARU_RESPONSES_MODEL and SANZARU_IMAGE_MODEL', async () => {
  await withServer(
    async ({ client, fake }) => {
      await ok(client, 'create_image', { prompt: 'p' });
      await ok(client, 'create_image', { prompt: 'p', model: 'gpt-5-mini', tool_config: { model: 'gpt-image-1-mini' } });
      const [a, b] = recorded(fake, 'POST', 'responses').map((q) => q.json);
      assert.equal(a.model, 'gpt-4.1');
      assert.deepEqual(a.tools, [{ type: 'image_generation', model: 'gpt-image-1.5' }]);
      assert.equal(b.model, 'gpt-5-mini');
      assert.deepEqual(b.tools, [{ type: 'image_generation', model: 'gpt-image-1-mini' }]);
    },
    { env: { SANZARU_RESPONSES_MODEL: 'gpt-4.1', SANZARU_IMAGE_MODEL: 'gpt-image-1.5' } },
  );
});

test('create_image passes tool_config through and previous_response_id on', async () => {
  await withServer(async ({ client, fake }) => {
    const tool_config = {
      type: 'image_generation', size: '1536x1024', quality: 'high', output_format: 'webp',
      output_compression: 80, moderation: 'low', background: 'opaque', partial_images: 0,
    };
    const first = await ok(client, 'create_image', { prompt: 'a lighthouse', tool_config });
    const again = await ok(client, 'create_image', {
      prompt: 'make it night', tool_config, previous_response_id: first.structuredContent.id,
    });
    const [a, b] = recorded(fake, 'POST', 'responses').map((q) => q.json);
    assert.deepEqual(a.tools, [{ ...tool_config, model: 'gpt-image-2' }]);
    assert.equal(a.previous_response_id, undefined);
    assert.equal(b.previous_response_id, first.structuredContent.id);
    assert.deepEqual(b.tools, a.tools);
    assert.notEqual(again.structuredContent.id, first.structuredContent.id);
    // type is always image_generation, whatever the caller wrote
    await ok(client, 'create_image', { prompt: 'p', tool_config: { type: 'web_search', quality: 'low' } });
    assert.deepEqual(recorded(fake, 'POST', 'responses')[2].json.tools, [{ type: 'image_generation', quality: 'low', model: 'gpt-image-2' }]);
    // an unknown previous response is OpenAI's 400, relayed with its status and message
    await toolError(client, 'create_image', { prompt: 'p', previous_response_id: 'resp_nope' },
      /OpenAI API error 400 \(previous_response_not_found\): Previous response with id 'resp_nope' not found\./);
  });
});

test('create_image sends input_images inline as one user message of data: URLs', async ({ }) => {
  await withServer(async ({ client, fake, images }) => {
    const png = writePng(images, 'a.png', 64, 48);
    fs.writeFileSync(path.join(images, 'b.jpg'), JPEG_64x48);
    // named .png, holds WEBP: the data URL says what the bytes are
    fs.writeFileSync(path.join(images, 'c.png'), WEBP_64x48);
    await ok(client, 'create_image', { prompt: 'combine these', input_images: ['a.png', 'b.jpg', 'c.png'] });
    const [req] = recorded(fake, 'POST', 'responses');
    assert.equal(req.json.input.length, 1);
    const msg = req.json.input[0];
    assert.equal(msg.role, 'user');
    assert.equal(msg.content.length, 4);
    assert.deepEqual(msg.content[0], { type: 'input_text', text: 'combine these' });
    const expect = [['image/png', png], ['image/jpeg', JPEG_64x48], ['image/webp', WEBP_64x48]];
    expect.forEach(([mime, bytes], i) => {
      const item = msg.content[i + 1];
      assert.deepEqual(Object.keys(item).sort(), ['detail', 'image_url', 'type']);
      assert.equal(item.type, 'input_image');
      assert.equal(item.detail, 'auto');
      const d = dataUrl(item.image_url);
      assert.equal(d.mime, mime);
      assert.equal(sha256(d.bytes), sha256(bytes));
    });
    assert.deepEqual(req.inputImages.map((x) => x.format), ['png', 'jpeg', 'webp']);
    assert.equal(recorded(fake, 'POST', 'files').length, 0);
  });
});

test('create_image uploads the mask to /files (purpose vision) and references its file_id', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png', 64, 48);
    const mask = writePng(images, 'mask.png', 64, 48, { alpha: true });
    const tool_config = { quality: 'low' };
    await ok(client, 'create_image', { prompt: 'add a hat', input_images: ['photo.png'], mask_filename: 'mask.png', tool_config });
    const files = recorded(fake, 'POST', 'files');
    const resp = recorded(fake, 'POST', 'responses');
    assert.equal(files.length, 1);
    assert.equal(resp.length, 1);
    assert.ok(files[0].seq < resp[0].seq, 'the mask is uploaded before the response is created');
    assert.match(files[0].contentType, /^multipart\/form-data; boundary=/);
    assert.deepEqual(files[0].fields, { purpose: 'vision' });
    assert.equal(files[0].files.length, 1);
    const f = files[0].files[0];
    assert.equal(f.name, 'file');
    assert.equal(f.filename, 'mask.png');
    assert.equal(f.contentType, 'image/png');
    assert.equal(f.sha256, sha256(mask));
    assert.deepEqual(resp[0].json.tools, [{ type: 'image_generation', quality: 'low', model: 'gpt-image-2', input_image_mask: { file_id: files[0].created } }]);
    // the same arguments again: a new upload, and the tool carries only the new id
    await ok(client, 'create_image', { prompt: 'add a hat', input_images: ['photo.png'], mask_filename: 'mask.png', tool_config });
    const files2 = recorded(fake, 'POST', 'files');
    assert.equal(files2.length, 2);
    assert.notEqual(files2[1].created, files2[0].created);
    assert.deepEqual(recorded(fake, 'POST', 'responses')[1].json.tools[0].input_image_mask, { file_id: files2[1].created });
  });
});

test('create_image probes every input and the mask by content: a corrupt or cut-off file is refused by name, and nothing is sent', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png', 64, 48);
    const bad = writeUnreadable(images);
    for (const f of bad) {
      await toolError(client, 'create_image', { prompt: 'p', input_images: [f.name] }, unreadableRe('Input image', f));
      await toolError(client, 'create_image', { prompt: 'p', input_images: ['photo.png', f.name] }, unreadableRe('Input image', f));
      if (f.format === 'PNG') {
        await toolError(client, 'create_image', { prompt: 'p', input_images: ['photo.png'], mask_filename: f.name }, unreadableRe('Mask', f));
      }
    }
    assert.equal(fake.requests.length, 0, `sent: ${fake.requests.map((q) => q.path)}`);
  });
});

test('create_image refuses bad masks and inputs before sending anything', async () => {
  await withServer(async ({ client, fake, images }) => {
    writePng(images, 'photo.png', 64, 48);
    writePng(images, 'opaque.png', 64, 48); // RGB: no alpha channel
    fs.writeFileSync(path.join(images, 'mask.jpg'), JPEG_64x48);
    fs.writeFileSync(path.join(images, 'jpeg-inside.png'), JPEG_64x48);
    fs.writeFileSync(path.join(images, 'anim.gif'), GIF_1x1);
    fs.writeFileSync(path.join(images, 'text.png'), 'not an image at all\n');
    const sig = Buffer.from('89504e470d0a1a0a', 'hex');
    fs.writeFileSync(path.join(images, 'broken.png'), Buffer.concat([sig, Buffer.alloc(40, 7)]));
    const cases = [
      [{ prompt: 'p', mask_filename: 'mask.png' }, /^mask_filename requires input_images parameter$/],
      [{ prompt: 'p', input_images: [], mask_filename: 'mask.png' }, /^mask_filename requires input_images parameter$/],
      [{ prompt: 'p', input_images: ['photo.png'], mask_filename: 'mask.jpg' }, /^Mask must be PNG format with alpha channel$/],
      [{ prompt: 'p', input_images: ['photo.png'], mask_filename: 'opaque.png' }, /^Mask must be PNG format with alpha channel$/],
      [{ prompt: 'p', input_images: ['photo.png'], mask_filename: 'jpeg-inside.png' }, /^Mask must be PNG format with alpha channel$/],
      [{ prompt: 'p', input_images: ['photo.png'], mask_filename: 'broken.png' }, /^Mask 'broken\.png' is not a readable PNG: /],
      [{ prompt: 'p', input_images: ['photo.png'], mask_filename: 'nomask.png' }, /^File not found: nomask\.png$/],
      [{ prompt: 'p', input_images: ['missing.png'] }, /^File not found: missing\.png$/],
      [{ prompt: 'p', input_images: ['photo.png', 'anim.gif'] }, /^Unsupported file type: \.gif\. Use: JPEG, PNG, or WEBP$/],
      [{ prompt: 'p', input_images: ['notes.txt'] }, /^Unsupported file type: \.txt\. Use: JPEG, PNG, or WEBP$/],
      [{ prompt: 'p', input_images: ['text.png'] }, /^Unsupported image content: text\.png is not a PNG, JPEG or WEBP image$/],
      [{ prompt: 'p', input_images: ['photo.png', 'broken.png'] }, /^Input image 'broken\.png' is not a readable PNG: /],
      [{ prompt: 'p', tool_config: { background: 'transparent' } }, /gpt-image-2 does not support transparent backgrounds/],
      [{ prompt: 'p', tool_config: { background: 'transparent', model: 'gpt-image-2-2026-04-01' } }, /gpt-image-2-2026-04-01 does not support transparent backgrounds/],
    ];
    for (const [args, re] of cases) await toolError(client, 'create_image', args, re);
    assert.equal(fake.requests.length, 0, `sent: ${fake.requests.map((q) => q.path)}`);
    // transparent with another model is the caller's business
    await ok(client, 'create_image', { prompt: 'p', tool_config: { background: 'transparent', model: 'gpt-image-1.5' } });
    assert.equal(recorded(fake, 'POST', 'responses')[0].json.tools[0].background, 'transparent');
  });
});

test('create_image: files over 50 MB, alone or together, are refused before sending', async () => {
  await withServer(async ({ client, fake, images }) => {
    // sparse: costs no disk
    const big = path.join(images, 'huge.png');
    fs.writeFileSync(big, encodePng(8, 8));
    fs.truncateSync(big, 50 * 1024 * 1024 + 1);
    await toolError(client, 'create_image', { prompt: 'p', input_images: ['huge.png'] }, /Input image is too large: huge\.png/);
    // two valid PNG headers followed by padding: each under the cap, together over it
    for (const n of ['half1.png', 'half2.png']) {
      const p = path.join(images, n);
      fs.writeFileSync(p, encodePng(8, 8));
      fs.truncateSync(p, 26 * 1024 * 1024);
    }
    await toolError(client, 'create_image', { prompt: 'p', input_images: ['half1.png', 'half2.png'] },
      /^Input images total \d+ bytes; at most 50 MB of images can be sent in one request$/);
    assert.equal(fake.requests.length, 0);
  });
});

test('create_image relays upstream failures with the status and OpenAI\'s message', async () => {
  await withServer(async ({ client, fake, images }) => {
    fake.faults.add({ method: 'POST', path: 'responses', status: 500 });
    await toolError(client, 'create_image', { prompt: 'p' },
      /^OpenAI API error 500 \(server_error\): The server had an error while processing your request \(injected fault\)\.$/);
    fake.faults.add({ method: 'POST', path: 'responses', status: 429, error: { message: 'You exceeded your current quota.', code: 'insufficient_quota' } });
    await toolError(client, 'create_image', { prompt: 'p' }, /OpenAI API error 429 \(insufficient_quota\): You exceeded your current quota\./);
    writePng(images, 'photo.png');
    writePng(images, 'mask.png', 64, 48, { alpha: true });
    fake.faults.add({ method: 'POST', path: 'files', status: 503 });
    await toolError(client, 'create_image', { prompt: 'p', input_images: ['photo.png'], mask_filename: 'mask.png' }, /OpenAI API error 503/);
    assert.equal(recorded(fake, 'POST', 'responses').length, 2, 'no response is created after the mask upload failed');
    fake.faults.add({ method: 'POST', path: 'responses', status: 200, body: '{"not json' });
    await toolError(client, 'create_image', { prompt: 'p' }, /^OpenAI API returned status 200 with a body that is not JSON: \{"not json$/);
  });
});

test('without OPENAI_API_KEY every Responses tool says so and sends nothing', async () => {
  await withServer(
    async ({ client, fake, images }) => {
      writePng(images, 'photo.png');
      await toolError(client, 'create_image', { prompt: 'p' }, /^OPENAI_API_KEY is not set$/);
      await toolError(client, 'create_image', { prompt: 'p', input_images: ['photo.png'] }, /^OPENAI_API_KEY is not set$/);
      await toolError(client, 'get_image_status', { response_id: 'resp_x' }, /^OPENAI_API_KEY is not set$/);
      await toolError(client, 'download_image', { response_id: 'resp_x' }, /^OPENAI_API_KEY is not set$/);
      assert.equal(fake.requests.length, 0);
      assert.deepEqual(listDir(images), ['photo.png']);
    },
    { env: { OPENAI_API_KEY: undefined } },
  );
});

test('get_image_status follows a job from queued to completed', async () => {
  await withServer(async ({ client, fake }) => {
    const { id, created_at } = (await ok(client, 'create_image', { prompt: 'p' })).structuredContent;
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const r = await ok(client, 'get_image_status', { response_id: id });
      assert.deepEqual(Object.keys(r.structuredContent).sort(), ['created_at', 'id', 'status']);
      assert.equal(r.structuredContent.id, id);
      assert.equal(r.structuredContent.created_at, created_at);
      seen.push(r.structuredContent.status);
    }
    assert.deepEqual(seen, ['queued', 'in_progress', 'completed']);
    const gets = recorded(fake, 'GET', `responses/${id}`);
    assert.equal(gets.length, 3);
    fake.setNextResponseOutcome({ outcome: 'failed' });
    const bad = (await ok(client, 'create_image', { prompt: 'p' })).structuredContent.id;
    fake.completeResponse(bad);
    assert.equal((await ok(client, 'get_image_status', { response_id: bad })).structuredContent.status, 'failed');
  });
});

test('get_image_status: unknown and malformed ids, upstream faults', async () => {
  await withServer(async ({ client, fake }) => {
    await toolError(client, 'get_image_status', { response_id: 'resp_nope' },
      /^OpenAI API error 404 \(invalid_request_error\): Response with id 'resp_nope' not found\.$/);
    for (const id of ['../x', 'resp_1/../../videos', 'a b', 'resp?x=1']) {
      await toolError(client, 'get_image_status', { response_id: id }, /Invalid response_id/);
    }
    await toolError(client, 'get_image_status', { response_id: 'x'.repeat(129) }, /'response_id' must be at most 128 characters/);
    assert.equal(fake.requests.length, 1, 'malformed ids never reach the network');
    fake.faults.add({ method: 'GET', path: 'responses/*', status: 502 });
    await toolError(client, 'get_image_status', { response_id: 'resp_x' }, /^OpenAI API error 502/);
  });
});

test('download_image saves the first image_generation_call as img_<unix>.png with a resource link', async () => {
  await withServer(async ({ client, fake, images }) => {
    const id = await createCompleted(client, fake);
    const before = Math.floor(Date.now() / 1000);
    const r = await ok(client, 'download_image', { response_id: id });
    const after = Math.floor(Date.now() / 1000);
    const s = r.structuredContent;
    const m = /^img_(\d+)\.png$/.exec(s.filename);
    assert.ok(m, s.filename);
    assert.ok(+m[1] >= before - 1 && +m[1] <= after + 1);
    assert.deepEqual(s.size, [64, 48]);
    assert.equal(s.format, 'png');
    const bytes = fs.readFileSync(path.join(images, s.filename));
    assert.equal(sha256(bytes), fake.assets.png.sha256);
    assert.equal(s.size_bytes, bytes.length);
    assert.deepEqual(pngHeader(bytes).width, 64);
    const link = r.content.find((c) => c.type === 'resource_link');
    assert.equal(link.uri, `sanzaru://images/${s.filename}`);
    assert.equal(link.mimeType, 'image/png');
    assert.equal(link.size, bytes.length);
    // the link resolves to the same bytes
    const read = await client.readResource({ uri: link.uri });
    assert.equal(read.contents[0].mimeType, 'image/png');
    assert.equal(sha256(Buffer.from(read.contents[0].blob, 'base64')), fake.assets.png.sha256);
    // a second download never replaces the first: a free name is picked
    const r2 = await ok(client, 'download_image', { response_id: id });
    assert.notEqual(r2.structuredContent.filename, s.filename);
    assert.match(r2.structuredContent.filename, /^img_\d+(-\d+)?\.png$/);
    assert.deepEqual(listDir(images), [s.filename, r2.structuredContent.filename].sort());
    assert.equal(recorded(fake, 'GET', `responses/${id}`).length, 2);
  });
});

test('download_image names a JPEG or WEBP result after its real format', async () => {
  await withServer(async ({ client, fake, images }) => {
    const id = await createCompleted(client, fake, { prompt: 'p', tool_config: { output_format: 'jpeg' } });
    const r = await ok(client, 'download_image', { response_id: id });
    assert.match(r.structuredContent.filename, /^img_\d+\.jpeg$/);
    assert.equal(r.structuredContent.format, 'jpeg');
    assert.equal(r.content[1].mimeType, 'image/jpeg');
    assert.equal(sha256(fs.readFileSync(path.join(images, r.structuredContent.filename))), sha256(JPEG_64x48));
    await ok(client, 'download_image', { response_id: id, filename: 'fox.jpg' });
    await ok(client, 'download_image', { response_id: id, filename: 'fox2.JPEG' });
    // a name that would mislabel the image is refused, and nothing is written
    await toolError(client, 'download_image', { response_id: id, filename: 'fox.png' },
      /^The image is JPEG but the filename 'fox\.png' names another format: use a name ending in \.jpg or \.jpeg$/);
    const w = await createCompleted(client, fake, { prompt: 'p', tool_config: { output_format: 'webp' } });
    const rw = await ok(client, 'download_image', { response_id: w, filename: 'fox.webp' });
    assert.equal(rw.structuredContent.format, 'webp');
    assert.deepEqual(rw.structuredContent.size, [64, 48]);
    assert.deepEqual(listDir(images), [r.structuredContent.filename, 'fox.jpg', 'fox.webp', 'fox2.JPEG'].sort());
    await toolError(client, 'download_image', { response_id: w, filename: 'fox.gif' }, /^Unsupported file type: \.gif\. Use: PNG, JPEG, or WEBP$/);
    await toolError(client, 'download_image', { response_id: w, filename: 'fox' }, /has no extension/);
  });
});

test('download_image: an existing file is kept unless overwrite is true', async () => {
  await withServer(async ({ client, fake, images }) => {
    const id = await createCompleted(client, fake);
    fs.writeFileSync(path.join(images, 'keep.png'), 'precious');
    const gets = () => recorded(fake, 'GET', `responses/${id}`).length;
    await toolError(client, 'download_image', { response_id: id, filename: 'keep.png' },
      /^File already exists: keep\.png \(pass overwrite: true to replace it\)$/);
    await toolError(client, 'download_image', { response_id: id, filename: 'keep.png', overwrite: false }, /File already exists/);
    assert.equal(gets(), 0, 'the download is not even fetched');
    assert.equal(fs.readFileSync(path.join(images, 'keep.png'), 'utf8'), 'precious');
    const r = await ok(client, 'download_image', { response_id: id, filename: 'keep.png', overwrite: true });
    assert.equal(r.structuredContent.filename, 'keep.png');
    assert.equal(sha256(fs.readFileSync(path.join(images, 'keep.png'))), fake.assets.png.sha256);
    assert.deepEqual(listDir(images), ['keep.png']);
  });
});

test('download_image: jobs without a finished image say why', async () => {
  await withServer(async ({ client, fake, images }) => {
    const queued = (await ok(client, 'create_image', { prompt: 'p' })).structuredContent.id;
    await toolError(client, 'download_image', { response_id: queued }, /^Image generation not completed \(status: queued\)$/);
    await toolError(client, 'download_image', { response_id: queued }, /^Image generation not completed \(status: generating\)$/);
    const outcomes = [
      ['no_image_call', (id) => new RegExp(`^No image generation found in response ${id}$`)],
      ['call_failed', () => /^Image generation not completed \(status: failed\)$/],
      ['call_in_progress', () => /^Image generation not completed \(status: in_progress\)$/],
      [{ outcome: 'failed', error: { code: 'moderation_blocked', message: 'Your request was rejected by the safety system.' } },
        (id) => new RegExp(`^No image generation found in response ${id} \\(response status: failed: Your request was rejected by the safety system\\.\\)$`)],
      ['incomplete', (id) => new RegExp(`^No image generation found in response ${id} \\(response status: incomplete: content_filter\\)$`)],
    ];
    for (const [outcome, re] of outcomes) {
      fake.setNextResponseOutcome(outcome);
      const id = await createCompleted(client, fake);
      await toolError(client, 'download_image', { response_id: id }, re(id));
    }
    await toolError(client, 'download_image', { response_id: 'resp_gone' }, /^OpenAI API error 404 .*Response with id 'resp_gone' not found\.$/);
    await toolError(client, 'download_image', { response_id: '../../etc' }, /^Invalid response_id/);
    assert.deepEqual(listDir(images), []);
  });
});

test('download_image: an error text on the image call is included', async () => {
  await withServer(async ({ client, fake }) => {
    const body = (status, extra) => ({ id: 'resp_fixed', object: 'response', status: 'completed', created_at: 1, output: [{ type: 'message', id: 'm' }, { type: 'image_generation_call', id: 'ig', status, ...extra }] });
    fake.faults.add({ method: 'GET', path: 'responses/resp_fixed', status: 200, body: body('failed', { error: { message: 'content policy' } }) });
    await toolError(client, 'download_image', { response_id: 'resp_fixed' }, /^Image generation not completed \(status: failed\): content policy$/);
    fake.faults.add({ method: 'GET', path: 'responses/resp_fixed', status: 200, body: body('failed', { error: 'plain text' }) });
    await toolError(client, 'download_image', { response_id: 'resp_fixed' }, /^Image generation not completed \(status: failed\): plain text$/);
    fake.faults.add({ method: 'GET', path: 'responses/resp_fixed', status: 200, body: body('completed', { result: null }) });
    await toolError(client, 'download_image', { response_id: 'resp_fixed' }, /completed but response resp_fixed carries no image data/);
  });
});

test('download_image: corrupt base64 or a non-image result is a tool error and writes nothing', async () => {
  await withServer(async ({ client, fake, images }) => {
    const body = (result) => ({ id: 'resp_fixed', object: 'response', status: 'completed', created_at: 1, output: [{ type: 'image_generation_call', id: 'ig', status: 'completed', result }] });
    const cases = [
      ['!!!! not base64 ****', /could not be read: Invalid base64/],
      [Buffer.from('hello, not an image').toString('base64'), /could not be read/],
      [fake.assets.png.bytes.subarray(0, 20).toString('base64'), /could not be read/],
    ];
    for (const [result, re] of cases) {
      fake.faults.add({ method: 'GET', path: 'responses/resp_fixed', status: 200, body: body(result) });
      await toolError(client, 'download_image', { response_id: 'resp_fixed' }, re);
      fake.faults.add({ method: 'GET', path: 'responses/resp_fixed', status: 200, body: body(result) });
      await toolError(client, 'download_image', { response_id: 'resp_fixed', filename: 'named.png' }, re);
    }
    fake.faults.add({ method: 'GET', path: 'responses/*', status: 500 });
    await toolError(client, 'download_image', { response_id: 'resp_x' }, /^OpenAI API error 500 \(server_error\): The server had an error/);
    fake.faults.add({ method: 'GET', path: 'responses/*', truncate: true, status: 200, body: body(fake.assets.png.bytes.toString('base64')) });
    await toolError(client, 'download_image', { response_id: 'resp_x' }, /.+/);
    assert.deepEqual(listDir(images), []);
  });
});

test('download_image: cancelling while the response is in flight leaves nothing behind', async () => {
  await withServer(async ({ client, fake, images }) => {
    const id = await createCompleted(client, fake);
    fake.faults.add({ method: 'GET', path: `responses/${id}`, delay_ms: 3000, status: 500 });
    const ac = new AbortController();
    const p = client.callTool({ name: 'download_image', arguments: { response_id: id, filename: 'later.png' } }, undefined, { signal: ac.signal });
    while (recorded(fake, 'GET', `responses/${id}`).length === 0) await new Promise((r) => setTimeout(r, 20));
    ac.abort('stop');
    await assert.rejects(p);
    // the server stays responsive and the in-flight request was dropped
    assert.deepEqual(await client.ping(), {});
    const rec = recorded(fake, 'GET', `responses/${id}`)[0];
    for (let i = 0; i < 75 && rec.completed === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(rec.completed, false, 'the connection was closed before the (delayed) reply');
    assert.deepEqual(listDir(images), []);
    // and the next call works
    await ok(client, 'download_image', { response_id: id, filename: 'later.png' });
    assert.deepEqual(listDir(images), ['later.png']);
  });
});

test('large replies (parsed off the loop) work the same: status, download, invalid JSON', async () => {
  await withServer(async ({ client, fake, images }) => {
    const pad = 'x'.repeat(600 * 1024);
    const body = { id: 'resp_big', object: 'response', status: 'completed', created_at: 1234, metadata: { pad },
      output: [{ type: 'image_generation_call', id: 'ig', status: 'completed', result: fake.assets.png.bytes.toString('base64') }] };
    fake.faults.add({ method: 'GET', path: 'responses/resp_big', status: 200, body });
    const st = await ok(client, 'get_image_status', { response_id: 'resp_big' });
    assert.deepEqual(st.structuredContent, { id: 'resp_big', status: 'completed', created_at: 1234 });
    fake.faults.add({ method: 'GET', path: 'responses/resp_big', status: 200, body });
    const r = await ok(client, 'download_image', { response_id: 'resp_big', filename: 'big.png' });
    assert.deepEqual(r.structuredContent.size, [64, 48]);
    assert.equal(sha256(fs.readFileSync(path.join(images, 'big.png'))), fake.assets.png.sha256);
    fake.faults.add({ method: 'GET', path: 'responses/resp_big', status: 200, body: '{"id": "resp_big", "pad": "' + pad });
    await toolError(client, 'download_image', { response_id: 'resp_big', filename: 'bad.png' }, /^OpenAI API returned status 200 with a body that is not JSON: \{"id": "resp_big", "pad": "x+\.\.\.$/);
    assert.deepEqual(listDir(images), ['big.png']);
  });
});
