// Spec check driver: runs every sanzaru tool that calls OpenAI against Stoplight Prism
// serving OpenAI's published OpenAPI document, and fails if Prism rejected any request.
//
// Started by scripts/spec-check, which runs Prism and passes:
//   PRISM_URL   Prism's origin (http://127.0.0.1:PORT)
//   PRISM_LOG   the file Prism logs to (scanned for "Violation: request..." lines)
//   SANZARU_BIN the server binary (default build/sanzaru)
// The server talks to a small recording proxy in this process, which forwards to Prism.
// The proxy knows every request and Prism's status for it, and it adds Prism's
// `Prefer: example=...` header where a step needs a particular example (the completed
// image response for download_image). A request is "rejected" when Prism answers it
// with 4xx/5xx or logs a request violation for it. Tools missing from tools/list are
// reported as skipped. Exit status: 0 all checked requests accepted, 1 otherwise,
// 2 the check could not run.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { encodePng, JPEG_64x48 } from '../fake-openai/media.mjs';
import { makeSilentMp3, makeSilentWav } from '../fake-openai/audio.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const prismUrl = process.env.PRISM_URL;
const prismLog = process.env.PRISM_LOG;
const bin = process.env.SANZARU_BIN || path.join(repoRoot, 'build', 'sanzaru');
const verbose = !!process.env.SPEC_CHECK_VERBOSE;

function die(msg) {
    console.error(`spec-check: ${msg}`);
    process.exit(2);
}
if (!prismUrl) die('PRISM_URL is not set (run scripts/spec-check)');
if (!fs.existsSync(bin)) die(`sanzaru binary not found at ${bin} (build it or set SANZARU_BIN)`);

// ---------------------------------------------------------------------------------------
// Media root with reference images, masks and edit inputs.
const media = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-spec-'));
fs.mkdirSync(path.join(media, 'videos'));
fs.mkdirSync(path.join(media, 'images'));
const img = (name, buf) => fs.writeFileSync(path.join(media, 'images', name), buf);
img('ref_1280x720.png', encodePng(1280, 720));
img('ref_720x1280.jpg', JPEG_64x48); // content is JPEG; Prism does not look at dimensions
img('edit_a.png', encodePng(64, 48));
img('edit_b.png', encodePng(64, 48, { pixel: (x, y) => [y * 5, x * 4, 128] }));
img('mask.png', encodePng(64, 48, { channels: 4, pixel: (x) => [0, 0, 0, x < 32 ? 0 : 255] }));
// Audio: a short MP3 and WAV, and a 9-minute WAV that is transcribed in windows.
fs.mkdirSync(path.join(media, 'audio'));
const snd = (name, buf) => fs.writeFileSync(path.join(media, 'audio', name), buf);
snd('memo.mp3', makeSilentMp3(3));
snd('call.wav', makeSilentWav(2));
snd('long.wav', makeSilentWav(540));

// ---------------------------------------------------------------------------------------
// Recording proxy in front of Prism.
const target = new URL(prismUrl);
const proxied = []; // {method, path, status, step, prismLogIndex}
let currentStep = null;
let preferRules = []; // [{method, re, value}]
// While set, a POST /v1/responses waits for this promise before it goes to Prism: the
// cancelled task's create must still be in flight when its client cancels (Prism's
// answer is a finished Response, which would otherwise race the cancel).
let holdCreate = null;

const proxy = http.createServer(async (req, res) => {
    if (holdCreate && req.method === 'POST' && req.url.split('?')[0] === '/v1/responses') await holdCreate;
    const entry = { method: req.method, path: req.url, status: null, step: currentStep, error: null };
    proxied.push(entry);
    const headers = { ...req.headers, host: `${target.hostname}:${target.port}` };
    const pathname = req.url.split('?')[0];
    for (const r of preferRules) if (r.method === req.method && r.re.test(pathname)) headers.prefer = r.value;
    // Prism answers POST /audio/speech with the spec's "Transfer-Encoding" response header
    // beside its Content-Length, which HTTP forbids: read it leniently and forward it
    // without the stray header (the request, which is what is checked, is unaffected).
    const up = http.request({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers, insecureHTTPParser: true }, (upRes) => {
        if (upRes.headers['content-length'] !== undefined) delete upRes.headers['transfer-encoding'];
        entry.status = upRes.statusCode;
        const chunks = [];
        upRes.on('data', (c) => {
            if (upRes.statusCode >= 400) chunks.push(c);
        });
        upRes.on('end', () => {
            if (chunks.length) entry.body = Buffer.concat(chunks).toString('utf8').slice(0, 500);
        });
        res.writeHead(upRes.statusCode, upRes.headers);
        upRes.pipe(res);
    });
    up.on('error', (e) => {
        entry.error = e.message;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `spec-check proxy: ${e.message}`, type: 'proxy_error', param: null, code: null } }));
    });
    req.pipe(up);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = `http://127.0.0.1:${proxy.address().port}/v1`;

// ---------------------------------------------------------------------------------------
// The server under test.
const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: process.env.LOG_LEVEL || 'WARNING',
    OPENAI_BASE_URL: proxyUrl,
    OPENAI_API_KEY: 'sk-test',
    SANZARU_MEDIA_PATH: media,
    SANZARU_MAX_RETRIES: '0',
};
for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
const transport = new StdioClientTransport({ command: bin, args: [], env, stderr: 'pipe' });
let serverStderr = '';
transport.stderr?.on('data', (d) => {
    serverStderr += d.toString();
});
const client = new Client({ name: 'sanzaru-spec-check', version: '1.0.0' }, { capabilities: {} });
let toolNames;
try {
    await client.connect(transport);
    const tools = [];
    let cursor;
    do {
        const page = await client.listTools(cursor ? { cursor } : {});
        tools.push(...page.tools);
        cursor = page.nextCursor;
    } while (cursor);
    toolNames = new Set(tools.map((t) => t.name));
} catch (e) {
    console.error(serverStderr.slice(-2000));
    await cleanup();
    die(`could not start or initialize ${bin}: ${e.message}`);
}

// ---------------------------------------------------------------------------------------
// Steps. Ids come from earlier results when the tool returns them, else Prism's examples.
const ids = { video: 'video_123', response: 'resp_123' };
const steps = [
    { name: 'create_video (prompt only)', tool: 'create_video', args: { prompt: 'A calico cat playing a piano' }, saveVideo: true },
    { name: 'create_video (model, seconds, size)', tool: 'create_video', args: { prompt: 'A calico cat', model: 'sora-2-pro', seconds: '8', size: '1280x720' } },
    { name: 'create_video (PNG input reference)', tool: 'create_video', args: { prompt: 'Animate this', seconds: '4', size: '1280x720', input_reference_filename: 'ref_1280x720.png' } },
    { name: 'create_video (JPEG input reference)', tool: 'create_video', args: { prompt: 'Animate this', seconds: '12', size: '720x1280', input_reference_filename: 'ref_720x1280.jpg' } },
    { name: 'get_video_status', tool: 'get_video_status', args: () => ({ video_id: ids.video }) },
    { name: 'list_videos (defaults)', tool: 'list_videos', args: {} },
    { name: 'list_videos (limit, after, order)', tool: 'list_videos', args: () => ({ limit: 5, after: ids.video, order: 'asc' }) },
    { name: 'remix_video', tool: 'remix_video', args: () => ({ previous_video_id: ids.video, prompt: 'Make it rain' }) },
    { name: 'download_video (video)', tool: 'download_video', args: () => ({ video_id: ids.video, variant: 'video', filename: 'spec_video.mp4' }) },
    { name: 'download_video (thumbnail)', tool: 'download_video', args: () => ({ video_id: ids.video, variant: 'thumbnail', filename: 'spec_thumb.webp' }) },
    { name: 'download_video (spritesheet)', tool: 'download_video', args: () => ({ video_id: ids.video, variant: 'spritesheet', filename: 'spec_sprite.jpg' }) },
    { name: 'delete_video', tool: 'delete_video', args: () => ({ video_id: ids.video }) },
    { name: 'create_image (prompt only)', tool: 'create_image', args: { prompt: 'A red fox in snow' }, saveResponse: true },
    {
        name: 'create_image (tool_config, input image, mask)',
        tool: 'create_image',
        args: { prompt: 'Put a hat on it', model: 'gpt-5.2', tool_config: { type: 'image_generation', quality: 'low', size: '1024x1024' }, input_images: ['edit_a.png'], mask_filename: 'mask.png' },
    },
    { name: 'create_image (previous_response_id)', tool: 'create_image', args: () => ({ prompt: 'Now in blue', previous_response_id: ids.response }) },
    {
        // MCP tasks (docs/tasks.md): a client that cancels a create_image task abandons the
        // job, and the server cancels it upstream: POST /responses/{id}/cancel.
        name: 'create_image as a task, cancelled',
        tool: 'create_image',
        custom: cancelledImageTask,
    },
    { name: 'get_image_status', tool: 'get_image_status', args: () => ({ response_id: ids.response }) },
    {
        name: 'download_image (completed example)',
        tool: 'download_image',
        args: () => ({ response_id: ids.response, filename: 'spec_download.png' }),
        prefer: [{ method: 'GET', re: /^\/v1\/responses\/[^/]+$/, value: 'example=image_completed' }],
    },
    { name: 'generate_image (defaults)', tool: 'generate_image', args: { prompt: 'A lighthouse at dusk', filename: 'spec_gen1.png' } },
    {
        name: 'generate_image (all options)',
        tool: 'generate_image',
        args: { prompt: 'A lighthouse', model: 'gpt-image-1.5', size: '1536x1024', quality: 'low', background: 'opaque', output_format: 'jpeg', moderation: 'low', filename: 'spec_gen2.jpeg' },
    },
    { name: 'edit_image (one image)', tool: 'edit_image', args: { prompt: 'Add a hat', input_images: ['edit_a.png'], filename: 'spec_edit1.png' } },
    {
        name: 'edit_image (two images and a mask)',
        tool: 'edit_image',
        args: { prompt: 'Merge them', input_images: ['edit_a.png', 'edit_b.png'], mask_filename: 'mask.png', model: 'gpt-image-1.5', input_fidelity: 'high', size: '1024x1024', quality: 'medium', output_format: 'png', filename: 'spec_edit2.png' },
    },
    { name: 'transcribe_audio (defaults)', tool: 'transcribe_audio', args: { file_path: 'memo.mp3' } },
    {
        name: 'transcribe_audio (whisper-1, verbose_json, timestamps, prompt)',
        tool: 'transcribe_audio',
        args: { file_path: 'call.wav', model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'], prompt: 'Names: Ada.' },
    },
    { name: 'transcribe_audio (9 minutes: 7 windows)', tool: 'transcribe_audio', args: { file_path: 'long.wav', response_format: 'json' } },
    { name: 'transcribe_with_enhancement', tool: 'transcribe_with_enhancement', args: { file_path: 'memo.mp3', enhancement_type: 'storytelling', model: 'gpt-4o-transcribe' } },
    { name: 'chat_with_audio (mp3, no prompts)', tool: 'chat_with_audio', args: { file_path: 'memo.mp3' } },
    { name: 'chat_with_audio (wav, both prompts)', tool: 'chat_with_audio', args: { file_path: 'call.wav', model: 'gpt-4o-mini-audio-preview', system_prompt: 'Be brief.', user_prompt: 'What is it?' } },
    { name: 'create_audio (defaults)', tool: 'create_audio', args: { text_prompt: 'Hello there.', output_filename: 'spec_speech1.mp3' } },
    {
        name: 'create_audio (model, voice, instructions, speed)',
        tool: 'create_audio',
        args: { text_prompt: 'Hello again.', model: 'gpt-4o-mini-tts', voice: 'coral', instructions: 'Warm and slow.', speed: 0.9, output_filename: 'spec_speech2.mp3' },
    },
];

/** Starts create_image as a 2025-11-25 task through the SDK's experimental tasks API,
 *  cancels it, and waits until the server's cancel of the job reached OpenAI's spec. */
async function cancelledImageTask() {
    let release;
    holdCreate = new Promise((r) => {
        release = r;
    });
    try {
        const stream = client.experimental.tasks.callToolStream({ name: 'create_image', arguments: { prompt: 'A fox to cancel' } }, undefined, { task: {} });
        const first = await stream.next();
        if (first.value?.type !== 'taskCreated') throw new Error(`no task was created: ${JSON.stringify(first.value)}`);
        const taskId = first.value.task.taskId;
        const cancelled = await client.experimental.tasks.cancelTask(taskId);
        if (cancelled.status !== 'cancelled') throw new Error(`tasks/cancel answered ${JSON.stringify(cancelled)}`);
        release(); // the create may now reach Prism; its job is then cancelled upstream
        await stream.return(undefined);
        const isCancel = (p) => p.method === 'POST' && /^\/v1\/responses\/[^/]+\/cancel$/.test(p.path.split('?')[0]);
        for (let i = 0; i < 100 && !proxied.some(isCancel); i++) await new Promise((r) => setTimeout(r, 50));
        if (!proxied.some(isCancel)) throw new Error('the server sent no POST /responses/{id}/cancel');
        return { content: [{ type: 'text', text: `task ${taskId} cancelled` }] };
    } finally {
        release();
        holdCreate = null;
    }
}

function resultText(r) {
    return (r.content || [])
        .filter((c) => c.type === 'text')
        .map((c) => c.text)
        .join(' ');
}
function resultObject(r) {
    if (r.structuredContent && typeof r.structuredContent === 'object') return r.structuredContent;
    try {
        return JSON.parse(resultText(r));
    } catch {
        return null;
    }
}

const outcomes = [];
for (const step of steps) {
    if (!toolNames.has(step.tool)) {
        outcomes.push({ step, skipped: true });
        continue;
    }
    currentStep = step.name;
    preferRules = step.prefer || [];
    const before = proxied.length;
    let result = null;
    let callError = null;
    try {
        if (step.custom) {
            result = await step.custom();
        } else {
            const args = typeof step.args === 'function' ? step.args() : step.args;
            result = await client.callTool({ name: step.tool, arguments: args }, undefined, { timeout: 120000 });
        }
    } catch (e) {
        callError = e.message;
    }
    preferRules = [];
    currentStep = null;
    const reqs = proxied.slice(before);
    const obj = result ? resultObject(result) : null;
    if (result && !result.isError && obj) {
        if (step.saveVideo && typeof obj.id === 'string') ids.video = obj.id;
        if (step.saveResponse && typeof obj.id === 'string') ids.response = obj.id;
    }
    outcomes.push({ step, reqs, result, callError, text: result ? resultText(result) : null });
}

// Let Prism finish logging, then attribute its log blocks to requests in order.
async function readPrismBlocks(expected) {
    if (!prismLog) return null;
    let blocks = [];
    for (let i = 0; i < 50; i++) {
        const text = fs.existsSync(prismLog) ? fs.readFileSync(prismLog, 'utf8') : '';
        // eslint-disable-next-line no-control-regex
        const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
        blocks = [];
        for (const line of lines) {
            // A request's block opens with its "[HTTP SERVER] <method> <path> ... info" line.
            // Its request violations are the "[VALIDATOR] ✖ error <message>" lines Prism
            // prints before it responds; the "Violation: request..." summaries that repeat
            // them are printed later and may land after the next request's line, so only
            // the early lines are used.
            const m = /\[HTTP SERVER\] (\w+) (\S+) +\S+ +info\b/.exec(line);
            if (m) {
                blocks.push({ method: m[1].toUpperCase(), path: m[2], violations: [] });
                continue;
            }
            const cur = blocks[blocks.length - 1];
            if (!cur) continue;
            const v = /\[VALIDATOR\] \S+ +error +(.*)$/.exec(line);
            if (v && !v[1].startsWith('Violation:')) cur.violations.push(v[1].trim());
            const h = /\[HTTP SERVER\] \w+ \S+ +\S+ +error +(.*)$/.exec(line);
            if (h) cur.violations.push(h[1].trim());
        }
        if (blocks.filter((b) => b.path.startsWith('/v1')).length >= expected) break;
        await new Promise((r) => setTimeout(r, 100));
    }
    return blocks.filter((b) => b.path.startsWith('/v1'));
}
const blocks = await readPrismBlocks(proxied.length);
if (blocks) {
    proxied.forEach((p, i) => {
        const b = blocks[i];
        if (b && b.method === p.method && p.path.split('?')[0] === b.path.split('?')[0]) p.violations = b.violations;
        else p.violations = null; // could not attribute
    });
}

// ---------------------------------------------------------------------------------------
// Report.
let checked = 0;
let rejected = 0;
let failed = false;
const skipped = [];
for (const o of outcomes) {
    if (o.skipped) {
        skipped.push(o.step.tool);
        console.log(`skip  ${o.step.name}: tool not available`);
        continue;
    }
    const lines = [];
    let stepRejected = false;
    for (const r of o.reqs) {
        checked++;
        const bad = r.status === null || r.status >= 400 || (r.violations && r.violations.length > 0);
        if (bad) {
            rejected++;
            stepRejected = true;
            const why = [r.error, ...(r.violations || []), r.violations && r.violations.length ? null : r.body].filter(Boolean).join('; ');
            lines.push(`        REJECTED ${r.method} ${r.path} -> ${r.status ?? 'no response'}${why ? `: ${why}` : ''}`);
        } else if (verbose) lines.push(`        ${r.method} ${r.path} -> ${r.status}`);
    }
    const summary = o.reqs.map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`).join(', ');
    if (stepRejected) {
        failed = true;
        console.log(`FAIL  ${o.step.name}: ${summary}`);
    } else if (o.callError) {
        failed = true;
        console.log(`FAIL  ${o.step.name}: MCP call failed: ${o.callError}`);
    } else if (o.reqs.length === 0) {
        failed = true;
        console.log(`FAIL  ${o.step.name}: no request reached Prism${o.result?.isError ? ` (tool error: ${o.text})` : ''}`);
    } else if (o.result?.isError) {
        console.log(`ok    ${o.step.name}: ${summary} (tool error after accepted requests, not a spec failure: ${o.text.slice(0, 200)})`);
    } else {
        console.log(`ok    ${o.step.name}: ${summary}`);
    }
    for (const l of lines) console.log(l);
}
const unattributed = blocks ? proxied.filter((p) => p.violations === null).length : proxied.length;
if (!prismLog) console.log('note  PRISM_LOG not set: rejections detected from status codes only');
else if (unattributed) console.log(`note  ${unattributed} request(s) could not be matched to Prism's log; their status codes were used`);
if (skipped.length) console.log(`spec-check: skipped (tool not available): ${[...new Set(skipped)].join(', ')}`);
console.log(`spec-check: ${checked} requests checked, ${rejected} rejected`);

async function cleanup() {
    try {
        await client.close();
    } catch {
        /* already gone */
    }
    proxy.close();
    proxy.closeAllConnections?.();
    fs.rmSync(media, { recursive: true, force: true });
}
await cleanup();
process.exit(failed ? 1 : 0);
