#!/usr/bin/env node
// sanzaru's benchmarks (issue 6): runs every row through the real server over MCP, with
// its baseline measured in the same run, then writes bench/results/<date>.json and
// regenerates docs/benchmarks.md (keeping its hand-written section).
//
// Run through `make bench` (scripts/bench builds the release tree and the driver first).
// Environment: BENCH_ROWS=1,2,... (subset), BENCH_RUNS=5 (runs per figure, at least 5 for
// the published table), BENCH_QUICK=1 (small counts, for trying the runner; writes
// nothing under docs/ unless BENCH_WRITE_DOC=1).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run, runJson, pct, median, sum, summary, sha256File, sha256Files, freePort, waitPort, MiB, sleep } from './lib/util.mjs';
import { writeReport } from './lib/report.mjs';
import { encodePng, JPEG_64x48, WEBP_64x48 } from '../tests/fake-openai/media.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: argv } = parseArgs({
    options: {
        bin: { type: 'string', default: path.join(ROOT, 'build-release/sanzaru') },
        driver: { type: 'string', default: path.join(ROOT, 'build-release/bench/mcpdrive') },
        'build-info': { type: 'string', default: '' },
        report: { type: 'string' }, // only rewrite docs/benchmarks.md from this results JSON
    },
});
const BIN = path.resolve(argv.bin);
const DRIVER = path.resolve(argv.driver);
const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS || (QUICK ? 2 : 5));
const ROWS = (process.env.BENCH_ROWS || '1,2,3,4,5,6,7').split(',').map((s) => Number(s.trim()));
const PYTHON = '/usr/bin/python3';
const PIL_SCRIPT = path.join(ROOT, 'bench/pillow_prepare.py');
const PYDUB_SCRIPT = path.join(ROOT, 'bench/pydub_convert.py');
const REF_SIZE = '1280x720';
const REF_SIZE_TEXT = '1280×720';
const started = new Date();
const log = (...a) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`, ...a);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-bench-'));
const logs = path.join(tmp, 'logs');
fs.mkdirSync(logs);
let logSeq = 0;
const problems = []; // failed calls and failed verifications: reported, never hidden

// ---- processes we start ------------------------------------------------------------

const children = new Set();
function startFake(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(ROOT, 'bench/fake.mjs'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.add(child);
        let buf = '';
        child.stdout.on('data', (d) => {
            buf += d;
            const nl = buf.indexOf('\n');
            if (nl >= 0) resolve({ ...JSON.parse(buf.slice(0, nl)), child });
        });
        child.on('error', reject);
        child.on('exit', (code) => {
            children.delete(child);
            if (!buf.includes('\n')) reject(new Error(`fake exited ${code}`));
        });
    });
}

function stopChild(child) {
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
    });
}

async function cleanup() {
    for (const c of [...children]) await stopChild(c);
    fs.rmSync(tmp, { recursive: true, force: true });
}

// ---- environment of the server ----------------------------------------------------------

function serverEnv(fake, media, extra = {}) {
    return {
        PATH: process.env.PATH,
        HOME: tmp,
        LANG: 'C.UTF-8',
        LOG_LEVEL: 'INFO',
        OPENAI_API_KEY: 'bench',
        OPENAI_BASE_URL: fake.url,
        SANZARU_MEDIA_PATH: media,
        ...extra,
    };
}

function mkMedia(name, { ref = false, listing = 0 } = {}) {
    const dir = path.join(tmp, name);
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'videos'), { recursive: true });
    if (ref) fs.copyFileSync(refImage, path.join(dir, 'images/ref.png'));
    const png = encodePng(64, 48);
    for (let i = 0; i < listing; i++) {
        const [ext, bytes] = [['png', png], ['jpg', JPEG_64x48], ['webp', WEBP_64x48]][i % 3];
        fs.writeFileSync(path.join(dir, `images/img_${String(i).padStart(2, '0')}.${ext}`), bytes);
    }
    return dir;
}

async function drive(sub, args, env) {
    const errLog = path.join(logs, `${String(++logSeq).padStart(3, '0')}-${sub}.log`);
    return runJson(DRIVER, [sub, ...args, '--stderr', errLog], { env });
}

async function batch(name, spec, env) {
    const specPath = path.join(tmp, `${name}-${++logSeq}.json`);
    fs.writeFileSync(specPath, JSON.stringify(spec));
    const out = await drive('batch', ['--server', BIN, '--spec', specPath], env);
    for (const ph of out.phases)
        if (ph.errors || ph.verify_failed) {
            const msg = `${name}/${ph.name}: ${ph.errors} tool errors, ${ph.verify_failed} of ${ph.calls} calls failed verification: ${(ph.why || '').slice(0, 600)}`;
            log(`PROBLEM ${msg}`);
            problems.push(msg);
        }
    return out;
}

// ---- fixtures on the fake -------------------------------------------------------------

async function createVideos(fake, n) {
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await fetch(`${fake.origin}/__control/videos`, { method: 'POST', body: '{}' });
        if (!r.ok) throw new Error(`fake: cannot add a video: ${r.status}`);
        ids.push((await r.json()).id);
    }
    return ids;
}

async function createResponses(fake, n) {
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await fetch(`${fake.url}/responses`, {
            method: 'POST',
            headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-5.2', input: 'bench', tools: [{ type: 'image_generation' }], background: true }),
        });
        if (!r.ok) throw new Error(`fake: cannot create a response: ${r.status} ${await r.text()}`);
        const { id } = await r.json();
        const c = await fetch(`${fake.origin}/__control/responses/${id}/complete`, { method: 'POST' });
        if (!c.ok) throw new Error(`fake: cannot complete ${id}`);
        ids.push(id);
    }
    return ids;
}

// ---- tool calls as the driver takes them ----------------------------------------------------

const prepCall = (media, name, mode = 'crop') => ({
    tool: 'prepare_reference_image',
    args: { input_filename: 'ref.png', target_size: REF_SIZE, resize_mode: mode, output_filename: `${name}.png` },
    verify: { path: path.join(media, 'images', `${name}.png`), delete: true },
});
const videoCall = (media, fake, name, videoId) => ({
    tool: 'download_video',
    args: { video_id: videoId, filename: `${name}.mp4` },
    verify: { path: path.join(media, 'videos', `${name}.mp4`), sha256: fake.video_sha256, size: fake.video_bytes, result_sha256_key: 'sha256', delete: true },
});
const imageCall = (media, fake, name, responseId) => ({
    tool: 'download_image',
    args: { response_id: responseId, filename: `${name}.png` },
    verify: { path: path.join(media, 'images', `${name}.png`), sha256: fake.png_sha256, size: fake.png_bytes, delete: true },
});

// ---- machine ------------------------------------------------------------------------------

async function machineInfo() {
    const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || 'unknown';
    const dpkg = async (pkg) => {
        const r = await run('dpkg-query', ['-W', '-f=${Version}', pkg]);
        return r.code === 0 ? r.stdout.trim() : null;
    };
    const pkgcfg = async (m) => {
        const r = await run('pkg-config', ['--modversion', m]);
        return r.code === 0 ? r.stdout.trim() : null;
    };
    const py = await run(PYTHON, ['-c', 'import sys, PIL; print(sys.version.split()[0], PIL.__version__)']);
    const [pyv, pilv] = py.code === 0 ? py.stdout.trim().split(' ') : [null, null];
    const curlv = (await run('curl', ['--version'])).stdout.split('\n')[0];
    const cc = (await run('cc', ['--version'])).stdout.split('\n')[0];
    const mem = fs.readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s*(\d+)/)[1];
    return {
        cpu,
        cores: os.cpus().length,
        kernel: `${os.type()} ${os.release()}`,
        memory_mib: Math.round(Number(mem) / 1024),
        compiler: cc,
        libs: {
            libuv: (await pkgcfg('libuv')) + (await dpkg('libuv1') ? ` (libuv1 ${await dpkg('libuv1')})` : ''),
            libcurl: (await pkgcfg('libcurl')) + (await dpkg('libcurl4') ? ` (libcurl4 ${await dpkg('libcurl4')})` : ''),
            jansson: (await pkgcfg('jansson')) + (await dpkg('libjansson4') ? ` (libjansson4 ${await dpkg('libjansson4')})` : ''),
            libvips: (await pkgcfg('vips')) + (await dpkg('libvips42') ? ` (libvips42 ${await dpkg('libvips42')})` : ''),
            libmicrohttpd: (await pkgcfg('libmicrohttpd')) + (await dpkg('libmicrohttpd12') ? ` (libmicrohttpd12 ${await dpkg('libmicrohttpd12')})` : ''),
            openssl: await pkgcfg('libcrypto'),
        },
        node: process.version,
        python: pyv,
        pillow: pilv ? `${pilv}${(await dpkg('python3-pil')) ? ` (python3-pil ${await dpkg('python3-pil')})` : ''}` : null,
        curl: curlv,
    };
}

/** Sequential write bandwidth with fdatasync at the end (the disk's durable floor). */
async function diskBandwidth(bytes) {
    const file = path.join(tmp, 'dd.bin');
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    const t0 = process.hrtime.bigint();
    const fd = fs.openSync(file, 'w');
    for (let off = 0; off < bytes; off += chunk.length) fs.writeSync(fd, chunk);
    fs.fdatasyncSync(fd);
    fs.closeSync(fd);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.unlinkSync(file);
    return bytes / s;
}

// ---- row 1: the seed's four workloads -----------------------------------------------------

async function row1(fakeSmall) {
    log('row 1: the seed\'s workloads through the server');
    const media = mkMedia('r1', { ref: true });
    const vids = await createVideos(fakeSmall, 20);
    const resps = await createResponses(fakeSmall, 15);
    const scale = QUICK ? 0.5 : 1;
    const n = (k) => Math.max(1, Math.round(k * scale));
    const W = {
        image_prep: (tag) => Array.from({ length: n(10) }, (_, i) => prepCall(media, `${tag}_p${i}`)),
        file_writes: (tag) => Array.from({ length: n(20) }, (_, i) => videoCall(media, fakeSmall, `${tag}_w${i}`, vids[i])),
        base64: (tag) => Array.from({ length: n(15) }, (_, i) => imageCall(media, fakeSmall, `${tag}_b${i}`, resps[i])),
        mixed: (tag) => [
            ...Array.from({ length: n(5) }, (_, i) => prepCall(media, `${tag}_p${i}`)),
            ...Array.from({ length: n(10) }, (_, i) => videoCall(media, fakeSmall, `${tag}_w${i}`, vids[i])),
            ...Array.from({ length: n(8) }, (_, i) => imageCall(media, fakeSmall, `${tag}_b${i}`, resps[i])),
        ],
    };
    const phases = [];
    for (let r = 0; r < RUNS; r++)
        for (const [w, make] of Object.entries(W)) {
            phases.push({ name: `${w}/seq/${r}`, mode: 'sequential', calls: make(`${w}_s${r}`) });
            phases.push({ name: `${w}/conc/${r}`, mode: 'concurrent', calls: make(`${w}_c${r}`) });
        }
    const warmup = [prepCall(media, 'warm_p'), videoCall(media, fakeSmall, 'warm_w', vids[0]), imageCall(media, fakeSmall, 'warm_b', resps[0])];
    const out = await batch('row1', { warmup, phases }, serverEnv(fakeSmall, media));
    const res = {};
    for (const w of Object.keys(W)) {
        const seq = out.phases.filter((p) => p.name.startsWith(`${w}/seq/`));
        const conc = out.phases.filter((p) => p.name.startsWith(`${w}/conc/`));
        const ops = conc[0].calls;
        res[w] = {
            ops,
            seq_ms: summary(seq.map((p) => p.wall_ms)),
            conc_ms: summary(conc.map((p) => p.wall_ms)),
            overlap: summary(conc.map((p) => sum(p.lat_ms) / p.wall_ms)),
            speedup: summary(conc.map((p, i) => seq[i].wall_ms / p.wall_ms)),
            seq_ops_s: summary(seq.map((p) => (ops * 1000) / p.wall_ms)),
            conc_ops_s: summary(conc.map((p) => (ops * 1000) / p.wall_ms)),
            conc_hwm_kb: summary(conc.map((p) => p.hwm_kb)),
            conc_anon_kb: summary(conc.map((p) => p.peak_anon_kb)),
        };
    }
    log('row 1: the seed\'s own method in Python, for reference');
    const py = await runJson(PYTHON, [PIL_SCRIPT, 'seed-method', String(RUNS)]);
    const pyres = {};
    for (const [w, v] of Object.entries(py))
        pyres[w] = {
            ops: v.ops,
            seq_ms: summary(v.runs.map((x) => x.seq_ms)),
            conc_ms: summary(v.runs.map((x) => x.conc_ms)),
            overlap: summary(v.runs.map((x) => x.overlap)),
            speedup: summary(v.runs.map((x) => x.speedup)),
        };
    return {
        sanzaru: res,
        seed_method_python: pyres,
        setup: {
            image_prep: `${n(10)} × prepare_reference_image 2048×2048 PNG → ${REF_SIZE_TEXT} crop`,
            file_writes: `${n(20)} × download_video of a ${fakeSmall.video_bytes.toLocaleString('en-US')}-byte video (written with fdatasync)`,
            base64: `${n(15)} × download_image: a ${fakeSmall.png_bytes.toLocaleString('en-US')}-byte PNG (${(Math.ceil(fakeSmall.png_bytes / 3) * 4).toLocaleString('en-US')} base64 characters) decoded and written`,
            mixed: `${n(5)} + ${n(10)} + ${n(8)} of the above at once`,
        },
        server_log_lines: null,
    };
}

// ---- row 2: the stress test ------------------------------------------------------------------

async function curlBatch(fake, ids, dir, how) {
    fs.mkdirSync(dir, { recursive: true });
    const files = ids.map((_, i) => path.join(dir, `c${i}.mp4`));
    const urls = ids.map((id) => `${fake.url}/videos/${id}/content`);
    let r;
    if (how === 'parallel') {
        const cfg = path.join(dir, 'curl.cfg');
        fs.writeFileSync(cfg, ids.map((_, i) => `url = "${urls[i]}"\noutput = "${files[i]}"\n`).join(''));
        r = await run('curl', ['--parallel', '--parallel-immediate', '--parallel-max', String(ids.length), '-sS', '--fail', '-H', 'Authorization: Bearer bench', '-K', cfg]);
    } else {
        const input = ids.map((_, i) => `${files[i]} ${urls[i]}`).join('\n') + '\n';
        r = await run('xargs', ['-P', String(ids.length), '-n', '2', 'curl', '-sS', '--fail', '-H', 'Authorization: Bearer bench', '-o'], { input });
    }
    if (r.code !== 0) throw new Error(`curl (${how}) failed: ${r.stderr.slice(-500)}`);
    const hashes = await sha256Files(files);
    let ok = 0;
    for (const f of files) {
        if (hashes.get(f) === fake.video_sha256 && fs.statSync(f).size === fake.video_bytes) ok++;
        fs.unlinkSync(f);
    }
    return { ms: r.ms, ok };
}

// ---- row 2, Gemini: URI output through a redirect, and inline output -------------------------

const GEMINI_VIDEO_BYTES = 8_000_000;

/** The fake Gemini Interactions API (tests/fake-gemini/server.mjs) as a process. */
function startGeminiFake() {
    return new Promise((resolve, reject) => {
        const script = path.join(ROOT, 'tests/fake-gemini/server.mjs');
        const child = spawn(process.execPath, [script, '--port', '0', '--api-key', 'bench', '--video-bytes', String(GEMINI_VIDEO_BYTES)], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.add(child);
        let buf = '';
        child.stdout.on('data', (d) => {
            buf += d;
            const nl = buf.indexOf('\n');
            if (nl >= 0) resolve({ ...JSON.parse(buf.slice(0, nl)), child });
        });
        child.on('error', reject);
        child.on('exit', (code) => {
            children.delete(child);
            if (!buf.includes('\n')) reject(new Error(`fake gemini exited ${code}`));
        });
    });
}

async function geminiInteractions(g, n, delivery) {
    const ids = [];
    for (let i = 0; i < n; i++) {
        const r = await fetch(`${g.control}/interactions`, { method: 'POST', body: JSON.stringify({ delivery }) });
        if (!r.ok) throw new Error(`fake gemini: cannot add an interaction: ${r.status}`);
        ids.push((await r.json()).id);
    }
    return ids;
}

/** The uri of each URI-output interaction, as a client reads it from the Interaction. */
async function geminiUris(g, ids) {
    const uris = [];
    for (const id of ids) {
        const r = await fetch(`${g.url}/interactions/${id}`, { headers: { 'x-goog-api-key': 'bench' } });
        const it = await r.json();
        const block = it.steps.at(-1).content.find((c) => c.type === 'video');
        uris.push(block.uri);
    }
    return uris;
}

function geminiEnv(g, media, extra = {}) {
    const env = { PATH: process.env.PATH, HOME: tmp, LANG: 'C.UTF-8', LOG_LEVEL: 'INFO', GEMINI_API_KEY: 'bench', GEMINI_BASE_URL: g.url, SANZARU_MEDIA_PATH: media, ...extra };
    // Variations to try by hand (BENCH_GEMINI_N=32 SANZARU_FSYNC=0 ...); the published run sets none.
    for (const k of ['SANZARU_FSYNC', 'SANZARU_OPENAI_MAX_CONCURRENCY', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_ARENA_MAX']) if (process.env[k]) env[k] = process.env[k];
    return env;
}

/** curl fetching the same URIs through the same redirect: the key as ?key= (Google accepts
 *  it; curl -L would carry a header key to the storage origin, which refuses it). */
async function curlUris(g, uris, dir, how) {
    fs.mkdirSync(dir, { recursive: true });
    const files = uris.map((_, i) => path.join(dir, `g${i}.mp4`));
    const urls = uris.map((u) => `${u}&key=bench`);
    let r;
    if (how === 'parallel') {
        const cfg = path.join(dir, 'curl.cfg');
        fs.writeFileSync(cfg, urls.map((u, i) => `url = "${u}"\noutput = "${files[i]}"\n`).join(''));
        r = await run('curl', ['--parallel', '--parallel-immediate', '--parallel-max', String(urls.length), '-sS', '--fail', '-L', '-K', cfg]);
    } else {
        const input = urls.map((u, i) => `${files[i]} ${u}`).join('\n') + '\n';
        r = await run('xargs', ['-P', String(urls.length), '-n', '2', 'curl', '-sS', '--fail', '-L', '-o'], { input });
    }
    if (r.code !== 0) throw new Error(`curl (${how}, gemini) failed: ${r.stderr.slice(-500)}`);
    const hashes = await sha256Files(files);
    let ok = 0;
    for (const f of files) {
        if (hashes.get(f) === g.video_sha256 && fs.statSync(f).size === g.video_bytes) ok++;
        fs.unlinkSync(f);
    }
    return { ms: r.ms, ok };
}

async function row2Gemini(curlStartMs, xargsStartMs) {
    const n = Number(process.env.BENCH_GEMINI_N || (QUICK ? 8 : 32));
    const g = await startGeminiFake();
    try {
        log(`row 2: Gemini, ${n} downloads of URI output and ${n} of inline output`);
        const uriIds = await geminiInteractions(g, n, 'uri');
        const inlineIds = await geminiInteractions(g, n, 'inline');
        const uris = await geminiUris(g, uriIds);
        const media = mkMedia('r2g');
        const dir = path.join(tmp, 'r2g-curl');
        const call = (name, id) => ({
            tool: 'download_video',
            args: { video_id: id, filename: `${name}.mp4` },
            verify: { path: path.join(media, 'videos', `${name}.mp4`), sha256: g.video_sha256, size: g.video_bytes, result_sha256_key: 'sha256', delete: true },
        });
        const raw = { curl_parallel: [], curl_procs: [], uri: [], inline: [], inline_idle_ping: [] };
        for (let r = 0; r < RUNS; r++) {
            const cp = await curlUris(g, uris, dir, 'parallel');
            raw.curl_parallel.push({ wall_ms: cp.ms - curlStartMs, ok: cp.ok });
            const cx = await curlUris(g, uris, dir, 'procs');
            raw.curl_procs.push({ wall_ms: cx.ms - xargsStartMs, ok: cx.ok });
            let out = await batch('row2-gemini-uri', { phases: [{ name: 'uri', mode: 'concurrent', calls: uriIds.map((id, i) => call(`gu${r}_${i}`, id)) }] }, geminiEnv(g, media));
            let ph = out.phases[0];
            raw.uri.push({ wall_ms: ph.wall_ms, hwm_kb: ph.hwm_kb, anon_kb: ph.peak_anon_kb, ok: ph.verified });
            out = await batch('row2-gemini-inline', {
                phases: [
                    { name: 'idle', mode: 'concurrent', calls: [], ping_interval_ms: 2, ping_count: QUICK ? 100 : 300 },
                    { name: 'inline', mode: 'concurrent', calls: inlineIds.map((id, i) => call(`gi${r}_${i}`, id)), ping_interval_ms: 2 },
                ],
            }, geminiEnv(g, media));
            ph = out.phases[1];
            raw.inline.push({ wall_ms: ph.wall_ms, hwm_kb: ph.hwm_kb, anon_kb: ph.peak_anon_kb, ok: ph.verified, ping_ms: ph.ping_ms });
            raw.inline_idle_ping.push(out.phases[0].ping_ms);
            log(`row 2: Gemini run ${r + 1}/${RUNS} done`);
        }
        const s = (k, f) => summary(raw[k].map(f));
        const curlPar = s('curl_parallel', (x) => x.wall_ms);
        const curlProcs = s('curl_procs', (x) => x.wall_ms);
        const best = curlPar.median <= curlProcs.median ? 'curl_parallel' : 'curl_procs';
        const pings = raw.inline.map((x) => x.ping_ms).flat();
        const idlePings = raw.inline_idle_ping.flat();
        return {
            n,
            video_bytes: g.video_bytes,
            curl_parallel_ms: curlPar,
            curl_procs_ms: curlProcs,
            curl_best: best,
            curl_ok: Math.min(...raw.curl_parallel.map((x) => x.ok), ...raw.curl_procs.map((x) => x.ok)),
            uri: {
                wall_ms: s('uri', (x) => x.wall_ms),
                hwm_kb: s('uri', (x) => x.hwm_kb),
                anon_kb: s('uri', (x) => x.anon_kb),
                sha_ok_min: Math.min(...raw.uri.map((x) => x.ok)),
                ratio_vs_curl: s('uri', (x) => x.wall_ms).median / (best === 'curl_parallel' ? curlPar : curlProcs).median,
            },
            inline: {
                wall_ms: s('inline', (x) => x.wall_ms),
                hwm_kb: s('inline', (x) => x.hwm_kb),
                anon_kb: s('inline', (x) => x.anon_kb),
                sha_ok_min: Math.min(...raw.inline.map((x) => x.ok)),
                ping_samples: pings.length,
                ping_p50_ms: pct(pings, 50),
                ping_p99_ms: pct(pings, 99),
                ping_max_ms: Math.max(...pings),
                per_run_ping_p99_ms: summary(raw.inline.map((x) => pct(x.ping_ms, 99))),
                idle_ping_p99_ms: pct(idlePings, 99),
            },
            raw: { ...raw, inline: raw.inline.map(({ ping_ms, ...x }) => x), inline_idle_ping: undefined },
        };
    } finally {
        await stopChild(g.child);
    }
}

async function row2(fake) {
    log('row 2: concurrent download_video vs curl');
    const sizes = QUICK ? [8, 32] : [32, 256];
    const ids = await createVideos(fake, Math.max(...sizes));
    const media = mkMedia('r2');
    const curlDir = path.join(tmp, 'r2-curl');
    // curl's own process start, subtracted from its wall times (the server's are timed
    // from the first request, after start-up).
    const curlStart = [];
    for (let i = 0; i < 5; i++) curlStart.push((await run('curl', ['--version'])).ms);
    const curlStartMs = median(curlStart);
    const xargsStart = [];
    for (let i = 0; i < 5; i++) xargsStart.push((await run('xargs', ['-P', '1', '-n', '1', 'true'], { input: 'x\n' })).ms);
    const xargsStartMs = median(xargsStart);
    const bw = await diskBandwidth(256 << 20);
    const raw = {};
    for (const n of sizes) raw[n] = { curl_parallel: [], curl_procs: [], fsync_on: [], fsync_off: [] };
    for (let r = 0; r < RUNS; r++) {
        for (const n of sizes) {
            const sel = ids.slice(0, n);
            // Both ways of running curl in the first two runs; later runs keep only the
            // faster one when the other was at least 1.25x slower in both (to save time
            // at 256 x 7.7 MB; the runs each way are counted in the results).
            const slow = (a, b) => raw[n][a].length >= 2 && raw[n][a].every((x, i) => x.wall_ms >= 1.25 * raw[n][b][i].wall_ms);
            if (!slow('curl_parallel', 'curl_procs')) {
                const cp = await curlBatch(fake, sel, curlDir, 'parallel');
                raw[n].curl_parallel.push({ wall_ms: cp.ms - curlStartMs, ok: cp.ok });
            }
            if (!slow('curl_procs', 'curl_parallel')) {
                const cx = await curlBatch(fake, sel, curlDir, 'procs');
                raw[n].curl_procs.push({ wall_ms: cx.ms - xargsStartMs, ok: cx.ok });
            }
            for (const [key, fsync] of [['fsync_on', '1'], ['fsync_off', '0']]) {
                const calls = sel.map((id, i) => videoCall(media, fake, `s${n}_${r}_${i}`, id));
                const out = await batch(`row2-${n}-${key}`, { phases: [{ name: `${n}`, mode: 'concurrent', calls }] }, serverEnv(fake, media, { SANZARU_FSYNC: fsync }));
                const ph = out.phases[0];
                raw[n][key].push({ wall_ms: ph.wall_ms, hwm_kb: ph.hwm_kb, anon_kb: ph.peak_anon_kb, ok: ph.verified, lat_ms_max: Math.max(...ph.lat_ms) });
            }
            log(`row 2: run ${r + 1}/${RUNS}, ${n} downloads done`);
        }
    }
    const res = { video_bytes: fake.video_bytes, disk_fdatasync_bytes_per_s: bw, curl_start_ms: curlStartMs, xargs_start_ms: xargsStartMs, sizes: {} };
    res.gemini = await row2Gemini(curlStartMs, xargsStartMs);
    for (const n of sizes) {
        const s = (k, f) => summary(raw[n][k].map(f));
        const curlPar = s('curl_parallel', (x) => x.wall_ms);
        const curlProcs = s('curl_procs', (x) => x.wall_ms);
        const best = curlPar.median <= curlProcs.median ? 'curl_parallel' : 'curl_procs';
        res.sizes[n] = {
            n,
            curl_parallel_ms: curlPar,
            curl_procs_ms: curlProcs,
            curl_best: best,
            curl_ok: Math.min(...raw[n].curl_parallel.map((x) => x.ok), ...raw[n].curl_procs.map((x) => x.ok)),
            disk_floor_ms: ((n * fake.video_bytes) / bw) * 1000,
            raw: raw[n],
        };
        for (const k of ['fsync_on', 'fsync_off'])
            res.sizes[n][k] = {
                wall_ms: s(k, (x) => x.wall_ms),
                mb_s: s(k, (x) => (n * fake.video_bytes) / 1e6 / (x.wall_ms / 1000)),
                hwm_kb: s(k, (x) => x.hwm_kb),
                anon_kb: s(k, (x) => x.anon_kb),
                sha_ok_min: Math.min(...raw[n][k].map((x) => x.ok)),
                ratio_vs_curl: s(k, (x, ) => x.wall_ms).median / res.sizes[n][best === 'curl_parallel' ? 'curl_parallel_ms' : 'curl_procs_ms'].median,
            };
    }
    return res;
}

// ---- row 3: tool-call latency and throughput -----------------------------------------------

async function startHttpServer(env) {
    const port = await freePort();
    const errLog = fs.openSync(path.join(logs, `${String(++logSeq).padStart(3, '0')}-http.log`), 'a');
    const child = spawn(BIN, ['--transport', 'http', '--port', String(port)], { env, stdio: ['ignore', 'ignore', errLog] });
    children.add(child);
    child.on('exit', () => children.delete(child));
    await waitPort(port);
    fs.closeSync(errLog);
    return { child, url: `http://127.0.0.1:${port}/mcp` };
}

function latencyFigures(outs) {
    const p50 = outs.map((o) => pct(o.lat_us, 50));
    const p99 = outs.map((o) => pct(o.lat_us, 99));
    return {
        p50_us: summary(p50),
        p99_us: summary(p99),
        seq_calls_s: summary(outs.map((o) => o.seq_calls_per_s)),
        tput_calls_s: outs[0].tput_calls_per_s !== undefined ? summary(outs.map((o) => o.tput_calls_per_s)) : null,
        window: outs[0].window,
        n: outs[0].n,
        errors: sum(outs.map((o) => o.errors || 0)),
    };
}

async function row3(fake) {
    log('row 3: tool-call latency and throughput');
    const mediaList = mkMedia('r3', { listing: 20 });
    const [vid] = await createVideos(fake, 1);
    const env = serverEnv(fake, mediaList);
    const local = QUICK ? ['--n', '500', '--warmup', '50', '--tput-n', '1000'] : ['--n', '2000', '--warmup', '200', '--tput-n', '4000'];
    const remote = QUICK ? ['--n', '200', '--warmup', '20', '--tput-n', '400'] : ['--n', '600', '--warmup', '60', '--tput-n', '1500'];
    const cases = {
        stdio_ping: ['--tool', '@ping', ...local, '--window', '32'],
        stdio_local: ['--tool', 'list_reference_images', '--args', '{}', ...local, '--window', '32'],
        stdio_remote: ['--tool', 'get_video_status', '--args', JSON.stringify({ video_id: vid }), ...remote, '--window', '16'],
        http_ping: ['--tool', '@ping', ...local, '--window', '8'],
        http_local: ['--tool', 'list_reference_images', '--args', '{}', ...local, '--window', '8'],
        http_remote: ['--tool', 'get_video_status', '--args', JSON.stringify({ video_id: vid }), ...remote, '--window', '8'],
    };
    const raw = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    raw.upstream_get = [];
    for (let r = 0; r < RUNS; r++) {
        for (const [k, args] of Object.entries(cases)) {
            if (k.startsWith('stdio')) {
                raw[k].push(await drive('latency', ['--server', BIN, ...args], env));
            } else {
                const srv = await startHttpServer(env);
                try {
                    raw[k].push(await drive('latency', ['--url', srv.url, ...args], env));
                } finally {
                    await stopChild(srv.child);
                }
            }
        }
        raw.upstream_get.push(await drive('rawget', ['--url', `${fake.url}/videos/${vid}`, ...remote.slice(0, 4)], env));
        log(`row 3: run ${r + 1}/${RUNS} done`);
    }
    const res = {};
    for (const [k, outs] of Object.entries(raw)) res[k] = latencyFigures(outs);
    return res;
}

// ---- row 4: a free loop ---------------------------------------------------------------------

async function row4(fake) {
    log('row 4: ping under load');
    const media = mkMedia('r4', { ref: true });
    const ids = await createVideos(fake, 32);
    const nPrep = QUICK ? 4 : 10;
    const nDl = QUICK ? 8 : 32;
    const idle = [];
    const load = [];
    const walls = [];
    for (let r = 0; r < RUNS; r++) {
        const calls = [
            ...Array.from({ length: nPrep }, (_, i) => prepCall(media, `l${r}_p${i}`)),
            ...ids.slice(0, nDl).map((id, i) => videoCall(media, fake, `l${r}_d${i}`, id)),
        ];
        const out = await batch('row4', {
            warmup: [prepCall(media, `warm${r}`), videoCall(media, fake, `warm${r}`, ids[0])],
            phases: [
                { name: 'idle', mode: 'concurrent', calls: [], ping_interval_ms: 2, ping_count: QUICK ? 200 : 500 },
                { name: 'load', mode: 'concurrent', calls, ping_interval_ms: 2 },
            ],
        }, serverEnv(fake, media));
        idle.push(out.phases[0].ping_ms);
        load.push(out.phases[1].ping_ms);
        walls.push(out.phases[1].wall_ms);
        fs.rmSync(path.join(media, 'images', `warm${r}.png`), { force: true });
        fs.rmSync(path.join(media, 'videos', `warm${r}.mp4`), { force: true });
    }
    const fig = (runs) => {
        const all = runs.flat();
        return {
            samples: all.length,
            p50_ms: pct(all, 50),
            p99_ms: pct(all, 99),
            max_ms: Math.max(...all),
            per_run_p99_ms: summary(runs.map((a) => pct(a, 99))),
            per_run_p50_ms: summary(runs.map((a) => pct(a, 50))),
            per_run_max_ms: summary(runs.map((a) => Math.max(...a))),
        };
    };
    return { load_calls: `${nPrep} × prepare_reference_image + ${nDl} × download_video`, ping_interval_ms: 2, idle: fig(idle), load: fig(load), load_wall_ms: summary(walls) };
}

// ---- row 5: start and size ------------------------------------------------------------------

async function row5(fake) {
    log('row 5: start-up and memory');
    const media = mkMedia('r5', { listing: 20 });
    const [vid] = await createVideos(fake, 1);
    const env = serverEnv(fake, media);
    const sp = await drive('spawn', ['--server', BIN, '--runs', '20'], env);
    const rssLocal = [];
    const rssRemote = [];
    const calls = QUICK ? '200' : '1000';
    const calls2 = QUICK ? '400' : '2000';
    for (let r = 0; r < RUNS; r++) {
        rssLocal.push(await drive('rss', ['--server', BIN, '--tool', 'list_reference_images', '--args', '{}', '--calls', calls, '--calls2', calls2], env));
        rssRemote.push(await drive('rss', ['--server', BIN, '--tool', 'get_video_status', '--args', JSON.stringify({ video_id: vid }), '--calls', calls, '--calls2', calls2], env));
    }
    const stripped = path.join(tmp, 'sanzaru.stripped');
    const st = await run('strip', ['-o', stripped, BIN]);
    const sizeOut = await run('size', [BIN]);
    const ldd = await run('ldd', [BIN]);
    const rssFig = (outs) => ({
        idle_kb: summary(outs.map((o) => o.idle_kb)),
        idle_anon_kb: summary(outs.map((o) => o.idle_anon_kb)),
        idle_file_kb: summary(outs.map((o) => o.idle_file_kb)),
        after_n_kb: summary(outs.map((o) => o.after_n_kb)),
        after_more_kb: summary(outs.map((o) => o.after_more_kb)),
        growth_kb: summary(outs.map((o) => o.after_more_kb - o.after_n_kb)),
        growth_anon_kb: summary(outs.map((o) => o.after_more_anon_kb - o.after_n_anon_kb)),
        n: outs[0].n,
        more: outs[0].more,
    });
    return {
        spawn_to_init_ms: { ...summary(sp.spawn_to_init_ms), p5: pct(sp.spawn_to_init_ms, 5), p95: pct(sp.spawn_to_init_ms, 95) },
        version_exit_ms: { ...summary(sp.version_exit_ms), p5: pct(sp.version_exit_ms, 5), p95: pct(sp.version_exit_ms, 95) },
        version_maxrss_kb: sp.version_maxrss_kb,
        rss_local: rssFig(rssLocal),
        rss_remote: rssFig(rssRemote),
        binary_bytes: fs.statSync(BIN).size,
        stripped_bytes: st.code === 0 ? fs.statSync(stripped).size : null,
        size_text: sizeOut.stdout.trim(),
        shared_libraries: ldd.stdout.split('\n').filter((l) => l.includes('=>')).length,
    };
}

// ---- row 6: against Pillow --------------------------------------------------------------------

async function row6(fake) {
    log('row 6: prepare_reference_image vs Pillow');
    const media = mkMedia('r6', { ref: true });
    const modes = ['crop', 'pad', 'rescale'];
    const nConc = QUICK ? 4 : 10;
    const phases = [];
    for (const m of modes) phases.push({ name: `single/${m}`, mode: 'sequential', calls: Array.from({ length: RUNS }, (_, i) => prepCall(media, `s_${m}_${i}`, m)) });
    for (let r = 0; r < RUNS; r++) phases.push({ name: `conc/${r}`, mode: 'concurrent', calls: Array.from({ length: nConc }, (_, i) => prepCall(media, `c${r}_${i}`)) });
    const out = await batch('row6', { warmup: modes.map((m) => ({ ...prepCall(media, `warm_${m}`, m), verify: undefined })), phases }, serverEnv(fake, media));
    const ours = { single: {}, conc: null };
    for (const m of modes) {
        const ph = out.phases.find((p) => p.name === `single/${m}`);
        ours.single[m] = { ms: summary(ph.lat_ms), hwm_kb: ph.hwm_kb, anon_kb: ph.peak_anon_kb, file_bytes: ph.file_bytes[0] };
    }
    const conc = out.phases.filter((p) => p.name.startsWith('conc/'));
    ours.conc = { n: nConc, wall_ms: summary(conc.map((p) => p.wall_ms)), hwm_kb: summary(conc.map((p) => p.hwm_kb)), anon_kb: summary(conc.map((p) => p.peak_anon_kb)) };

    log('row 6: Pillow');
    const outDir = path.join(tmp, 'r6-pil');
    fs.mkdirSync(outDir);
    const pil = { single: {}, conc: null };
    for (const m of modes) {
        const o = await runJson(PYTHON, [PIL_SCRIPT, 'single', refImage, outDir, m, String(RUNS)]);
        pil.single[m] = { ms: summary(o.ms), hwm_kb: o.hwm_kb, file_bytes: o.file_bytes };
    }
    const pc = [];
    for (let r = 0; r < RUNS; r++) pc.push(await runJson(PYTHON, [PIL_SCRIPT, 'concurrent', refImage, outDir, 'crop', String(nConc)]));
    pil.conc = { n: nConc, wall_ms: summary(pc.map((o) => o.wall_ms)), hwm_kb: summary(pc.map((o) => o.hwm_kb)) };
    return { input: refInfo, target: REF_SIZE_TEXT, image_jobs: os.cpus().length, ours, pillow: pil };
}

// ---- row 7: convert_audio against the ffmpeg command line and pydub ---------------------------

/** A 16-bit PCM WAV of seconds at rate, stereo: a voice-like buzz gliding 100-220 Hz in
 *  4 Hz syllables on the left, the same a fifth up on the right (deterministic). */
function writeSpeechWav(file, seconds, rate) {
    const frames = Math.round(seconds * rate);
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + frames * 4, 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(2, 22);
    h.writeUInt32LE(rate, 24);
    h.writeUInt32LE(rate * 4, 28);
    h.writeUInt16LE(4, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(frames * 4, 40);
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, h);
    const slice = 1 << 16;
    const buf = Buffer.alloc(slice * 4);
    for (let i = 0; i < frames; i += slice) {
        const n = Math.min(slice, frames - i);
        for (let j = 0; j < n; j++) {
            const t = (i + j) / rate;
            const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
            const ph = 2 * Math.PI * (160 * t - (60 / (2 * Math.PI * 0.7)) * Math.cos(2 * Math.PI * 0.7 * t));
            let l = 0;
            let r = 0;
            for (let k = 1; k <= 6; k++) {
                l += Math.sin(k * ph) / k;
                r += Math.sin(1.5 * k * ph) / k;
            }
            buf.writeInt16LE(Math.round(0.25 * env * env * l * 32767), j * 4);
            buf.writeInt16LE(Math.round(0.25 * env * env * r * 32767), j * 4 + 2);
        }
        fs.writeSync(fd, buf, 0, n * 4);
    }
    fs.closeSync(fd);
    return fs.statSync(file).size;
}

async function row7(fake) {
    log('row 7: convert_audio vs the ffmpeg command line and pydub');
    const seconds = QUICK ? 60 : 600;
    const nConc = QUICK ? 4 : 10;
    const media = mkMedia('r7');
    const audio = path.join(media, 'audio');
    fs.mkdirSync(audio);
    const input = path.join(audio, 'in.wav');
    const bytes = writeSpeechWav(input, seconds, 44100);
    // Ten inputs for ten conversions at once: hard links to the one file (no copies).
    for (let i = 0; i < nConc; i++) fs.linkSync(input, path.join(audio, `in${i}.wav`));
    writeSpeechWav(path.join(audio, 'warm.wav'), 1, 44100);
    const conv = (name, out) => ({
        tool: 'convert_audio',
        args: { input_path: name, output_format: 'mp3' },
        verify: { path: path.join(audio, out), delete: true },
    });
    const phases = [];
    for (let r = 0; r < RUNS; r++) phases.push({ name: `single/${r}`, mode: 'sequential', calls: [conv('in.wav', 'in.mp3')] });
    for (let r = 0; r < RUNS; r++)
        phases.push({ name: `conc/${r}`, mode: 'concurrent', calls: Array.from({ length: nConc }, (_, i) => conv(`in${i}.wav`, `in${i}.mp3`)), ping_interval_ms: 2 });
    // The warm-up call loads libav (once per process, on the pool): its pages are in
    // the peak of every phase, as they would be in a server that has converted before.
    const out = await batch('row7', { warmup: [conv('warm.wav', 'warm.mp3')], phases }, serverEnv(fake, media));
    fs.rmSync(path.join(audio, 'warm.mp3'), { force: true });
    const single = out.phases.filter((p) => p.name.startsWith('single/'));
    const conc = out.phases.filter((p) => p.name.startsWith('conc/'));
    const ours = {
        single_ms: summary(single.map((p) => p.wall_ms)),
        single_hwm_kb: summary(single.map((p) => p.hwm_kb)),
        single_anon_kb: summary(single.map((p) => p.peak_anon_kb)),
        single_cpu_s: summary(single.map((p) => p.cpu_s)),
        out_bytes: single[0].file_bytes[0],
        conc: {
            n: nConc,
            wall_ms: summary(conc.map((p) => p.wall_ms)),
            hwm_kb: summary(conc.map((p) => p.hwm_kb)),
            anon_kb: summary(conc.map((p) => p.peak_anon_kb)),
            cpu_s: summary(conc.map((p) => p.cpu_s)),
            ping_p50_ms: pct(conc.flatMap((p) => p.ping_ms), 50),
            ping_p99_ms: pct(conc.flatMap((p) => p.ping_ms), 99),
            ping_max_ms: conc.flatMap((p) => p.ping_ms).reduce((a, b) => Math.max(a, b), 0), // tens of thousands: no spread
            per_run_ping_p99_ms: summary(conc.map((p) => pct(p.ping_ms, 99))),
            pings: conc.reduce((n, p) => n + p.ping_ms.length, 0),
        },
        audio_jobs: os.cpus().length,
    };

    log('row 7: the ffmpeg command line, then pydub');
    const outFile = path.join(tmp, 'r7-baseline.mp3');
    const ff = [];
    const pd = [];
    for (let r = 0; r < RUNS; r++) {
        ff.push(await runJson(PYTHON, [PYDUB_SCRIPT, 'ffmpeg', input, outFile]));
        pd.push(await runJson(PYTHON, [PYDUB_SCRIPT, 'pydub', input, outFile]));
    }
    fs.rmSync(outFile, { force: true });
    const ffv = await run('ffmpeg', ['-version']);
    const pdv = await run('dpkg-query', ['-W', '-f=${Version}', 'python3-pydub']);
    return {
        pydub_version: pdv.code === 0 ? pdv.stdout.trim() : null,
        input: { seconds, rate: 44100, channels: 2, bytes },
        ours,
        ffmpeg: {
            version: ffv.stdout.split('\n')[0],
            ms: summary(ff.map((o) => o.ms)),
            maxrss_kb: summary(ff.map((o) => o.maxrss_kb)),
            cpu_s: summary(ff.map((o) => o.cpu_s)),
            out_bytes: ff[0].out_bytes,
        },
        pydub: {
            ms: summary(pd.map((o) => o.ms)),
            python_hwm_kb: summary(pd.map((o) => o.python_hwm_kb)),
            ffmpeg_maxrss_kb: summary(pd.map((o) => o.ffmpeg_maxrss_kb)),
            cpu_s: summary(pd.map((o) => o.cpu_s)),
            out_bytes: pd[0].out_bytes,
        },
    };
}

// ---- main --------------------------------------------------------------------------------

/** CPU time in clock ticks (USER_HZ = 100): the whole machine's busy time, and this
 *  benchmark's (itself, its finished children, and the fakes still running). */
function cpuSnapshot(fakes) {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    const stat = (pid) => {
        try {
            const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const v = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
            return v; // v[11] utime, v[12] stime, v[13] cutime, v[14] cstime (fields 14-17)
        } catch {
            return null;
        }
    };
    const me = stat('self');
    let ours = me[11] + me[12] + me[13] + me[14];
    for (const fk of fakes) {
        const v = fk && stat(fk.child.pid);
        if (v) ours += v[11] + v[12];
    }
    return { busy: user + nice + system + irq + softirq + steal, ours };
}

let refImage;
let refInfo;

async function main() {
    for (const f of [BIN, DRIVER]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run scripts/bench (make bench)`);
    const load0 = os.loadavg();
    log(`tmp ${tmp}; runs ${RUNS}; rows ${ROWS.join(',')}; load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
    const machine = await machineInfo();

    refImage = path.join(tmp, 'ref2048.png');
    const mk = await runJson(PYTHON, [PIL_SCRIPT, 'make-input', refImage]);
    refInfo = { width: 2048, height: 2048, bytes: mk.bytes, sha256: await sha256File(refImage), made_by: 'bench/pillow_prepare.py make-input' };

    // Two upstreams: a 7,691,516-byte video (rows 2-5), and for row 1 a 100 KiB video (the
    // seed's file writes) with a 2048x2048 PNG (~1 MB, the seed's base64 decodes).
    const fakeLarge = await startFake([]);
    const fakeSmall = await startFake(['--video-bytes', String(100 * 1024), '--image-width', '2048', '--image-height', '2048']);

    const rows = {};
    const t = {};
    const rowFns = { 1: () => row1(fakeSmall), 2: () => row2(fakeLarge), 3: () => row3(fakeLarge), 4: () => row4(fakeLarge), 5: () => row5(fakeLarge), 6: () => row6(fakeLarge), 7: () => row7(fakeLarge) };
    const fakes = [fakeLarge, fakeSmall];
    for (const k of ROWS) {
        const t0 = Date.now();
        const l = os.loadavg()[0];
        const c0 = cpuSnapshot(fakes);
        rows[k] = await rowFns[k]();
        const c1 = cpuSnapshot(fakes);
        const seconds = (Date.now() - t0) / 1000;
        // CPU that processes outside this benchmark used during the row, in cores
        // (includes kernel threads such as writeback: an upper bound on interference).
        const others = (c1.busy - c0.busy - (c1.ours - c0.ours)) / 100 / seconds;
        t[k] = { seconds, load_before: l, others_cores: Math.max(0, others), ours_cores: (c1.ours - c0.ours) / 100 / seconds };
    }
    const load1 = os.loadavg();
    const results = {
        date: started.toISOString(),
        quick: QUICK,
        runs: RUNS,
        rows_run: ROWS,
        machine,
        build: argv['build-info'],
        binary: path.relative(ROOT, BIN),
        load_average_start: load0,
        load_average_end: load1,
        row_timing: t,
        total_seconds: (Date.now() - started) / 1000,
        problems,
        rows,
    };
    for (const k of ROWS) results.row_timing[k] = { ...results.row_timing[k], date: results.date, build: results.build };
    const day = started.toISOString().slice(0, 10);
    const resultsDir = path.join(ROOT, 'bench/results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const jsonPath = path.join(resultsDir, QUICK ? 'tmp/quick.json' : `${day}.json`);
    fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
    // A run of some rows (BENCH_ROWS) replaces those rows in the day's results and keeps
    // the others, each with the date and build it was measured with.
    if (!QUICK && fs.existsSync(jsonPath)) {
        const old = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
        for (const [k, v] of Object.entries(old.rows || {})) {
            if (ROWS.includes(Number(k))) continue;
            results.rows[k] = v;
            results.row_timing[k] = { date: old.date, build: old.build, ...(old.row_timing || {})[k] };
            for (const p of old.problems || []) if (p.startsWith(`row${k}`)) results.problems.push(p);
        }
    }
    fs.writeFileSync(jsonPath, JSON.stringify(results, null, 1) + '\n');
    log(`wrote ${path.relative(ROOT, jsonPath)}`);
    if (!QUICK || process.env.BENCH_WRITE_DOC === '1') {
        const doc = path.join(ROOT, 'docs/benchmarks.md');
        writeReport(doc, results, path.relative(ROOT, jsonPath));
        log(`wrote ${path.relative(ROOT, doc)}`);
    }
    log(`done in ${results.total_seconds.toFixed(0)} s; load average ${load0[0].toFixed(2)} at start, ${load1[0].toFixed(2)} at end`);
}

if (argv.report) {
    // `node bench/run.mjs --report bench/results/<date>.json`: the page again, from saved figures.
    fs.rmSync(tmp, { recursive: true, force: true });
    const rel = path.relative(ROOT, path.resolve(argv.report));
    writeReport(path.join(ROOT, 'docs/benchmarks.md'), JSON.parse(fs.readFileSync(argv.report, 'utf8')), rel);
    console.error(`bench: wrote docs/benchmarks.md from ${rel}`);
    process.exit(0);
}
process.on('SIGINT', () => {
    cleanup().finally(() => process.exit(130));
});
try {
    await main();
} catch (e) {
    console.error(`bench: ${e.stack || e.message}`);
    process.exitCode = 1;
} finally {
    if (process.env.BENCH_KEEP_TMP !== '1') await cleanup();
    else {
        for (const c of [...children]) await stopChild(c);
        log(`kept ${tmp}`);
    }
}
