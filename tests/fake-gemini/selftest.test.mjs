// Self-tests of the fake Gemini Interactions API, driven by Google's own SDK (@google/genai
// 3.1.0): background jobs polled to completion, the SDK's computed output_video (inline and
// URI with its redirect), cancel, delete, continuation, every outcome and fault, the key
// check, strict validation, the reference request helper, the control API and the CLI.
// Run: node --test tests/fake-gemini/
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { GoogleGenAI } from '@google/genai';
import { startFakeGemini, DEFAULT_MODEL } from './server.mjs';
import { sdkRequest, createParams } from './sdk-request.mjs';
import { parseDuration } from './validate.mjs';
import { encodePng, JPEG_64x48 } from '../fake-openai/media.mjs';

const KEY = 'gemini-test-key';
const PNG = encodePng(64, 48);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const NO_RETRY = { maxRetries: 0 };

function client(fake, key = KEY) {
    return new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: fake.origin, apiVersion: 'v1beta' } });
}

async function pollDone(ai, id, max = 20) {
    const seen = [];
    for (let i = 0; i < max; i++) {
        const it = await ai.interactions.get(id);
        seen.push(it.status);
        if (!['queued', 'in_progress'].includes(it.status)) return { it, seen };
    }
    throw new Error(`interaction ${id} never finished: ${seen.join(',')}`);
}

// The SDK's error classes (APIError and its subclasses) are not exported by the package; they
// are told apart by name, which the SDK sets to the class name.
const BadRequestError = 'BadRequestError';
const PermissionDeniedError = 'PermissionDeniedError';
const NotFoundError = 'NotFoundError';
const RateLimitError = 'RateLimitError';
const InternalServerError = 'InternalServerError';
const APIConnectionError = 'APIConnectionError';
const named = (name) => (e) => e?.name === name;

/** Calls fn, expects it to reject with the SDK error class `name` and `status`; returns the error. */
async function sdkError(fn, name, status) {
    try {
        await fn();
    } catch (e) {
        assert.equal(e?.name, name, `expected ${name}, got ${e?.name}: ${e?.message}`);
        assert.equal(e.status, status);
        return e;
    }
    assert.fail(`expected ${name} ${status}, the call succeeded`);
}

/** The parsed Google error body inside an SDK error (the SDK keeps it under .error). */
const body = (e) => e.error.error;

const video = { model: DEFAULT_MODEL, input: 'A marble rolling down a wooden track', background: true };

describe('the SDK drives the fake', () => {
    let fake;
    let ai;
    before(async () => {
        fake = await startFakeGemini({ apiKey: KEY });
        ai = client(fake);
    });
    after(() => fake.close());
    beforeEach(() => fake.reset());

    test('background create is queued, polls move it to completed, output_video is the real MP4', async () => {
        const created = await ai.interactions.create(video);
        assert.equal(created.status, 'queued');
        assert.match(created.id, /^v1_[A-Za-z0-9_-]{32}$/);
        assert.equal(created.output_video, undefined);
        const { it, seen } = await pollDone(ai, created.id);
        assert.deepEqual(seen, ['queued', 'in_progress', 'in_progress', 'completed']);
        assert.equal(it.model, DEFAULT_MODEL);
        assert.match(it.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.match(it.updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const last = it.steps.at(-1);
        assert.equal(last.type, 'model_output');
        assert.equal(last.content.at(-1).type, 'video');
        assert.equal(it.output_video.mime_type, 'video/mp4');
        const bytes = Buffer.from(it.output_video.data, 'base64');
        assert.equal(sha(bytes), fake.assets.video.sha256);
        assert.equal(bytes.toString('latin1', 4, 8), 'ftyp');
        assert.ok(it.usage.total_output_tokens > 0 && it.usage.total_tokens >= it.usage.total_output_tokens);
        const post = fake.requestsMatching({ method: 'POST', path: 'interactions' })[0];
        assert.equal(post.headers['x-goog-api-key'], KEY);
        assert.equal(post.keyIn, 'header');
        assert.equal(post.path, '/v1beta/interactions');
    });

    test('a text output before the video does not hide it from output_video', async () => {
        fake.configure({ outputText: 'Here is your video.' });
        const it = await ai.interactions.create({ ...video, background: false });
        assert.equal(it.output_text, 'Here is your video.');
        assert.equal(it.output_video.type, 'video');
    });

    test('without background the create answers with the finished interaction', async () => {
        const it = await ai.interactions.create({ model: DEFAULT_MODEL, input: 'a cat' });
        assert.equal(it.status, 'completed');
        assert.equal(sha(Buffer.from(it.output_video.data, 'base64')), fake.assets.video.sha256);
    });

    test('a reference image is an image content block; get with include_input shows the input', async () => {
        const input = [
            { type: 'text', text: 'animate this' },
            { type: 'image', mime_type: 'image/png', data: PNG.toString('base64') },
        ];
        const created = await ai.interactions.create({ ...video, input });
        const rec = fake.requestsMatching({ method: 'POST', path: 'interactions' })[0];
        assert.equal(rec.inputImages.length, 1);
        assert.deepEqual(
            { format: rec.inputImages[0].format, width: rec.inputImages[0].width, height: rec.inputImages[0].height, sha: rec.inputImages[0].sha256 },
            { format: 'png', width: 64, height: 48, sha: sha(PNG) },
        );
        const withInput = await ai.interactions.get(created.id, { include_input: true });
        assert.deepEqual(withInput.steps[0], { type: 'user_input', content: input });
        const plain = await ai.interactions.get(created.id);
        assert.ok(plain.steps.every((s) => s.type !== 'user_input'));
    });

    test('response_format size and length are echoed and priced; usage follows the duration', async () => {
        const rf = { type: 'video', aspect_ratio: '9:16', duration: '4s', resolution: '720p' };
        const it = await ai.interactions.create({ ...video, background: false, response_format: rf });
        assert.deepEqual(it.response_format, rf);
        assert.equal(it.usage.total_output_tokens, 4 * 5792);
    });

    test('URI output: the key fetches a redirect to the storage origin, which serves the bytes without the key', async () => {
        const it = await ai.interactions.create({ ...video, background: false, response_format: { type: 'video', delivery: 'uri' } });
        const uri = new URL(it.output_video.uri);
        assert.equal(it.output_video.data, undefined);
        assert.equal(uri.origin, fake.origin);
        assert.match(uri.pathname, /^\/v1beta\/files\/[a-z0-9]+:download$/);
        assert.equal(uri.searchParams.get('alt'), 'media');

        const noKey = await fetch(uri);
        assert.equal(noKey.status, 403);
        assert.equal((await noKey.json()).error.status, 'PERMISSION_DENIED');

        const hop = await fetch(uri, { headers: { 'x-goog-api-key': KEY }, redirect: 'manual' });
        assert.equal(hop.status, 302);
        const location = new URL(hop.headers.get('location'));
        assert.equal(location.origin, fake.storageOrigin);

        // The trap: fetch (like curl with FOLLOWLOCATION) keeps custom headers across origins.
        const naive = await fetch(uri, { headers: { 'x-goog-api-key': KEY } });
        assert.equal(naive.status, 400, 'a client that follows the redirect with the key is refused by storage');
        const leaked = await fetch(location, { headers: { 'x-goog-api-key': KEY } });
        assert.equal(leaked.status, 400, 'storage refuses a request that carries the key');
        const got = await fetch(location);
        assert.equal(got.status, 200);
        assert.equal(got.headers.get('content-type'), 'video/mp4');
        assert.equal(sha(Buffer.from(await got.arrayBuffer())), fake.assets.video.sha256);

        const storage = fake.requestsMatching({ origin: 'storage' });
        assert.equal(storage.length, 3);
        assert.equal(storage[0].headers['x-goog-api-key'], KEY, 'the leak is recorded');
        assert.equal(storage[1].headers['x-goog-api-key'], KEY);
        assert.equal(storage[2].headers['x-goog-api-key'], undefined);
        const download = fake.requestsMatching({ origin: 'api', path: '/v1beta/files/**' });
        assert.deepEqual(download.map((r) => r.status), [403, 302, 302]);

        const tampered = new URL(location);
        tampered.searchParams.set('Signature', '0'.repeat(64));
        assert.equal((await fetch(tampered)).status, 403);

        await ai.interactions.delete(it.id);
        const gone = await fetch(uri, { headers: { 'x-goog-api-key': KEY }, redirect: 'manual' });
        assert.equal(gone.status, 404);
        assert.equal((await fetch(location)).status, 404);
    });

    test('uriAt storage: the uri is the signed storage URL itself, fetched without the key', async () => {
        fake.configure({ uriAt: 'storage' });
        const it = await ai.interactions.create({ ...video, background: false, response_format: { type: 'video', delivery: 'uri' } });
        const uri = new URL(it.output_video.uri);
        assert.equal(uri.origin, fake.storageOrigin);
        assert.equal((await fetch(uri, { headers: { 'x-goog-api-key': KEY } })).status, 400);
        const got = await fetch(uri);
        assert.equal(got.status, 200);
        assert.equal(sha(Buffer.from(await got.arrayBuffer())), fake.assets.video.sha256);
    });

    test('the configured delivery applies when the request names none', async () => {
        fake.configure({ delivery: 'uri' });
        const it = await ai.interactions.create({ ...video, background: false });
        assert.ok(it.output_video.uri);
        const inline = await ai.interactions.create({ ...video, background: false, response_format: { type: 'video', delivery: 'inline' } });
        assert.ok(inline.output_video.data);
    });

    test('continuation: previous_interaction_id makes a new interaction that points back', async () => {
        const first = await ai.interactions.create({ ...video, background: false });
        const second = await ai.interactions.create({ ...video, input: 'make it night', previous_interaction_id: first.id });
        assert.notEqual(second.id, first.id);
        assert.equal(second.previous_interaction_id, first.id);
        const { it } = await pollDone(ai, second.id);
        assert.equal(it.status, 'completed');
        assert.equal(it.previous_interaction_id, first.id);
        assert.ok(it.output_video.data);

        const missing = await sdkError(() => ai.interactions.create({ ...video, previous_interaction_id: 'v1_nope' }, NO_RETRY), NotFoundError, 404);
        assert.match(body(missing).message, /v1_nope/);
        const running = await ai.interactions.create(video);
        const early = await sdkError(() => ai.interactions.create({ ...video, previous_interaction_id: running.id }, NO_RETRY), BadRequestError, 400);
        assert.match(body(early).message, /not completed/);
    });

    test('cancel stops a running background interaction; finished or unary ones cannot be cancelled', async () => {
        const created = await ai.interactions.create(video);
        const cancelled = await ai.interactions.cancel(created.id);
        assert.equal(cancelled.status, 'cancelled');
        assert.equal((await ai.interactions.get(created.id)).status, 'cancelled');
        await sdkError(() => ai.interactions.cancel(created.id, {}, NO_RETRY), BadRequestError, 400);
        const unary = await ai.interactions.create({ ...video, background: false });
        await sdkError(() => ai.interactions.cancel(unary.id, {}, NO_RETRY), BadRequestError, 400);
        await sdkError(() => ai.interactions.cancel('v1_unknown', {}, NO_RETRY), NotFoundError, 404);
        const rec = fake.requestsMatching({ path: 'interactions/*/cancel' })[0];
        assert.equal(rec.method, 'POST');
    });

    test('delete removes the interaction; get then answers 404', async () => {
        const it = await ai.interactions.create({ ...video, background: false });
        await ai.interactions.delete(it.id);
        assert.equal(fake.requestsMatching({ method: 'DELETE' })[0].status, 200);
        const e = await sdkError(() => ai.interactions.get(it.id, {}, NO_RETRY), NotFoundError, 404);
        assert.match(e.message, /not found/i);
        await sdkError(() => ai.interactions.delete(it.id, {}, NO_RETRY), NotFoundError, 404);
    });

    test('a failed job ends failed with the reason in errors and in the model_output step', async () => {
        fake.setNextOutcome({ status: 'failed', error: { code: 'generation_failed', message: 'The render farm caught fire.' } });
        const { it } = await pollDone(ai, (await ai.interactions.create(video)).id);
        assert.equal(it.status, 'failed');
        assert.deepEqual(it.errors, [{ code: 'generation_failed', message: 'The render farm caught fire.' }]);
        assert.deepEqual(it.steps.at(-1), { type: 'model_output', error: { code: 13, message: 'The render farm caught fire.' } });
        assert.equal(it.output_video, undefined);
    });

    test('a safety-blocked job is failed with code "safety"', async () => {
        fake.setNextOutcome('safety');
        const { it } = await pollDone(ai, (await ai.interactions.create(video)).id);
        assert.equal(it.status, 'failed');
        assert.equal(it.errors[0].code, 'safety');
        assert.match(it.errors[0].message, /safety/);
        assert.equal(it.steps.at(-1).error.code, 3);
        assert.equal(it.output_video, undefined);
    });

    test('incomplete and server-cancelled jobs say so and carry no video', async () => {
        fake.setNextOutcome('incomplete');
        fake.setNextOutcome('cancelled');
        const a = (await pollDone(ai, (await ai.interactions.create(video)).id)).it;
        const b = (await pollDone(ai, (await ai.interactions.create(video)).id)).it;
        assert.equal(a.status, 'incomplete');
        assert.equal(a.errors[0].code, 'incomplete');
        assert.equal(b.status, 'cancelled');
        assert.equal(a.output_video ?? b.output_video, undefined);
    });

    test('a wrong key is 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID', async () => {
        const e = await sdkError(() => client(fake, 'wrong').interactions.create(video, NO_RETRY), BadRequestError, 400);
        assert.equal(body(e).status, 'INVALID_ARGUMENT');
        assert.equal(body(e).code, 400);
        assert.equal(body(e).details[0]['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
        assert.equal(body(e).details[0].reason, 'API_KEY_INVALID');
        assert.equal(fake.state.interactions.size, 0);
    });

    test('no key is 403 PERMISSION_DENIED; ?key= is accepted but recorded as a key in the URL', async () => {
        const res = await fetch(`${fake.url}/interactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(video) });
        assert.equal(res.status, 403);
        const err = (await res.json()).error;
        assert.equal(err.status, 'PERMISSION_DENIED');
        assert.match(err.message, /unregistered callers/);
        const ok = await fetch(`${fake.url}/interactions?key=${KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(video) });
        assert.equal(ok.status, 200);
        assert.equal(fake.requests.at(-1).keyIn, 'query');
    });
});

describe('faults as the SDK sees them', () => {
    let fake;
    let ai;
    before(async () => {
        fake = await startFakeGemini({ apiKey: KEY });
        ai = client(fake);
    });
    after(() => fake.close());
    beforeEach(() => fake.reset());

    test('400 INVALID_ARGUMENT in Google\'s Status shape', async () => {
        fake.faults.add({ path: 'interactions', method: 'POST', status: 400 });
        const e = await sdkError(() => ai.interactions.create(video, NO_RETRY), BadRequestError, 400);
        assert.deepEqual(Object.keys(body(e)).sort(), ['code', 'message', 'status']);
        assert.equal(body(e).status, 'INVALID_ARGUMENT');
        assert.equal(fake.state.interactions.size, 0, 'a status fault creates nothing');
    });

    test('403 PERMISSION_DENIED', async () => {
        fake.faults.add({ path: 'interactions/*', status: 403 });
        const e = await sdkError(() => ai.interactions.get('v1_any', {}, NO_RETRY), PermissionDeniedError, 403);
        assert.equal(body(e).status, 'PERMISSION_DENIED');
    });

    test('429 RESOURCE_EXHAUSTED carries QuotaFailure, Help and RetryInfo', async () => {
        fake.faults.add({ path: 'interactions', status: 429, retry_delay_s: 17 });
        const e = await sdkError(() => ai.interactions.create(video, NO_RETRY), RateLimitError, 429);
        assert.equal(body(e).status, 'RESOURCE_EXHAUSTED');
        const types = body(e).details.map((d) => d['@type']);
        assert.deepEqual(types, ['type.googleapis.com/google.rpc.QuotaFailure', 'type.googleapis.com/google.rpc.Help', 'type.googleapis.com/google.rpc.RetryInfo']);
        assert.equal(body(e).details[2].retryDelay, '17s');
        assert.equal(e.headers.get('retry-after'), null, 'no Retry-After header unless asked for');
    });

    test('429 with a Retry-After header: the SDK waits and retries, and the retry succeeds', async () => {
        fake.faults.add({ path: 'interactions', method: 'POST', status: 429, retry_after: 1 });
        const it = await ai.interactions.create(video);
        assert.equal(it.status, 'queued');
        const posts = fake.requestsMatching({ method: 'POST', path: 'interactions' });
        assert.deepEqual(posts.map((r) => r.status), [429, 200]);
        assert.ok(posts[1].time - posts[0].time >= 900, 'the SDK honoured Retry-After: 1');
    });

    test('5xx: the SDK retries 500 and 503; without retries it surfaces INTERNAL / UNAVAILABLE', async () => {
        fake.faults.add({ path: 'interactions/*', method: 'GET', status: 500, count: 1 });
        fake.faults.add({ path: 'interactions/*', method: 'GET', status: 503, count: 1 });
        const created = await ai.interactions.create(video);
        const got = await ai.interactions.get(created.id);
        assert.equal(got.id, created.id);
        assert.deepEqual(fake.requestsMatching({ method: 'GET' }).map((r) => r.status), [500, 503, 200]);
        fake.faults.add({ path: 'interactions/*', method: 'GET', status: 503 });
        const e = await sdkError(() => ai.interactions.get(created.id, {}, NO_RETRY), InternalServerError, 503);
        assert.equal(body(e).status, 'UNAVAILABLE');
    });

    test('a raw HTML error body: the SDK still classes it by status, with no parsed error', async () => {
        fake.faults.add({ path: 'interactions', status: 502, body: '<html><body>Bad Gateway</body></html>' });
        const e = await sdkError(() => ai.interactions.create(video, NO_RETRY), InternalServerError, 502);
        assert.equal(e.error?.error, undefined);
        assert.equal(fake.requests.at(-1).status, 502);
    });

    test('the Interactions service shape, when a fault asks for it', async () => {
        fake.faults.add({ path: 'interactions', status: 400, style: 'interactions', error: { message: 'bad thing' } });
        const e = await sdkError(() => ai.interactions.create(video, NO_RETRY), BadRequestError, 400);
        assert.deepEqual(body(e), { message: 'bad thing', code: 'invalid_request' });
    });

    test('a reset connection, a truncated body and invalid JSON make the SDK fail', async () => {
        const created = await ai.interactions.create({ ...video, background: false });
        fake.faults.add({ path: 'interactions/*', method: 'GET', reset_after_bytes: 100 });
        await assert.rejects(ai.interactions.get(created.id, {}, NO_RETRY));
        fake.faults.add({ path: 'interactions/*', method: 'GET', truncate: true });
        await assert.rejects(ai.interactions.get(created.id, {}, NO_RETRY));
        fake.faults.add({ path: 'interactions/*', method: 'GET', invalid_json: true });
        await assert.rejects(ai.interactions.get(created.id, {}, NO_RETRY), SyntaxError);
        const recs = fake.requestsMatching({ method: 'GET' });
        assert.deepEqual(recs.map((r) => r.cut ?? null), ['reset', 'truncate', null]);
        assert.equal((await ai.interactions.get(created.id)).status, 'completed', 'faults are used up');
    });

    test('a dropped connection (no response) is retried by the SDK when retries are on', async () => {
        const created = await ai.interactions.create({ ...video, background: false });
        fake.faults.add({ path: 'interactions/*', method: 'GET', drop: true });
        const got = await ai.interactions.get(created.id);
        assert.equal(got.status, 'completed');
        assert.equal(fake.requestsMatching({ method: 'GET' }).length, 2);
        assert.equal(fake.requestsMatching({ method: 'GET' })[0].cut, 'drop');
        fake.faults.add({ path: 'interactions/*', method: 'GET', drop: true });
        await assert.rejects(ai.interactions.get(created.id, {}, NO_RETRY), named(APIConnectionError));
    });

    test('storage faults: a reset download, then a good one', async () => {
        fake.configure({ delivery: 'uri' });
        const it = await ai.interactions.create({ ...video, background: false });
        const hop = await fetch(it.output_video.uri, { headers: { 'x-goog-api-key': KEY }, redirect: 'manual' });
        const location = hop.headers.get('location');
        fake.faults.add({ origin: 'storage', path: 'gemini-media/*', reset_after_bytes: 65536 });
        await assert.rejects(fetch(location).then((r) => r.arrayBuffer()));
        const ok = await fetch(location);
        assert.equal(sha(Buffer.from(await ok.arrayBuffer())), fake.assets.video.sha256);
    });

    test('a 2xx status with a body is a canned answer the SDK reads as the interaction', async () => {
        fake.faults.add({ method: 'GET', path: 'interactions/*', status: 200, body: { id: 'v1_canned', status: 'completed', steps: [] } });
        const it = await ai.interactions.get('v1_anything', undefined, NO_RETRY);
        assert.equal(it.id, 'v1_canned');
        assert.throws(() => fake.faults.add({ path: 'interactions', status: 200 }), /2xx with a body/);
    });

    test('fault specs are checked', () => {
        assert.throws(() => fake.faults.add({ path: 'x' }), /needs one of/);
        assert.throws(() => fake.faults.add({ status: 500 }), /needs 'path'/);
        assert.throws(() => fake.faults.add({ path: 'x', status: 500, bogus: 1 }), /unknown fault field/);
        assert.throws(() => fake.faults.add({ path: 'x', status: 200 }), /error status/);
        assert.throws(() => fake.faults.add({ path: 'x', status: 500, origin: 'elsewhere' }), /origin/);
    });
});

describe('strict validation (Google 400s naming the field)', () => {
    let fake;
    let ai;
    before(async () => {
        fake = await startFakeGemini({ apiKey: KEY });
        ai = client(fake);
    });
    after(() => fake.close());
    beforeEach(() => fake.reset());

    const rejects = async (params, pattern, cls = BadRequestError, status = 400) => {
        const e = await sdkError(() => ai.interactions.create(params, NO_RETRY), cls, status);
        assert.match(body(e).message, pattern);
        return e;
    };

    test('unknown top-level and nested fields', async () => {
        await rejects({ ...video, size: '720x1280' }, /Unknown name "size"/);
        await rejects({ ...video, response_format: { type: 'video', seconds: 8 } }, /Unknown name "seconds" at 'response_format'/);
        await rejects({ ...video, generation_config: { video_config: { aspect_ratio: '9:16' } } }, /Unknown name "aspect_ratio" at 'generation_config.video_config'/);
        await rejects({ ...video, input: [{ type: 'image', mime_type: 'image/png', data: PNG.toString('base64'), detail: 'auto' }] }, /Unknown name "detail" at 'input\[0\]'/);
        assert.equal(fake.state.interactions.size, 0);
    });

    test('wrong types', async () => {
        await rejects({ ...video, background: 'yes' }, /'background' \(TYPE_BOOL\)/);
        await rejects({ ...video, model: 7 }, /'model' \(TYPE_STRING\)/);
        await rejects({ ...video, input: 42 }, /'input'/);
        await rejects({ ...video, generation_config: { seed: 1.5 } }, /seed/);
    });

    test('response_format values', async () => {
        await rejects({ ...video, response_format: { type: 'video', aspect_ratio: '4:3' } }, /Supported aspect ratios: 16:9, 9:16/);
        await rejects({ ...video, response_format: { type: 'video', duration: '20s' } }, /3s to 10s/);
        await rejects({ ...video, response_format: { type: 'video', duration: '8' } }, /whole seconds/);
        await rejects({ ...video, response_format: { type: 'video', resolution: '8k' } }, /Supported resolutions/);
        await rejects({ ...video, response_format: { type: 'video', delivery: 'ftp' } }, /delivery/);
        await rejects({ ...video, response_format: { type: 'text' } }, /'video' only/);
        await rejects({ ...video, response_format: { type: 'video', gcs_uri: 'gs://b/x' } }, /Vertex/);
        await rejects({ ...video, model: 'gemini-omni-flash-preview', response_format: { type: 'video', resolution: '1080p' } }, /Supported resolutions: 720p/);
        const ok = await ai.interactions.create({ ...video, model: 'gemini-omni-1.2-flash', response_format: [{ type: 'video', duration: '15s' }] });
        assert.equal(ok.status, 'queued');
    });

    test('images: declared type must match the bytes; base64 must decode; one of data/uri', async () => {
        const img = (c) => ({ ...video, input: [{ type: 'text', text: 'go' }, { type: 'image', ...c }] });
        await rejects(img({ mime_type: 'image/jpeg', data: PNG.toString('base64') }), /not a valid image\/jpeg/);
        await rejects(img({ mime_type: 'image/png', data: 'not base64!' }), /Base64 decoding failed/);
        await rejects(img({ mime_type: 'image/png' }), /exactly one of 'data' or 'uri'/);
        await rejects(img({ data: PNG.toString('base64') }), /mime_type' is required/);
        await rejects(img({ mime_type: 'image/svg+xml', data: PNG.toString('base64') }), /Unsupported MIME type/);
        const ok = await ai.interactions.create(img({ mime_type: 'image/jpeg', data: JPEG_64x48.toString('base64') }));
        assert.equal(ok.status, 'queued');
    });

    test('a prompt is required, streaming and agents are refused, unknown models are 404', async () => {
        await rejects({ ...video, input: [{ type: 'image', mime_type: 'image/png', data: PNG.toString('base64') }] }, /non-empty text/);
        await rejects({ ...video, input: '   ' }, /non-empty text/);
        await rejects({ model: DEFAULT_MODEL }, /'input' is required/);
        await rejects({ input: 'x' }, /'model' is required/);
        await rejects({ ...video, store: false }, /requires 'store'/);
        await rejects({ ...video, agent: 'deep-research' }, /only model interactions/);
        await rejects({ ...video, model: 'veo-3.1-generate-preview' }, /not found/, NotFoundError, 404);
        const streamed = await sdkError(async () => {
            for await (const ev of await ai.interactions.create({ ...video, stream: true }, NO_RETRY)) void ev;
        }, BadRequestError, 400);
        assert.match(body(streamed).message, /stream/);
    });

    test('serviceErrorStyle rpc gives Status bodies for the service\'s own errors', async () => {
        fake.configure({ serviceErrorStyle: 'rpc' });
        const e = await rejects({ ...video, size: 'x' }, /Unknown name "size"/);
        assert.equal(body(e).status, 'INVALID_ARGUMENT');
        assert.equal(body(e).code, 400);
    });

    test('parseDuration takes whole seconds in protobuf Duration form only', () => {
        assert.equal(parseDuration('8s'), 8);
        assert.equal(parseDuration('10s'), 10);
        for (const bad of ['8', '8.5s', 's', '-1s', 8, '8S']) assert.equal(parseDuration(bad), null, String(bad));
    });
});

describe('the reference request (sdk-request.mjs)', () => {
    test('text only: the prompt is a plain string input; size and length are a video response_format', async () => {
        const r = await sdkRequest({ prompt: 'a cat on a skateboard', aspectRatio: '16:9', duration: 8, resolution: '720p' });
        assert.equal(r.method, 'POST');
        assert.equal(r.path, '/v1beta/interactions');
        assert.deepEqual(r.query, {});
        assert.deepEqual(r.headers, { 'content-type': 'application/json', 'x-goog-api-key': 'sdk-request-key' });
        assert.deepEqual(r.json, {
            model: DEFAULT_MODEL,
            input: 'a cat on a skateboard',
            background: true,
            response_format: { type: 'video', aspect_ratio: '16:9', duration: '8s', resolution: '720p' },
        });
        assert.equal(r.status, 200);
    });

    test('with an image and a previous interaction', async () => {
        const params = { prompt: 'now at dusk', image: { data: PNG }, previousInteractionId: 'v1_previous', model: 'gemini-omni-1.2-flash', apiKey: 'k2' };
        const r = await sdkRequest(params);
        assert.deepEqual(r.json, {
            model: 'gemini-omni-1.2-flash',
            input: [
                { type: 'text', text: 'now at dusk' },
                { type: 'image', mime_type: 'image/png', data: PNG.toString('base64') },
            ],
            background: true,
            previous_interaction_id: 'v1_previous',
        });
        assert.equal(r.headers['x-goog-api-key'], 'k2');
        assert.deepEqual(r.json, createParams(params), 'the SDK sends the body it is given, unchanged');
    });

    test('on a shared fake, and the SDK\'s own validation failures surface', async () => {
        const fake = await startFakeGemini();
        try {
            const r = await sdkRequest({ prompt: 'x', background: false }, { fake });
            assert.equal(r.json.background, undefined);
            assert.equal(fake.state.interactions.size, 1);
            await assert.rejects(sdkRequest({ prompt: 'x', aspectRatio: '1:1' }, { fake }), named(BadRequestError));
        } finally {
            await fake.close();
        }
        assert.throws(() => createParams({ prompt: '' }), /prompt/);
    });
});

describe('states by time, the control API, the CLI', () => {
    test('time mode with an injected clock', async () => {
        let t = 1_800_000_000_000;
        const fake = await startFakeGemini({ mode: 'time', queuedMs: 100, inProgressMs: 400, now: () => t });
        try {
            const ai = client(fake);
            const created = await ai.interactions.create(video);
            assert.equal(created.status, 'queued');
            t += 150;
            assert.equal((await ai.interactions.get(created.id)).status, 'in_progress');
            t += 400;
            const done = await ai.interactions.get(created.id);
            assert.equal(done.status, 'completed');
            assert.equal(done.created, new Date(1_800_000_000_000).toISOString().replace('.000Z', 'Z'));
        } finally {
            await fake.close();
        }
    });

    test('control endpoints: requests, faults, outcomes, seeded interactions, state, reset', async () => {
        const fake = await startFakeGemini();
        try {
            const ctl = (method, path, b) =>
                fetch(fake.control + path, { method, headers: { 'content-type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) }).then(async (r) => ({ status: r.status, body: await r.json() }));
            const seeded = await ctl('POST', '/interactions', { id: 'v1_seeded', status: 'queued' });
            assert.equal(seeded.body.status, 'queued');
            assert.equal((await ctl('POST', '/interactions/v1_seeded/finish', { status: 'failed', error: { message: 'nope' } })).body.errors[0].message, 'nope');
            assert.equal((await ctl('POST', '/faults', { path: 'interactions/*', status: 500 })).body.length, 1);
            assert.equal((await ctl('POST', '/next', 'safety')).status, 200);
            const ai = client(fake);
            await assert.rejects(ai.interactions.get('v1_seeded', {}, NO_RETRY), named(InternalServerError));
            const { it } = await pollDone(ai, (await ai.interactions.create(video)).id);
            assert.equal(it.errors[0].code, 'safety');
            const reqs = (await ctl('GET', '/requests?since=1')).body;
            assert.ok(reqs.length >= 2 && reqs.every((r) => r.seq > 1));
            const st = (await ctl('GET', '/state')).body;
            assert.deepEqual(st.interactions.map((i) => i.status), ['failed', 'failed']);
            assert.equal((await ctl('GET', '/assets')).body.video.sha256, fake.assets.video.sha256);
            assert.equal((await ctl('POST', '/config', { queuedPolls: 0 })).body.queuedPolls, 0);
            assert.equal((await ctl('GET', '/nope')).status, 404);
            await ctl('POST', '/reset');
            assert.equal(fake.requests.length, 0);
            assert.equal(fake.state.interactions.size, 0);
            assert.equal(fake.config.queuedPolls, 1);
        } finally {
            await fake.close();
        }
    });

    test('the CLI prints its origins, serves, and ends when stdin closes or on SIGTERM', async () => {
        const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
        const start = () => {
            const child = spawn(process.execPath, [script, '--port', '0', '--api-key', KEY, '--video-bytes', '4096', '--delivery', 'uri'], { stdio: ['pipe', 'pipe', 'inherit'] });
            const line = new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
            const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
            return { child, line, exited };
        };
        const a = start();
        const info = JSON.parse(await a.line);
        assert.equal(info.url, `${info.origin}/v1beta`);
        assert.equal(info.video_bytes, 4096);
        assert.match(info.storage_origin, /^http:\/\/127\.0\.0\.1:\d+$/);
        const it = await new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: info.origin, apiVersion: 'v1beta' } }).interactions.create({ model: DEFAULT_MODEL, input: 'x' });
        assert.ok(it.output_video.uri.startsWith(info.origin));
        a.child.stdin.end();
        assert.equal((await a.exited).code, 0);
        const b = start();
        await b.line;
        b.child.kill('SIGTERM');
        assert.equal((await b.exited).code, 0);
    });
});
