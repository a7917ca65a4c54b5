// Self-tests of the fake OpenAI server: every endpoint, the state machines, pagination,
// validation, each fault kind, auth, the control API, keep-alive, many concurrent
// downloads and the CLI. Run: node --test tests/fake-openai/
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { inflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAI, compilePathPattern } from './server.mjs';
import { parseMultipart, MultipartError } from './multipart.mjs';
import { encodePng, crc32, probeImage, makeVideoBytes, JPEG_64x48, WEBP_64x48 } from './media.mjs';

const KEY = 'sk-test';
const AUTH = { authorization: `Bearer ${KEY}` };
const sha = (b) => createHash('sha256').update(b).digest('hex');
const PNG = encodePng(64, 48);
const RGBA_PNG = encodePng(64, 48, { channels: 4, pixel: (x) => [0, 0, 0, x < 32 ? 0 : 255] });

function pngChunks(buf) {
    const out = [];
    let o = 8;
    while (o < buf.length) {
        const len = buf.readUInt32BE(o);
        const type = buf.toString('latin1', o + 4, o + 8);
        const data = buf.subarray(o + 8, o + 8 + len);
        const crc = buf.readUInt32BE(o + 8 + len);
        out.push({ type, data, crcOk: crc32(buf.subarray(o + 4, o + 8 + len)) === crc });
        o += 12 + len;
    }
    return out;
}

function form(fields, files = []) {
    const fd = new FormData();
    for (const [k, v] of Object.entries(fields)) fd.append(k, v);
    for (const f of files) fd.append(f.name, new Blob([f.data], { type: f.type }), f.filename);
    return fd;
}

async function call(fake, method, path, { json, body, headers = {}, auth = true } = {}) {
    const h = { ...(auth ? AUTH : {}), ...headers };
    let b = body;
    if (json !== undefined) {
        h['content-type'] = 'application/json';
        b = JSON.stringify(json);
    }
    const res = await fetch(fake.url + path, { method, headers: h, body: b });
    const buf = Buffer.from(await res.arrayBuffer());
    let parsed = null;
    if ((res.headers.get('content-type') || '').startsWith('application/json')) parsed = JSON.parse(buf.toString('utf8'));
    return { status: res.status, headers: res.headers, body: parsed, raw: buf };
}

function assertOpenAIError(r, status, param) {
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.ok(r.body && r.body.error, 'has an error object');
    for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in r.body.error, `error.${k} present`);
    assert.equal(typeof r.body.error.message, 'string');
    if (param !== undefined) assert.equal(r.body.error.param, param);
}

async function createVideo(fake, fields = { prompt: 'a cat' }) {
    const r = await call(fake, 'POST', '/videos', { body: form(fields) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
}

async function pollUntil(fake, path, status, max = 20) {
    for (let i = 0; i < max; i++) {
        const r = await call(fake, 'GET', path);
        if (r.body.status === status) return r.body;
    }
    throw new Error(`${path} never reached ${status}`);
}

/** Raw GET counting body bytes; resolves {status, headers, received, error} when the socket ends. */
function rawGet(url, headers = AUTH) {
    return new Promise((resolve) => {
        const req = http.get(url, { headers, agent: false }, (res) => {
            let received = 0;
            const hash = createHash('sha256');
            res.on('data', (c) => {
                received += c.length;
                hash.update(c);
            });
            const done = (error) => resolve({ status: res.statusCode, headers: res.headers, received, sha256: hash.digest('hex'), error, complete: res.complete });
            res.on('end', () => done(null));
            res.on('error', (e) => done(e));
            res.on('aborted', () => {});
        });
        req.on('error', (e) => resolve({ status: null, received: 0, error: e }));
    });
}

describe('media', () => {
    test('PNG encoder writes a valid PNG (signature, CRCs, inflatable IDAT of the right size)', () => {
        assert.deepEqual([...PNG.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const chunks = pngChunks(PNG);
        assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
        assert.ok(chunks.every((c) => c.crcOk));
        assert.equal(chunks[0].data.readUInt32BE(0), 64);
        assert.equal(chunks[0].data.readUInt32BE(4), 48);
        assert.equal(chunks[0].data[9], 2);
        assert.equal(inflateSync(chunks[1].data).length, 48 * (64 * 3 + 1));
        assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    });
    test('embedded JPEG and WEBP are real 64x48 images', () => {
        assert.deepEqual(probeImage(JPEG_64x48), { format: 'jpeg', width: 64, height: 48 });
        assert.deepEqual(probeImage(WEBP_64x48), { format: 'webp', width: 64, height: 48 });
    });
    test('video bytes: exact length, ftyp then mdat box, deterministic and cached', () => {
        const v = makeVideoBytes(7691516, 1);
        assert.equal(v.length, 7691516);
        assert.equal(v.toString('latin1', 4, 8), 'ftyp');
        assert.equal(v.readUInt32BE(0), 32);
        assert.equal(v.toString('latin1', 36, 40), 'mdat');
        assert.equal(v.readUInt32BE(32), 7691516 - 32);
        assert.equal(makeVideoBytes(7691516, 1), v, 'same buffer object (generated once)');
        assert.equal(sha(makeVideoBytes(1000, 7)), sha(Buffer.from(makeVideoBytes(1000, 7))));
        assert.notEqual(sha(makeVideoBytes(1000, 7)), sha(makeVideoBytes(1000, 8)));
    });
});

describe('multipart parser', () => {
    test('binary-safe parts with CRLF and boundary-like bytes, quoted boundary, filename*', () => {
        const data = Buffer.concat([Buffer.from('a--xyz\r\n--xy\r\n-'), Buffer.from([0, 255, 13, 10]), Buffer.from('\r\n')]);
        const body = Buffer.concat([
            Buffer.from('preamble\r\n--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\r\n'),
            Buffer.from('--xyz\r\nContent-Disposition: form-data; name="f"; filename="a b.bin"; filename*=UTF-8\'\'na%C3%AFve.bin\r\nContent-Type: application/octet-stream\r\n\r\n'),
            data,
            Buffer.from('\r\n--xyz--\r\n'),
        ]);
        const parts = parseMultipart('multipart/form-data; boundary="xyz"', body);
        assert.equal(parts.length, 2);
        assert.equal(parts[0].name, 'prompt');
        assert.equal(parts[0].data.toString(), 'hello');
        assert.equal(parts[0].filename, null);
        assert.equal(parts[1].filename, 'naïve.bin');
        assert.equal(parts[1].contentType, 'application/octet-stream');
        assert.ok(parts[1].data.equals(data));
    });
    test('rejects a body without closing boundary, without boundary, or without a name', () => {
        const open = Buffer.from('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx');
        assert.throws(() => parseMultipart('multipart/form-data; boundary=b', open), MultipartError);
        assert.throws(() => parseMultipart('multipart/form-data', Buffer.from('--b--')), MultipartError);
        const noName = Buffer.from('--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--');
        assert.throws(() => parseMultipart('multipart/form-data; boundary=b', noName), MultipartError);
    });
    test('path patterns', () => {
        assert.ok(compilePathPattern('videos/*/content').test('/v1/videos/video_1/content'));
        assert.ok(!compilePathPattern('videos/*/content').test('/v1/videos/a/b/content'));
        assert.ok(compilePathPattern('/v1/**').test('/v1/videos/a/b'));
        assert.ok(!compilePathPattern('videos').test('/v1/videos/x'));
    });
});

describe('fake OpenAI server', () => {
    let fake;
    before(async () => {
        fake = await startFakeOpenAI({ port: 0 });
    });
    after(async () => {
        await fake.close();
    });
    beforeEach(() => fake.reset());

    test('url and port', () => {
        assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        assert.ok(fake.port > 0);
        assert.equal(fake.url, `http://127.0.0.1:${fake.port}/v1`);
    });

    describe('auth', () => {
        test('missing Authorization is a 401 OpenAI error', async () => {
            const r = await call(fake, 'GET', '/videos', { auth: false });
            assertOpenAIError(r, 401);
            assert.equal(fake.requests[0].status, 401);
        });
        test('empty or non-Bearer credentials are 401 invalid_api_key', async () => {
            for (const h of ['Bearer ', 'Basic abc', 'Bearer']) {
                const r = await call(fake, 'GET', '/videos', { auth: false, headers: { authorization: h } });
                assertOpenAIError(r, 401);
            }
        });
        test('an apiKey option requires that key', async () => {
            const f = await startFakeOpenAI({ apiKey: 'sk-right' });
            try {
                assertOpenAIError(await call(f, 'GET', '/videos'), 401);
                const ok = await call(f, 'GET', '/videos', { auth: false, headers: { authorization: 'Bearer sk-right' } });
                assert.equal(ok.status, 200);
            } finally {
                await f.close();
            }
        });
        test('unknown paths are 404 OpenAI errors', async () => {
            assertOpenAIError(await call(fake, 'GET', '/models'), 404);
            assertOpenAIError(await call(fake, 'PUT', '/videos'), 404);
        });
    });

    describe('videos', () => {
        test('create (multipart) records fields and the reference file part', async () => {
            const r = await call(fake, 'POST', '/videos', {
                body: form({ prompt: 'a cat', model: 'sora-2-pro', seconds: '8', size: '1280x720' }, [
                    { name: 'input_reference', data: PNG, type: 'image/png', filename: 'ref.png' },
                ]),
            });
            assert.equal(r.status, 200);
            const v = r.body;
            assert.match(v.id, /^video_[0-9a-f]+$/);
            assert.equal(v.object, 'video');
            assert.equal(v.status, 'queued');
            assert.equal(v.progress, 0);
            assert.equal(v.model, 'sora-2-pro');
            assert.equal(v.seconds, '8');
            assert.equal(v.size, '1280x720');
            assert.equal(v.prompt, 'a cat');
            for (const k of ['completed_at', 'expires_at', 'remixed_from_video_id', 'error']) assert.equal(v[k], null, k);
            assert.equal(typeof v.created_at, 'number');
            const rec = fake.requests.at(-1);
            assert.equal(rec.method, 'POST');
            assert.equal(rec.path, '/v1/videos');
            assert.deepEqual(rec.fields, { prompt: 'a cat', model: 'sora-2-pro', seconds: '8', size: '1280x720' });
            assert.equal(rec.files.length, 1);
            assert.deepEqual(rec.files[0], {
                name: 'input_reference', filename: 'ref.png', contentType: 'image/png', bytes: PNG.length, sha256: sha(PNG), format: 'png', width: 64, height: 48,
            });
            assert.equal(rec.created, v.id);
            assert.equal(rec.headers.authorization, `Bearer ${KEY}`);
            assert.equal(fake.state.videos.get(v.id).inputReference.sha256, sha(PNG));
        });
        test('create defaults: model sora-2, 4 seconds, 720x1280', async () => {
            const v = await createVideo(fake, { prompt: 'x' });
            assert.deepEqual([v.model, v.seconds, v.size], ['sora-2', '4', '720x1280']);
        });
        test('create with a JSON body', async () => {
            const r = await call(fake, 'POST', '/videos', { json: { prompt: 'json cat', seconds: '12', input_reference: { file_id: 'file-1' } } });
            assert.equal(r.status, 200);
            assert.equal(r.body.seconds, '12');
            assert.deepEqual(fake.requests.at(-1).json, { prompt: 'json cat', seconds: '12', input_reference: { file_id: 'file-1' } });
        });
        test('validation: 400 errors name the field', async () => {
            const cases = [
                [{ seconds: '8' }, 'prompt'],
                [{ prompt: '' }, 'prompt'],
                [{ prompt: 'x', seconds: '5' }, 'seconds'],
                [{ prompt: 'x', size: '1920x1080' }, 'size'],
                [{ prompt: 'x', quality: 'hd' }, 'quality'],
            ];
            for (const [fields, param] of cases) assertOpenAIError(await call(fake, 'POST', '/videos', { body: form(fields) }), 400, param);
            assertOpenAIError(await call(fake, 'POST', '/videos', { json: { prompt: 'x', seconds: 8 } }), 400, 'seconds');
            assertOpenAIError(
                await call(fake, 'POST', '/videos', { body: form({ prompt: 'x' }, [{ name: 'input_reference', data: Buffer.from('hello'), type: 'text/plain', filename: 'a.txt' }]) }),
                400,
                'input_reference',
            );
            assertOpenAIError(
                await call(fake, 'POST', '/videos', { body: form({ prompt: 'x' }, [{ name: 'input_reference', data: Buffer.from('not a png'), type: 'image/png', filename: 'a.png' }]) }),
                400,
                'input_reference',
            );
            assertOpenAIError(await call(fake, 'POST', '/videos', { body: 'prompt=x', headers: { 'content-type': 'multipart/form-data; boundary=zz' } }), 400);
            assertOpenAIError(await call(fake, 'POST', '/videos', { body: '{"prompt":', headers: { 'content-type': 'application/json' } }), 400);
            assert.equal(fake.state.videos.size, 0);
        });
        test('checkReferenceSize refuses a reference whose size differs from the video size', async () => {
            fake.configure({ videos: { checkReferenceSize: true } });
            const ref = [{ name: 'input_reference', data: PNG, type: 'image/png', filename: 'r.png' }];
            assertOpenAIError(await call(fake, 'POST', '/videos', { body: form({ prompt: 'x', size: '1280x720' }, ref) }), 400, 'input_reference');
        });
        test('state machine: queued -> in_progress (progress rising) -> completed, one step per poll', async () => {
            fake.configure({ videos: { queuedPolls: 1, inProgressPolls: 3 } });
            const v = await createVideo(fake);
            const seen = [];
            for (let i = 0; i < 6; i++) {
                const r = await call(fake, 'GET', `/videos/${v.id}`);
                seen.push([r.body.status, r.body.progress]);
                if (i === 5) {
                    assert.equal(typeof r.body.completed_at, 'number');
                    assert.equal(r.body.expires_at, r.body.completed_at + 86400);
                }
            }
            assert.deepEqual(seen, [['queued', 0], ['in_progress', 25], ['in_progress', 50], ['in_progress', 75], ['completed', 100], ['completed', 100]]);
            assert.equal(fake.state.videos.get(v.id).polls, 6);
        });
        test('time mode follows the (injected) clock, not polls', async () => {
            let clock = 1_700_000_000_000;
            const f = await startFakeOpenAI({ now: () => clock, videos: { mode: 'time', queuedMs: 1000, inProgressMs: 1000 } });
            try {
                const v = await createVideo(f);
                assert.equal((await call(f, 'GET', `/videos/${v.id}`)).body.status, 'queued');
                clock += 1500;
                const mid = (await call(f, 'GET', `/videos/${v.id}`)).body;
                assert.equal(mid.status, 'in_progress');
                assert.ok(mid.progress > 0 && mid.progress < 100);
                clock += 600;
                const done = (await call(f, 'GET', `/videos/${v.id}`)).body;
                assert.equal(done.status, 'completed');
                assert.equal(done.completed_at, Math.floor(clock / 1000));
            } finally {
                await f.close();
            }
        });
        test('a video can be made to fail (next video, or a given one)', async () => {
            fake.failNextVideo({ code: 'moderation_blocked', message: 'blocked by moderation' });
            const v = await createVideo(fake);
            const end = await pollUntil(fake, `/videos/${v.id}`, 'failed');
            assert.deepEqual(end.error, { code: 'moderation_blocked', message: 'blocked by moderation' });
            assert.equal(end.completed_at, null);
            const v2 = await createVideo(fake);
            assert.equal(fake.failVideo(v2.id, { code: 'internal_error', message: 'boom' }).status, 'failed');
            const got = (await call(fake, 'GET', `/videos/${v2.id}`)).body;
            assert.equal(got.status, 'failed');
            assert.equal(got.error.code, 'internal_error');
            assertOpenAIError(await call(fake, 'GET', `/videos/${v2.id}/content`), 404);
        });
        test('list: pagination with limit/after/order, first_id/last_id/has_more', async () => {
            const ids = [];
            for (let i = 0; i < 5; i++) ids.push((await createVideo(fake, { prompt: `v${i}` })).id);
            const p1 = (await call(fake, 'GET', '/videos?limit=2')).body;
            assert.equal(p1.object, 'list');
            assert.deepEqual(p1.data.map((v) => v.id), [ids[4], ids[3]]);
            assert.equal(p1.first_id, ids[4]);
            assert.equal(p1.last_id, ids[3]);
            assert.equal(p1.has_more, true);
            const p2 = (await call(fake, 'GET', `/videos?limit=2&after=${p1.last_id}`)).body;
            assert.deepEqual(p2.data.map((v) => v.id), [ids[2], ids[1]]);
            const p3 = (await call(fake, 'GET', `/videos?limit=2&after=${p2.last_id}`)).body;
            assert.deepEqual(p3.data.map((v) => v.id), [ids[0]]);
            assert.equal(p3.has_more, false);
            const asc = (await call(fake, 'GET', '/videos?order=asc&limit=3')).body;
            assert.deepEqual(asc.data.map((v) => v.id), ids.slice(0, 3));
            const all = (await call(fake, 'GET', '/videos')).body;
            assert.equal(all.data.length, 5);
            assert.ok(all.data.every((v) => v.object === 'video' && 'progress' in v));
            assert.deepEqual(fake.requests.at(-1).query, {});
            assertOpenAIError(await call(fake, 'GET', '/videos?limit=101'), 400, 'limit');
            assertOpenAIError(await call(fake, 'GET', '/videos?limit=abc'), 400, 'limit');
            assertOpenAIError(await call(fake, 'GET', '/videos?order=up'), 400, 'order');
            assertOpenAIError(await call(fake, 'GET', '/videos?after=video_nope'), 400, 'after');
        });
        test('list when empty', async () => {
            assert.deepEqual((await call(fake, 'GET', '/videos')).body, { object: 'list', data: [], first_id: null, last_id: null, has_more: false });
        });
        test('delete: video.deleted, then 404', async () => {
            const v = await createVideo(fake);
            const d = await call(fake, 'DELETE', `/videos/${v.id}`);
            assert.deepEqual(d.body, { id: v.id, object: 'video.deleted', deleted: true });
            assertOpenAIError(await call(fake, 'GET', `/videos/${v.id}`), 404);
            assertOpenAIError(await call(fake, 'DELETE', `/videos/${v.id}`), 404);
            assertOpenAIError(await call(fake, 'GET', '/videos/video_unknown'), 404);
        });
        test('remix: needs a completed source, creates a new video with remixed_from_video_id', async () => {
            const v = await createVideo(fake, { prompt: 'src', seconds: '8', size: '1280x720' });
            assertOpenAIError(await call(fake, 'POST', `/videos/${v.id}/remix`, { json: { prompt: 'more' } }), 400);
            await pollUntil(fake, `/videos/${v.id}`, 'completed');
            const r = await call(fake, 'POST', `/videos/${v.id}/remix`, { json: { prompt: 'more cats' } });
            assert.equal(r.status, 200);
            assert.notEqual(r.body.id, v.id);
            assert.equal(r.body.remixed_from_video_id, v.id);
            assert.equal(r.body.status, 'queued');
            assert.equal(r.body.prompt, 'more cats');
            assert.deepEqual([r.body.seconds, r.body.size], ['8', '1280x720']);
            assert.deepEqual(fake.requests.at(-1).json, { prompt: 'more cats' });
            assertOpenAIError(await call(fake, 'POST', `/videos/${v.id}/remix`, { json: {} }), 400, 'prompt');
            assertOpenAIError(await call(fake, 'POST', '/videos/video_nope/remix', { json: { prompt: 'x' } }), 404);
        });
        test('content: 404 until completed; then real bytes per variant with type, length and sha256', async () => {
            const v = await createVideo(fake);
            const early = await call(fake, 'GET', `/videos/${v.id}/content`);
            assertOpenAIError(early, 404);
            assert.equal(early.body.error.code, 'video_not_ready');
            await pollUntil(fake, `/videos/${v.id}`, 'completed');
            const want = { video: ['video/mp4', fake.assets.video], thumbnail: ['image/webp', fake.assets.thumbnail], spritesheet: ['image/jpeg', fake.assets.spritesheet] };
            for (const [variant, [type, a]] of Object.entries(want)) {
                const r = await call(fake, 'GET', `/videos/${v.id}/content${variant === 'video' ? '' : `?variant=${variant}`}`);
                assert.equal(r.status, 200);
                assert.equal(r.headers.get('content-type'), type);
                assert.equal(Number(r.headers.get('content-length')), a.length);
                assert.equal(sha(r.raw), a.sha256);
            }
            assert.equal(fake.assets.video.length, 7691516);
            assert.equal(fake.assets.video.bytes.toString('latin1', 4, 8), 'ftyp');
            assert.equal(probeImage(fake.assets.thumbnail.bytes).format, 'webp');
            assert.equal(probeImage(fake.assets.spritesheet.bytes).format, 'jpeg');
            assertOpenAIError(await call(fake, 'GET', `/videos/${v.id}/content?variant=gif`), 400, 'variant');
            assertOpenAIError(await call(fake, 'GET', '/videos/video_nope/content'), 404);
        });
        test('addVideo seeds a completed video; completeVideo finishes one now', async () => {
            const seeded = fake.addVideo({ id: 'video_seeded', size: '1280x720' });
            assert.equal(seeded.status, 'completed');
            const r = await rawGet(`${fake.url}/videos/video_seeded/content`);
            assert.equal(r.status, 200);
            assert.equal(r.sha256, fake.assets.video.sha256);
            const v = await createVideo(fake);
            assert.equal(fake.completeVideo(v.id).status, 'completed');
            assert.equal((await call(fake, 'GET', `/videos/${v.id}`)).body.status, 'completed');
        });
        test('a configurable video size', async () => {
            const f = await startFakeOpenAI({ videoBytes: 1000, videoSeed: 3 });
            try {
                f.addVideo({ id: 'video_small' });
                const r = await rawGet(`${f.url}/videos/video_small/content`);
                assert.equal(r.received, 1000);
                assert.equal(r.sha256, sha(makeVideoBytes(1000, 3)));
            } finally {
                await f.close();
            }
        });
    });

    describe('responses', () => {
        const tool = { type: 'image_generation', model: 'gpt-image-2' };
        const dataUrl = (buf, mime = 'image/png') => `data:${mime};base64,${buf.toString('base64')}`;

        async function createResp(extra = {}) {
            const r = await call(fake, 'POST', '/responses', { json: { model: 'gpt-5.2', input: 'a red fox', background: true, tools: [tool], ...extra } });
            assert.equal(r.status, 200, JSON.stringify(r.body));
            return r.body;
        }

        test('create -> queued -> in_progress -> completed with a real base64 PNG', async () => {
            const r = await createResp();
            assert.match(r.id, /^resp_[0-9a-f]+$/);
            assert.equal(r.object, 'response');
            assert.equal(r.status, 'queued');
            assert.equal(typeof r.created_at, 'number');
            assert.equal(r.background, true);
            assert.deepEqual(r.output, []);
            const statuses = [];
            let last;
            for (let i = 0; i < 4; i++) {
                last = (await call(fake, 'GET', `/responses/${r.id}`)).body;
                statuses.push(last.status);
            }
            assert.deepEqual(statuses, ['queued', 'in_progress', 'completed', 'completed']);
            const callItem = last.output.find((o) => o.type === 'image_generation_call');
            assert.equal(callItem.status, 'completed');
            assert.match(callItem.id, /^ig_/);
            const png = Buffer.from(callItem.result, 'base64');
            assert.equal(sha(png), fake.assets.png.sha256);
            assert.deepEqual(probeImage(png), { format: 'png', width: 64, height: 48 });
            assert.ok(pngChunks(png).every((c) => c.crcOk));
            assert.equal(typeof last.completed_at, 'number');
        });
        test('message-list input with input_text + input_image data URLs and a mask file is recorded', async () => {
            const up = await call(fake, 'POST', '/files', { body: form({ purpose: 'vision' }, [{ name: 'file', data: RGBA_PNG, type: 'image/png', filename: 'mask.png' }]) });
            assert.equal(up.status, 200);
            const input = [{ role: 'user', content: [{ type: 'input_text', text: 'edit this' }, { type: 'input_image', image_url: dataUrl(PNG), detail: 'auto' }, { type: 'input_image', image_url: dataUrl(JPEG_64x48, 'image/jpeg'), detail: 'auto' }] }];
            await createResp({ input, tools: [{ ...tool, input_image_mask: { file_id: up.body.id } }], previous_response_id: undefined });
            const rec = fake.requests.at(-1);
            assert.equal(rec.json.input[0].content[0].text, 'edit this');
            assert.equal(rec.inputImages.length, 2);
            assert.deepEqual(
                rec.inputImages.map((i) => [i.format, i.width, i.height, i.sha256, i.detail]),
                [['png', 64, 48, sha(PNG), 'auto'], ['jpeg', 64, 48, sha(JPEG_64x48), 'auto']],
            );
        });
        test('previous_response_id must exist', async () => {
            const first = await createResp();
            await createResp({ previous_response_id: first.id });
            const r = await call(fake, 'POST', '/responses', { json: { model: 'm', input: 'x', background: true, tools: [tool], previous_response_id: 'resp_nope' } });
            assertOpenAIError(r, 400, 'previous_response_id');
        });
        test('validation: background, tools, input, data URLs, mask file ids', async () => {
            const base = { model: 'gpt-5.2', input: 'x', background: true, tools: [tool] };
            const cases = [
                [{ ...base, background: false }, 'background'],
                [{ ...base, tools: [{ type: 'web_search' }] }, 'tools'],
                [{ ...base, tools: undefined }, 'tools'],
                [{ ...base, model: undefined }, 'model'],
                [{ ...base, input: undefined }, 'input'],
                [{ ...base, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,bm90IGFuIGltYWdl', detail: 'auto' }] }] }, 'input[0].content[0].image_url'],
                [{ ...base, input: [{ role: 'user', content: [{ type: 'input_image', image_url: dataUrl(PNG) }] }] }, 'input[0].content[0].detail'],
                [{ ...base, tools: [{ ...tool, input_image_mask: { file_id: 'file-nope' } }] }, 'tools[0].input_image_mask.file_id'],
                [{ ...base, tools: [{ ...tool, quality: 'ultra' }] }, 'tools[0].quality'],
                [{ ...base, tools: [{ ...tool, bogus: 1 }] }, 'tools[0].bogus'],
            ];
            for (const [json, param] of cases) assertOpenAIError(await call(fake, 'POST', '/responses', { json }), 400, param);
            assert.equal(fake.state.responses.size, 0);
        });
        test('outcomes: no image call, failed call, in-progress call, failed response', async () => {
            const finalOf = async (id) => {
                let last;
                for (let i = 0; i < 3; i++) last = (await call(fake, 'GET', `/responses/${id}`)).body;
                return last;
            };
            fake.setNextResponseOutcome('no_image_call');
            let f = await finalOf((await createResp()).id);
            assert.equal(f.status, 'completed');
            assert.ok(!f.output.some((o) => o.type === 'image_generation_call'));
            fake.setNextResponseOutcome('call_failed');
            f = await finalOf((await createResp()).id);
            assert.deepEqual(f.output.filter((o) => o.type === 'image_generation_call').map((o) => [o.status, o.result]), [['failed', null]]);
            fake.setNextResponseOutcome('call_in_progress');
            f = await finalOf((await createResp()).id);
            assert.equal(f.output[0].status, 'in_progress');
            fake.setNextResponseOutcome({ outcome: 'failed', error: { code: 'image_content_policy_violation', message: 'blocked' } });
            f = await finalOf((await createResp()).id);
            assert.equal(f.status, 'failed');
            assert.deepEqual(f.error, { code: 'image_content_policy_violation', message: 'blocked' });
            const plain = await createResp();
            assert.equal(fake.completeResponse(plain.id).status, 'completed');
        });
        test('output_format jpeg/webp returns those formats', async () => {
            for (const fmt of ['jpeg', 'webp']) {
                const r = await createResp({ tools: [{ ...tool, output_format: fmt }] });
                fake.completeResponse(r.id);
                const got = (await call(fake, 'GET', `/responses/${r.id}`)).body;
                assert.equal(probeImage(Buffer.from(got.output[0].result, 'base64')).format, fmt);
            }
        });
        test('cancel: a running response becomes cancelled for good; an ended one cannot be cancelled', async () => {
            const r = await createResp();
            const c = await call(fake, 'POST', `/responses/${r.id}/cancel`);
            assert.equal(c.status, 200);
            assert.equal(c.body.id, r.id);
            assert.equal(c.body.object, 'response');
            assert.equal(c.body.status, 'cancelled');
            for (let i = 0; i < 4; i++) {
                const got = (await call(fake, 'GET', `/responses/${r.id}`)).body;
                assert.equal(got.status, 'cancelled', 'stays cancelled however often it is polled');
                assert.deepEqual(got.output, []);
            }
            assertOpenAIError(await call(fake, 'POST', `/responses/${r.id}/cancel`), 400);
            const done = await createResp();
            fake.completeResponse(done.id);
            assertOpenAIError(await call(fake, 'POST', `/responses/${done.id}/cancel`), 400);
            assertOpenAIError(await call(fake, 'POST', '/responses/resp_nope/cancel'), 404);
            assert.equal(fake.requestsMatching({ method: 'POST', path: 'responses/*/cancel' }).length, 4);
        });
        test('get/delete unknown response is 404; delete works', async () => {
            assertOpenAIError(await call(fake, 'GET', '/responses/resp_nope'), 404);
            const r = await createResp();
            assert.deepEqual((await call(fake, 'DELETE', `/responses/${r.id}`)).body, { id: r.id, object: 'response', deleted: true });
            assertOpenAIError(await call(fake, 'GET', `/responses/${r.id}`), 404);
        });
    });

    describe('images', () => {
        test('generations: ImagesResponse with a real PNG and usage', async () => {
            const r = await call(fake, 'POST', '/images/generations', { json: { prompt: 'a lighthouse', model: 'gpt-image-2', n: 1, size: '1536x1024', quality: 'high' } });
            assert.equal(r.status, 200);
            const b = r.body;
            assert.equal(typeof b.created, 'number');
            assert.equal(b.data.length, 1);
            assert.equal(sha(Buffer.from(b.data[0].b64_json, 'base64')), fake.assets.png.sha256);
            assert.deepEqual([b.background, b.output_format, b.quality, b.size], ['opaque', 'png', 'high', '1536x1024']);
            const u = b.usage;
            assert.equal(u.total_tokens, u.input_tokens + u.output_tokens);
            assert.equal(u.input_tokens, u.input_tokens_details.text_tokens + u.input_tokens_details.image_tokens);
            assert.deepEqual(fake.requests.at(-1).json.size, '1536x1024');
        });
        test('generations: jpeg and webp output formats are real images of that format', async () => {
            for (const fmt of ['jpeg', 'webp', 'png']) {
                const r = await call(fake, 'POST', '/images/generations', { json: { prompt: 'x', output_format: fmt } });
                assert.equal(probeImage(Buffer.from(r.body.data[0].b64_json, 'base64')).format, fmt);
                assert.equal(r.body.output_format, fmt);
            }
        });
        test('generations: validation', async () => {
            const cases = [
                [{ prompt: 'x', n: 2 }, 'n'],
                [{}, 'prompt'],
                [{ prompt: 'x', size: 'big' }, 'size'],
                [{ prompt: 'x', quality: 'ultra' }, 'quality'],
                [{ prompt: 'x', output_format: 'gif' }, 'output_format'],
                [{ prompt: 'x', background: 'transparent', output_format: 'jpeg' }, 'background'],
                [{ prompt: 'x', input_fidelity: 'high' }, 'input_fidelity'],
            ];
            for (const [json, param] of cases) assertOpenAIError(await call(fake, 'POST', '/images/generations', { json }), 400, param);
        });
        test('edits: one image as `image`', async () => {
            const r = await call(fake, 'POST', '/images/edits', {
                body: form({ prompt: 'add a hat', model: 'gpt-image-2', size: '1024x1024', quality: 'low', output_format: 'webp' }, [{ name: 'image', data: PNG, type: 'image/png', filename: 'a.png' }]),
            });
            assert.equal(r.status, 200, JSON.stringify(r.body));
            assert.equal(probeImage(Buffer.from(r.body.data[0].b64_json, 'base64')).format, 'webp');
            assert.equal(r.body.usage.input_tokens_details.image_tokens > 0, true);
            const rec = fake.requests.at(-1);
            assert.deepEqual(rec.files.map((f) => [f.name, f.filename, f.sha256]), [['image', 'a.png', sha(PNG)]]);
            assert.equal(rec.fields.output_format, 'webp');
        });
        test('edits: repeated image[] parts and a mask are recorded in order', async () => {
            const r = await call(fake, 'POST', '/images/edits', {
                body: form({ prompt: 'merge', input_fidelity: 'high' }, [
                    { name: 'image[]', data: PNG, type: 'image/png', filename: 'a.png' },
                    { name: 'image[]', data: JPEG_64x48, type: 'image/jpeg', filename: 'b.jpg' },
                    { name: 'mask', data: RGBA_PNG, type: 'image/png', filename: 'm.png' },
                ]),
            });
            assert.equal(r.status, 200, JSON.stringify(r.body));
            const rec = fake.requests.at(-1);
            assert.deepEqual(rec.files.map((f) => [f.name, f.filename, f.format]), [['image[]', 'a.png', 'png'], ['image[]', 'b.jpg', 'jpeg'], ['mask', 'm.png', 'png']]);
            assert.deepEqual(rec.parts.map((p) => p.name), ['prompt', 'input_fidelity', 'image[]', 'image[]', 'mask']);
        });
        test('edits: validation (no image, text as image, mask without alpha, 17 images, JSON body)', async () => {
            assertOpenAIError(await call(fake, 'POST', '/images/edits', { body: form({ prompt: 'x' }) }), 400, 'image');
            assertOpenAIError(await call(fake, 'POST', '/images/edits', { body: form({ prompt: 'x' }, [{ name: 'image', data: Buffer.from('text'), type: 'image/png', filename: 'a.png' }]) }), 400, 'image');
            assertOpenAIError(
                await call(fake, 'POST', '/images/edits', { body: form({ prompt: 'x' }, [{ name: 'image', data: PNG, type: 'image/png', filename: 'a.png' }, { name: 'mask', data: PNG, type: 'image/png', filename: 'm.png' }]) }),
                400,
                'mask',
            );
            const many = Array.from({ length: 17 }, (_, i) => ({ name: 'image[]', data: PNG, type: 'image/png', filename: `${i}.png` }));
            assertOpenAIError(await call(fake, 'POST', '/images/edits', { body: form({ prompt: 'x' }, many) }), 400, 'image');
            assertOpenAIError(await call(fake, 'POST', '/images/edits', { json: { prompt: 'x' } }), 415);
            assertOpenAIError(await call(fake, 'POST', '/images/edits', { body: form({ prompt: 'x', moderation: 'low' }, [{ name: 'image', data: PNG, type: 'image/png', filename: 'a.png' }]) }), 400, 'moderation');
        });
    });

    describe('files', () => {
        test('upload returns an OpenAIFile and is stored', async () => {
            const r = await call(fake, 'POST', '/files', { body: form({ purpose: 'vision' }, [{ name: 'file', data: RGBA_PNG, type: 'image/png', filename: 'mask.png' }]) });
            assert.equal(r.status, 200);
            assert.match(r.body.id, /^file-[0-9a-f]+$/);
            assert.equal(r.body.object, 'file');
            assert.equal(r.body.bytes, RGBA_PNG.length);
            assert.equal(r.body.filename, 'mask.png');
            assert.equal(r.body.purpose, 'vision');
            assert.equal(typeof r.body.created_at, 'number');
            assert.equal(fake.state.files.get(r.body.id).info.sha256, sha(RGBA_PNG));
        });
        test('validation: purpose, missing file', async () => {
            assertOpenAIError(await call(fake, 'POST', '/files', { body: form({ purpose: 'pictures' }, [{ name: 'file', data: PNG, type: 'image/png', filename: 'a.png' }]) }), 400, 'purpose');
            assertOpenAIError(await call(fake, 'POST', '/files', { body: form({ purpose: 'vision' }) }), 400, 'file');
        });
    });

    describe('faults', () => {
        test('status with headers, consumed in order, then success', async () => {
            fake.faults.add({ path: 'videos', method: 'GET', status: 429, count: 2, headers: { 'retry-after': '1', 'retry-after-ms': '10' } });
            fake.faults.add({ path: 'videos', method: 'GET', status: 503, headers: { 'x-should-retry': 'false' }, error: { message: 'custom', code: 'overloaded' } });
            const a = await call(fake, 'GET', '/videos');
            assertOpenAIError(a, 429);
            assert.equal(a.headers.get('retry-after'), '1');
            assert.equal(a.headers.get('retry-after-ms'), '10');
            assert.equal(a.body.error.type, 'rate_limit_exceeded');
            assertOpenAIError(await call(fake, 'GET', '/videos'), 429);
            const c = await call(fake, 'GET', '/videos');
            assertOpenAIError(c, 503);
            assert.equal(c.headers.get('x-should-retry'), 'false');
            assert.deepEqual([c.body.error.message, c.body.error.code], ['custom', 'overloaded']);
            assert.equal((await call(fake, 'GET', '/videos')).status, 200);
            assert.deepEqual(fake.requests.map((r) => [r.status, r.fault && r.fault.status]), [[429, 429], [429, 429], [503, 503], [200, null]]);
            assert.equal(fake.faults.pending(), 0);
        });
        test('method and path filters; unlimited count; a faulted POST creates nothing', async () => {
            fake.faults.add({ path: 'videos', method: 'POST', status: 500, count: -1 });
            assert.equal((await call(fake, 'GET', '/videos')).status, 200);
            for (let i = 0; i < 3; i++) assertOpenAIError(await call(fake, 'POST', '/videos', { body: form({ prompt: 'x' }) }), 500);
            assert.equal(fake.state.videos.size, 0);
            assert.equal(fake.faults.list()[0].remaining, -1);
            fake.faults.clear();
            assert.equal((await call(fake, 'POST', '/videos', { body: form({ prompt: 'x' }) })).status, 200);
        });
        test('reset_after_bytes: the download breaks after about N bytes', async () => {
            fake.addVideo({ id: 'video_r' });
            fake.faults.add({ path: 'videos/*/content', reset_after_bytes: 100000 });
            const r = await rawGet(`${fake.url}/videos/video_r/content`);
            assert.equal(r.status, 200);
            assert.equal(r.headers['content-length'], String(fake.assets.video.length));
            assert.ok(r.error, 'the response errors');
            assert.ok(r.received <= 100000, `received ${r.received}`);
            assert.equal(fake.requests.at(-1).cut, 'reset');
            const ok = await rawGet(`${fake.url}/videos/video_r/content`);
            assert.equal(ok.sha256, fake.assets.video.sha256);
        });
        test('truncate: Content-Length larger than what is sent, then the connection ends', async () => {
            fake.addVideo({ id: 'video_t' });
            fake.faults.add({ path: 'videos/video_t/content', truncate: 5000 });
            const r = await rawGet(`${fake.url}/videos/video_t/content`);
            assert.equal(r.headers['content-length'], String(fake.assets.video.length));
            assert.equal(r.received, 5000);
            assert.ok(r.error || !r.complete, 'incomplete body');
            fake.faults.add({ path: 'videos', truncate: true });
            await assert.rejects(fetch(`${fake.url}/videos`, { headers: AUTH }).then((x) => x.text()));
        });
        test('stall_ms: headers first, then nothing for N ms, then the body', async () => {
            fake.addVideo({ id: 'video_s' });
            fake.faults.add({ path: 'videos/*/content', stall_ms: 300, stall_after_bytes: 1000 });
            const t0 = performance.now();
            const res = await fetch(`${fake.url}/videos/video_s/content`, { headers: AUTH });
            assert.equal(res.status, 200);
            const buf = Buffer.from(await res.arrayBuffer());
            assert.ok(performance.now() - t0 >= 290, 'the body took at least the stall');
            assert.equal(sha(buf), fake.assets.video.sha256);
            assert.equal(fake.requests.at(-1).stalled, true);
        });
        test('stall is cut short when the client gives up', async () => {
            fake.addVideo({ id: 'video_s2' });
            fake.faults.add({ path: 'videos/*/content', stall_ms: 60000 });
            const ac = new AbortController();
            const res = await fetch(`${fake.url}/videos/video_s2/content`, { headers: AUTH, signal: ac.signal });
            assert.equal(res.status, 200);
            ac.abort();
            await assert.rejects(res.arrayBuffer());
        });
        test('invalid_json: 200 with a broken JSON body', async () => {
            fake.faults.add({ path: 'videos/*', method: 'GET', invalid_json: true });
            const v = await createVideo(fake);
            const res = await fetch(`${fake.url}/videos/${v.id}`, { headers: AUTH });
            assert.equal(res.status, 200);
            assert.equal(res.headers.get('content-type'), 'application/json');
            await assert.rejects(res.json(), SyntaxError);
        });
        test('delay_ms: answers normally after the delay', async () => {
            fake.faults.add({ path: 'videos', delay_ms: 200 });
            const t0 = performance.now();
            const r = await call(fake, 'GET', '/videos');
            assert.equal(r.status, 200);
            assert.ok(performance.now() - t0 >= 190);
        });
        test('a raw body for a status fault', async () => {
            fake.faults.add({ path: 'videos', status: 502, body: '<html>bad gateway</html>', headers: { 'content-type': 'text/html' } });
            const r = await call(fake, 'GET', '/videos');
            assert.equal(r.status, 502);
            assert.equal(r.raw.toString(), '<html>bad gateway</html>');
        });
        test('a JSON value as the body of a 200 (a malformed object from a "successful" call)', async () => {
            const v = await createVideo(fake);
            fake.faults.add({ path: 'videos/*', method: 'GET', status: 200, body: { id: 5, status: [] } });
            const r = await call(fake, 'GET', `/videos/${v.id}`);
            assert.equal(r.status, 200);
            assert.deepEqual(r.body, { id: 5, status: [] });
            const again = await call(fake, 'GET', `/videos/${v.id}`);
            assert.equal(again.body.id, v.id, 'count 1: the next request is served normally');
        });
        test('bad fault specs are refused', () => {
            assert.throws(() => fake.faults.add({ path: 'videos' }), TypeError);
            assert.throws(() => fake.faults.add({ status: 500 }), TypeError);
            assert.throws(() => fake.faults.add({ path: 'videos', status: 500, colour: 'red' }), TypeError);
            assert.throws(() => fake.faults.add({ path: 'videos', status: 500, count: 0 }), TypeError);
        });
    });

    describe('control API', () => {
        const ctl = (path, init) => fetch(`${fake.origin}/__control${path}`, init).then(async (r) => ({ status: r.status, body: await r.json() }));
        test('faults over HTTP, requests, state, assets, reset', async () => {
            const f = await ctl('/faults', { method: 'POST', body: JSON.stringify([{ path: '/v1/videos', status: 500, count: 2 }]) });
            assert.equal(f.status, 200);
            assert.equal(f.body.length, 1);
            assertOpenAIError(await call(fake, 'GET', '/videos?limit=3'), 500);
            const reqs = await ctl('/requests');
            assert.equal(reqs.body.length, 1);
            assert.deepEqual([reqs.body[0].method, reqs.body[0].path, reqs.body[0].query, reqs.body[0].status], ['GET', '/v1/videos', { limit: '3' }, 500]);
            assert.equal((await ctl('/requests?since=1')).body.length, 0);
            const assets = await ctl('/assets');
            assert.equal(assets.body.video.sha256, fake.assets.video.sha256);
            assert.equal(assets.body.video.bytes, 7691516);
            const seeded = await ctl('/videos', { method: 'POST', body: JSON.stringify({ id: 'video_ctl' }) });
            assert.equal(seeded.body.status, 'completed');
            const state = await ctl('/state');
            assert.equal(state.body.videos[0].id, 'video_ctl');
            assert.equal(state.body.faults[0].remaining, 1);
            await ctl('/next-video', { method: 'POST', body: JSON.stringify({ status: 'failed', error: { code: 'x', message: 'y' } }) });
            assert.equal(fake.state.nextVideoOutcomes.length, 1);
            assert.equal((await ctl('/reset', { method: 'POST' })).status, 200);
            assert.equal(fake.requests.length, 0);
            assert.equal(fake.state.videos.size, 0);
            assert.equal(fake.faults.list().length, 0);
            assert.equal((await ctl('/faults', { method: 'POST', body: JSON.stringify({ path: 'x' }) })).status, 400);
            assert.equal((await ctl('/nope')).status, 404);
        });
    });

    describe('connections', () => {
        test('keep-alive: consecutive requests reuse one socket', async () => {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const get = () =>
                new Promise((resolve, reject) => {
                    const req = http.get(`${fake.url}/videos`, { agent, headers: AUTH }, (res) => {
                        res.resume();
                        res.on('end', () => resolve(req.reusedSocket));
                    });
                    req.on('error', reject);
                });
            try {
                assert.equal(await get(), false);
                assert.equal(await get(), true);
                assert.equal(await get(), true);
            } finally {
                agent.destroy();
            }
        });
        test('32 concurrent downloads of the default video all match its sha256', async () => {
            fake.addVideo({ id: 'video_c32' });
            const results = await Promise.all(Array.from({ length: 32 }, () => rawGet(`${fake.url}/videos/video_c32/content`)));
            for (const r of results) {
                assert.equal(r.status, 200);
                assert.equal(r.received, 7691516);
                assert.equal(r.sha256, fake.assets.video.sha256);
            }
        });
        test('256 concurrent downloads (1 MiB video) all complete', async () => {
            const f = await startFakeOpenAI({ videoBytes: 1 << 20 });
            try {
                f.addVideo({ id: 'video_c256' });
                const results = await Promise.all(Array.from({ length: 256 }, () => rawGet(`${f.url}/videos/video_c256/content`)));
                assert.equal(results.filter((r) => r.status === 200 && r.sha256 === f.assets.video.sha256).length, 256);
            } finally {
                await f.close();
            }
        });
        test('close() ends stalled connections', async () => {
            const f = await startFakeOpenAI({});
            f.addVideo({ id: 'video_z' });
            f.faults.add({ path: '**', stall_ms: 600000 });
            const pending = rawGet(`${f.url}/videos/video_z/content`);
            while (f.requests.length === 0 || !f.requests[0].stalled) await new Promise((r) => setImmediate(r));
            await f.close();
            const r = await pending;
            assert.ok(r.error || r.received < f.assets.video.length);
        });
    });
});

describe('CLI', () => {
    test('prints one JSON line, serves, and exits when stdin closes', async () => {
        const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
        const child = spawn(process.execPath, [script, '--port', '0', '--video-bytes', '4096'], { stdio: ['pipe', 'pipe', 'inherit'] });
        const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
        const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
        const info = JSON.parse(line);
        assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        assert.equal(info.url, `http://127.0.0.1:${info.port}/v1`);
        assert.equal(info.video_bytes, 4096);
        const res = await fetch(`${info.url}/videos`, { headers: AUTH });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).object, 'list');
        child.stdin.end();
        assert.deepEqual(await exited, { code: 0, signal: null });
    });
    test('exits on SIGTERM', async () => {
        const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
        const child = spawn(process.execPath, [script, '--port', '0', '--no-stdin-watch'], { stdio: ['ignore', 'pipe', 'inherit'] });
        const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
        await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
        child.kill('SIGTERM');
        assert.equal(await exited, 0);
        void net;
    });
});

describe('Azure flavour and the retired Videos API', () => {
    test('as Azure OpenAI: /openai/v1, the key in api-key, a bearer token refused', async () => {
        const f = await startFakeOpenAI({ flavour: 'azure', apiKey: 'az-key' });
        try {
            assert.equal(f.url, `${f.endpoint}/openai/v1`);
            const key = { 'api-key': 'az-key' };
            let r = await fetch(`${f.url}/videos`, { method: 'POST', headers: key, body: form({ prompt: 'a cat', model: 'sora-2' }) });
            assert.equal(r.status, 200);
            const v = await r.json();
            assert.equal(v.object, 'video');
            r = await fetch(`${f.url}/videos/${v.id}`, { headers: key });
            assert.equal((await r.json()).id, v.id);
            // OpenAI's path and OpenAI's header are not Azure's
            r = await fetch(`${f.origin}/v1/videos`, { headers: key });
            assert.equal(r.status, 404);
            r = await fetch(`${f.url}/videos`, { headers: AUTH });
            assert.equal(r.status, 401);
            assert.match((await r.json()).error.message, /^Access denied due to invalid subscription key/);
            r = await fetch(`${f.url}/videos`, { headers: { 'api-key': 'wrong' } });
            assert.equal(r.status, 401);
            // relative paths in faults and requestsMatching are under /openai/v1
            assert.equal(f.requestsMatching({ method: 'POST', path: 'videos' }).length, 1);
            assert.equal(f.requestsMatching({ method: 'POST', path: 'videos' })[0].path, '/openai/v1/videos');
            f.faults.add({ method: 'GET', path: 'videos/*', status: 503 });
            r = await fetch(`${f.url}/videos/${v.id}`, { headers: key });
            assert.equal(r.status, 503);
        } finally {
            await f.close();
        }
    });
    test('videosRetired 404: every /videos route is an unknown URL, as OpenAI answers one', async () => {
        const f = await startFakeOpenAI({ videosRetired: 404 });
        try {
            f.addVideo({ id: 'video_old' });
            for (const [method, path] of [['POST', '/videos'], ['GET', '/videos'], ['GET', '/videos/video_old'], ['GET', '/videos/video_old/content']]) {
                const r = await call(f, method, path, method === 'POST' ? { body: form({ prompt: 'p' }) } : {});
                assert.equal(r.status, 404, `${method} ${path}`);
                assert.equal(r.body.error.message, `Invalid URL (${method} /v1${path})`);
            }
            // the rest of the API still answers
            assert.equal((await call(f, 'POST', '/images/generations', { json: { prompt: 'p' } })).status, 200);
        } finally {
            await f.close();
        }
    });
    test('videosRetired 410 (settable at run time): Gone, with code "gone"', async () => {
        const f = await startFakeOpenAI({});
        try {
            f.configure({ videosRetired: 410 });
            const r = await call(f, 'GET', '/videos/video_1');
            assert.equal(r.status, 410);
            assert.equal(r.body.error.code, 'gone');
            f.reset();
            assert.equal((await call(f, 'GET', '/videos')).status, 200);
        } finally {
            await f.close();
        }
    });
});
