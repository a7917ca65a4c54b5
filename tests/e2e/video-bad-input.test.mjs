// Bad input to the video tools, one test per case: hostile file names on both tools that
// take one (create_video's input_reference_filename reads, download_video's filename
// writes), reference images that are not what they claim, ids that must never reach a
// URL, and arguments the schema refuses. Every refusal happens before any request to
// OpenAI and leaves the media directories as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  withServer, ok, toolError, schemaError, hostileNames, entries, assertEntries, contentRequests,
  PNG, JPEG_64x48, WEBP_64x48, GIF_1x1, sha256, encodePng,
} from './video-lib.mjs';

/** A directory outside every media root, removed afterwards. */
function outsideDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-outside-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function refused(client, name, args, how) {
  if (how === 'schema') await schemaError(client, name, args, /must not (be empty|contain NUL)/);
  else await toolError(client, name, args, how);
}

// ---- input_reference_filename (read from the image directory) ---------------------------

for (const c of hostileNames({ writing: false })) {
  test(`create_video refuses input_reference_filename ${c.label}`, async () => {
    const outside = outsideDir();
    await withServer(
      async ({ client, fake, images }) => {
        if (c.setup) c.setup(images, outside.dir);
        const before = entries(images);
        await refused(client, 'create_video', { prompt: 'p', input_reference_filename: c.name }, c.how);
        assert.equal(fake.requests.length, 0, 'no request reached OpenAI');
        assertEntries(images, before);
      },
      { cleanup: outside.cleanup },
    );
  });
}

test('create_video refuses a hidden reference name', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, '.hidden.png'), PNG);
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: '.hidden.png' }, /hidden names/);
    assert.equal(fake.requests.length, 0);
  });
});

test('create_video refuses a reference that is really a text file named .png', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'notes.png'), 'These are my notes, not a picture.\n');
    await toolError(
      client, 'create_video', { prompt: 'p', input_reference_filename: 'notes.png' },
      /^Reference image notes\.png is not a valid PNG image: its content does not match its extension$/,
    );
    assert.equal(fake.requests.length, 0);
  });
});

test('create_video refuses JPEG data named .png, naming both formats', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'photo.png'), JPEG_64x48);
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: 'photo.png' }, /photo\.png holds JPEG data but is named as PNG/);
    assert.equal(fake.requests.length, 0);
  });
});

test('create_video refuses an empty reference file', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'empty.webp'), '');
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: 'empty.webp' }, /empty\.webp is not a valid WEBP image/);
    assert.equal(fake.requests.length, 0);
  });
});

test('create_video refuses a .gif reference with the supported types', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'anim.gif'), GIF_1x1);
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: 'anim.gif' }, /^Unsupported file type: \.gif\. Use: JPEG, PNG, or WEBP$/);
    assert.equal(fake.requests.length, 0);
  });
});

/** Reference images whose first bytes say PNG, JPEG or WEBP but that cannot be used:
 *  corrupt after the signature, cut off inside the header, or cut off inside the pixel
 *  data (the header reads; the file stops before its end). */
function unreadableReferences() {
  const sig = Buffer.from('89504e470d0a1a0a', 'hex');
  const big = encodePng(300, 200);
  return [
    { name: 'corrupt.png', bytes: Buffer.concat([sig, Buffer.alloc(200, 0x5a)]), format: 'PNG' },
    { name: 'cut.png', bytes: PNG.subarray(0, 40), format: 'PNG' },
    { name: 'half.png', bytes: big.subarray(0, big.length >> 1), format: 'PNG', why: /Truncated image: the PNG ends inside its IDAT chunk/ },
    { name: 'cut.jpg', bytes: JPEG_64x48.subarray(0, 200), format: 'JPEG' },
    { name: 'tail.jpg', bytes: JPEG_64x48.subarray(0, JPEG_64x48.length - 300), format: 'JPEG', why: /Truncated image: the JPEG ends before its end-of-image marker/ },
    { name: 'corrupt.webp', bytes: Buffer.concat([WEBP_64x48.subarray(0, 12), Buffer.alloc(100, 0x33)]), format: 'WEBP' },
    { name: 'short.webp', bytes: WEBP_64x48.subarray(0, WEBP_64x48.length - 10), format: 'WEBP' },
  ];
}

test('create_video probes the reference by content: a corrupt or cut-off image is refused by name, and nothing is sent', async () => {
  await withServer(async ({ client, fake, images }) => {
    for (const r of unreadableReferences()) {
      fs.writeFileSync(path.join(images, r.name), r.bytes);
      const re = new RegExp(`^Reference image '${r.name.replace('.', '\\.')}' is not a readable ${r.format}: .+`);
      const text = await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: r.name }, re);
      if (r.why) assert.match(text, r.why);
    }
    assert.equal(fake.requests.length, 0, `sent: ${fake.requests.map((q) => q.path)}`);
    // a whole image of each kind still goes through, bytes unchanged
    for (const [name, bytes] of [['whole.png', PNG], ['whole.jpg', JPEG_64x48], ['whole.webp', WEBP_64x48]]) {
      fs.writeFileSync(path.join(images, name), bytes);
      await ok(client, 'create_video', { prompt: 'p', input_reference_filename: name });
      const sent = fake.requests.at(-1);
      assert.equal(sent.files?.[0]?.sha256, sha256(bytes), `${name} uploaded as it is`);
    }
  });
});

test('create_video reports a missing reference', async () => {
  await withServer(async ({ client, fake }) => {
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: 'missing.png' }, /^File not found: missing\.png$/);
    assert.equal(fake.requests.length, 0);
  });
});

test('create_video refuses a reference over 50 MB', async () => {
  await withServer(async ({ client, fake, images }) => {
    const big = path.join(images, 'huge.png');
    fs.writeFileSync(big, PNG);
    fs.truncateSync(big, 50 * 1024 * 1024 + 1); // sparse: cheap
    await toolError(client, 'create_video', { prompt: 'p', input_reference_filename: 'huge.png' }, /too large: huge\.png/);
    assert.equal(fake.requests.length, 0);
  });
});

// ---- download_video's filename (written to the video directory) -------------------------

for (const c of hostileNames({ writing: true })) {
  test(`download_video refuses filename ${c.label}`, async () => {
    const outside = outsideDir();
    await withServer(
      async ({ client, fake, videos }) => {
        const v = fake.addVideo({});
        if (c.setup) c.setup(videos, outside.dir);
        const before = entries(videos);
        const outsideBefore = entries(outside.dir);
        const snap = (d) => Object.fromEntries(entries(d).map((n) => [n, fs.lstatSync(path.join(d, n))]));
        const stats = snap(videos);
        await refused(client, 'download_video', { video_id: v.id, filename: c.name }, c.how);
        if (c.setup) {
          // With overwrite the store still refuses anything but a regular file.
          await refused(
            client, 'download_video', { video_id: v.id, filename: c.name, overwrite: true },
            /cannot be a symbolic link|not a regular file/,
          );
        }
        assert.equal(contentRequests(fake).length, 0, 'nothing was downloaded');
        assertEntries(videos, before);
        assertEntries(outside.dir, outsideBefore);
        for (const [n, st] of Object.entries(snap(videos))) {
          assert.equal(st.ino, stats[n].ino, `${n} is the same inode`);
          assert.equal(st.mode, stats[n].mode, `${n} kept its type`);
          assert.equal(st.size, stats[n].size, `${n} kept its size`);
        }
        for (const n of entries(outside.dir)) assert.deepEqual(fs.readFileSync(path.join(outside.dir, n)), PNG);
        assert.ok(!fs.existsSync('/etc/passwd') || fs.readFileSync('/etc/passwd', 'utf8').includes('root'));
      },
      { cleanup: outside.cleanup },
    );
  });
}

test('download_video refuses a hidden filename', async () => {
  await withServer(async ({ client, fake, videos }) => {
    const v = fake.addVideo({});
    await toolError(client, 'download_video', { video_id: v.id, filename: '.sanzaru-tmp-x' }, /hidden names/);
    assert.equal(contentRequests(fake).length, 0);
    assertEntries(videos, []);
  });
});

// ---- ids that go into URL paths -----------------------------------------------------------

const BAD_IDS = [
  ['a slash', 'video_1/../../files'],
  ['a bare slash', 'a/b'],
  ['..', '..'],
  ['a question mark', 'video_1?variant=x'],
  ['a space', 'video 1'],
  ['a leading space', ' video_1'],
  ['a percent escape', 'video_%2e%2e'],
  ['a hash', 'video_1#x'],
  ['a newline', 'video_1\r\nX-Evil: 1'],
  ['non-ASCII', 'vidéo_1'],
  ['129 characters', 'v'.repeat(129)],
  ['an empty string', ''],
];

for (const [label, id] of BAD_IDS) {
  test(`a video_id with ${label} is a tool error on every tool, never a URL`, async () => {
    await withServer(async ({ client, fake, videos }) => {
      for (const [tool, args, param] of [
        ['get_video_status', { video_id: id }, 'video_id'],
        ['delete_video', { video_id: id }, 'video_id'],
        ['download_video', { video_id: id }, 'video_id'],
        ['remix_video', { previous_video_id: id, prompt: 'x' }, 'previous_video_id'],
      ]) {
        const text = await toolError(client, tool, args, new RegExp(`^Invalid ${param}: '`));
        assert.match(text, /expected 1 to 128 letters, digits, '_' or '-'/);
      }
      assert.equal(fake.requests.length, 0, 'no request was made');
      assertEntries(videos, []);
    });
  });
}

test('a 128-character id is fine; the echo of a long bad id is shortened', async () => {
  await withServer(async ({ client, fake }) => {
    const id = 'v'.repeat(128);
    fake.addVideo({ id });
    const r = await ok(client, 'get_video_status', { video_id: id });
    assert.equal(r.structuredContent.id, id);
    const text = await toolError(client, 'get_video_status', { video_id: 'é'.repeat(300) }, /^Invalid video_id: /);
    assert.ok(text.length < 200, text);
    assert.match(text, /\.\.\.'/);
  });
});

// ---- arguments the schema refuses (isError results naming the argument, nothing runs) ------

test('schema: enums, ranges, required and unknown arguments', async () => {
  await withServer(async ({ client, fake }) => {
    await schemaError(client, 'create_video', { prompt: 'p', seconds: '5' }, /'seconds' must be one of "4", "8", "12"/);
    await schemaError(client, 'create_video', { prompt: 'p', seconds: 5 }, /'seconds' must be one of "4", "8", "12", not an integer/);
    await schemaError(client, 'create_video', { prompt: 'p', size: '640x360' }, /'size' must be one of/);
    // Gemini's 1080p sizes are in the enum; Sora refuses them before any request
    await toolError(client, 'create_video', { prompt: 'p', size: '1920x1080' }, /^sora-2 cannot make size 1920x1080: Sora makes 720x1280 and 1280x720/);
    await schemaError(client, 'create_video', { prompt: '' }, /'prompt' must not be empty/);
    await schemaError(client, 'create_video', {}, /'prompt' is required/);
    await schemaError(client, 'create_video', { prompt: 'p', duration: 4 }, /unknown argument 'duration'; this tool takes 'prompt', 'model', 'seconds', 'size', 'input_reference_filename'/);
    await schemaError(client, 'list_videos', { limit: 0 }, /'limit' must be at least 1/);
    await schemaError(client, 'list_videos', { limit: 101 }, /'limit' must be at most 100/);
    await schemaError(client, 'list_videos', { order: 'newest' }, /'order' must be one of/);
    await schemaError(client, 'download_video', { video_id: 'video_1', variant: 'poster' }, /'variant' must be one of/);
    await schemaError(client, 'download_video', { video_id: 'video_1', overwrite: 'yes' }, /'overwrite' must be a boolean/);
    await schemaError(client, 'remix_video', { previous_video_id: 'video_1' }, /'prompt' is required/);
    await schemaError(client, 'get_video_status', {}, /'video_id' is required/);
    assert.equal(fake.requests.length, 0);
  });
});
