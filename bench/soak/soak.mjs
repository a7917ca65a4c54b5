#!/usr/bin/env node
// make soak: sanzaru held under load and faults for a few minutes (docs/reliability.md).
//
//   node bench/soak/soak.mjs --bin build/sanzaru --driver build/bench/mcpdrive [--quick]
//
// Phases, each against the real binary and tests/fake-openai as the upstream:
//   stdio     100,000 list_reference_images calls over stdio (mcpdrive rss): RSS after
//             10,000 (warm-up) and after 90,000 more
//   http      20,000 calls over Streamable HTTP (mcpdrive latency): RSS after 2,000 and
//             after 18,000 more
//   downloads 256 download_video calls, 32 at a time, 10 % of the bodies cut mid-way
//             (the fake's truncate fault): every cut one must be a tool error, every other
//             file whole (sha256), and nothing but those files in the directory
//   kill      download_video stalled mid-body, the server killed with SIGKILL, restarted
//             on the same directory: no file under the final name, then a download works
//   slowloris 1,000 sockets sending a header byte every 5 s for 60 s, then a normal
//             client: served within a second
// Passes (exit 0) when every check holds; prints one JSON object with every figure.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect, tempMedia } from '../../tests/e2e/lib.mjs';
import { startFakeOpenAI } from '../../tests/fake-openai/server.mjs';

const { values: opt } = parseArgs({
    options: {
        bin: { type: 'string', default: 'build/sanzaru' },
        driver: { type: 'string', default: 'build/bench/mcpdrive' },
        quick: { type: 'boolean', default: false },
    },
});
const Q = opt.quick;
const N = {
    stdioWarm: Q ? 1000 : 10000,
    stdioMore: Q ? 4000 : 90000,
    httpWarm: Q ? 500 : 2000,
    httpMore: Q ? 2000 : 18000,
    downloads: Q ? 40 : 256,
    slowSockets: Q ? 100 : 1000,
    slowSeconds: Q ? 6 : 60,
};
const RSS_GROWTH_KB = 1024;
const figures = { started: new Date().toISOString(), quick: Q };
const failures = [];
const check = (ok, what) => {
    if (!ok) failures.push(what);
    console.error(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const statusKb = (pid, field) => {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : -1;
};
const driver = (args, env) =>
    JSON.parse(execFileSync(path.resolve(opt.driver), args, { env: { ...process.env, ...env }, maxBuffer: 1 << 26 }).toString());

async function stdioPhase(media) {
    const env = { SANZARU_MEDIA_PATH: media, LOG_LEVEL: 'WARNING' };
    const t0 = Date.now();
    const r = driver(['rss', '--server', path.resolve(opt.bin), '--tool', 'list_reference_images', '--args', '{}',
        '--calls', String(N.stdioWarm), '--calls2', String(N.stdioMore)], env);
    const grew = r.after_more_kb - r.after_n_kb;
    figures.stdio = { calls: N.stdioWarm + N.stdioMore, seconds: (Date.now() - t0) / 1000, rss_after_warmup_kb: r.after_n_kb,
        rss_end_kb: r.after_more_kb, growth_kb: grew };
    check(grew <= RSS_GROWTH_KB, `stdio: RSS grew ${grew} KiB over ${N.stdioMore} calls after warm-up (limit ${RSS_GROWTH_KB})`);
}

function startHttp(media, extraEnv = {}) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(path.resolve(opt.bin), ['--transport', 'http', '--host', '127.0.0.1', '--port', String(port),
        '--allow-unauthenticated'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, SANZARU_MEDIA_PATH: media,
        LOG_LEVEL: 'ERROR', ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    return { child, port, url: `http://127.0.0.1:${port}/mcp`, stderr: () => stderr };
}

async function waitPort(port) {
    for (let i = 0; i < 100; i++) {
        const okConn = await new Promise((res) => {
            const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
            s.on('error', () => res(false));
        });
        if (okConn) return;
        await sleep(50);
    }
    throw new Error(`nothing listens on ${port}`);
}

async function httpPhase(media) {
    const s = startHttp(media);
    await waitPort(s.port);
    const t0 = Date.now();
    const lat = (n) => driver(['latency', '--url', s.url, '--tool', 'list_reference_images', '--args', '{}',
        '--n', String(n), '--warmup', '0']);
    lat(N.httpWarm);
    const warm = statusKb(s.child.pid, 'VmRSS');
    lat(N.httpMore);
    const end = statusKb(s.child.pid, 'VmRSS');
    figures.http = { calls: N.httpWarm + N.httpMore, seconds: (Date.now() - t0) / 1000, rss_after_warmup_kb: warm, rss_end_kb: end,
        growth_kb: end - warm };
    check(s.child.exitCode === null, 'http: the server is alive after every call');
    check(end - warm <= RSS_GROWTH_KB, `http: RSS grew ${end - warm} KiB over ${N.httpMore} calls after warm-up (limit ${RSS_GROWTH_KB})`);
    s.child.kill('SIGTERM');
}

// The names a finished download may leave: the published files, nothing else.
const listing = (dir) => fs.readdirSync(dir).sort();

async function downloadsPhase(fake, root) {
    const videos = path.join(root, 'videos');
    fs.mkdirSync(videos, { recursive: true });
    const cut = Math.round(N.downloads / 10);
    const ids = [];
    for (let i = 0; i < N.downloads; i++) ids.push(fake.addVideo({}).id);
    fake.faults.add({ path: 'videos/*/content', method: 'GET', truncate: true, count: cut });
    const s = await connect({ env: { SANZARU_MEDIA_PATH: root, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-soak',
        SANZARU_MAX_RETRIES: '0', LOG_LEVEL: 'ERROR' } });
    const t0 = Date.now();
    const results = [];
    let next = 0;
    const worker = async () => {
        while (next < ids.length) {
            const i = next++;
            const r = await s.client.callTool({ name: 'download_video', arguments: { video_id: ids[i], filename: `v${i}.mp4` } },
                undefined, { timeout: 120000 });
            results[i] = r;
        }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const seconds = (Date.now() - t0) / 1000;
    const pid = s.transport.pid;
    const alive = pid && fs.existsSync(`/proc/${pid}`);
    await s.close();
    const errors = results.filter((r) => r.isError).length;
    const good = results.map((r, i) => (!r.isError ? `v${i}.mp4` : null)).filter(Boolean).sort();
    let whole = 0;
    for (const name of good) {
        const buf = fs.readFileSync(path.join(videos, name));
        if (buf.length === fake.assets.video.length && execFileSync('sha256sum', [path.join(videos, name)]).toString().startsWith(fake.assets.video.sha256)) whole++;
    }
    figures.downloads = { calls: N.downloads, cut, tool_errors: errors, published: good.length, whole, seconds };
    check(alive, 'downloads: the server stayed up');
    check(errors === cut, `downloads: ${errors} tool errors for ${cut} bodies cut mid-way`);
    check(whole === good.length && good.length === N.downloads - cut, `downloads: ${whole} of ${good.length} published files whole`);
    check(JSON.stringify(listing(videos)) === JSON.stringify(good), 'downloads: no other file (partial, temporary) in the directory');
}

async function killPhase(fake, root) {
    const videos = path.join(root, 'videos');
    fs.mkdirSync(videos, { recursive: true });
    const before = listing(videos);
    const id = fake.addVideo({}).id;
    fake.faults.add({ path: `videos/${id}/content`, method: 'GET', stall_ms: 60000, stall_after_bytes: 1 << 20, count: 1 });
    const env = { SANZARU_MEDIA_PATH: root, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-soak', LOG_LEVEL: 'ERROR' };
    const s = await connect({ env });
    const pending = s.client.callTool({ name: 'download_video', arguments: { video_id: id, filename: 'killed.mp4' } }).catch(() => null);
    for (let i = 0; i < 100 && !fake.requests.some((r) => r.path.endsWith(`${id}/content`)); i++) await sleep(50);
    await sleep(500); // the first MiB is on its way to disk
    process.kill(s.transport.pid, 'SIGKILL');
    await pending;
    await s.close().catch(() => {});
    const afterKill = listing(videos).filter((n) => !before.includes(n));
    const s2 = await connect({ env });
    const r = await s2.client.callTool({ name: 'download_video', arguments: { video_id: id, filename: 'killed.mp4' } });
    await s2.close();
    figures.kill = { left_after_kill: afterKill, download_after_restart: r.isError ? 'error' : 'ok' };
    check(!afterKill.includes('killed.mp4'), 'kill -9: no file under the final name');
    check(afterKill.length === 0, `kill -9: nothing visible left behind (${afterKill.join(', ') || 'none'})`);
    check(!r.isError && fs.statSync(path.join(videos, 'killed.mp4')).size === fake.assets.video.length,
        'kill -9: after a restart the same download succeeds');
}

async function slowPhase(media) {
    const s = startHttp(media);
    await waitPort(s.port);
    const sockets = [];
    let refused = 0;
    for (let i = 0; i < N.slowSockets; i++) {
        const sock = net.connect(s.port, '127.0.0.1');
        sock.on('error', () => {});
        sock.on('close', () => refused++);
        sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        sockets.push(sock);
    }
    const drip = setInterval(() => sockets.forEach((x) => !x.destroyed && x.write('X')), 5000);
    await sleep(N.slowSeconds * 1000);
    const t0 = Date.now();
    let served = false;
    try {
        const res = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/json',
            accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize',
            params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'soak', version: '1' } } }),
            signal: AbortSignal.timeout(10000) });
        served = res.ok;
        await res.text();
    } catch {
        served = false;
    }
    const ms = Date.now() - t0;
    clearInterval(drip);
    sockets.forEach((x) => x.destroy());
    figures.slowloris = { sockets: N.slowSockets, seconds: N.slowSeconds, closed_by_server: refused, normal_client_ms: ms, served };
    check(s.child.exitCode === null, 'slow sockets: the server is alive');
    check(served && ms < 1000, `slow sockets: a normal client served in ${ms} ms (limit 1000)`);
    s.child.kill('SIGTERM');
}

const media = tempMedia();
// A media root as a user has it: the list calls walk a real (empty) directory.
fs.mkdirSync(path.join(media.dir, 'images'), { recursive: true });
fs.mkdirSync(path.join(media.dir, 'videos'), { recursive: true });
const fake = await startFakeOpenAI({});
const t0 = Date.now();
try {
    await stdioPhase(media.dir);
    await httpPhase(media.dir);
    await downloadsPhase(fake, path.join(media.dir, 'dl'));
    await killPhase(fake, path.join(media.dir, 'kill'));
    await slowPhase(media.dir);
} catch (e) {
    failures.push(`crashed: ${e.stack || e}`);
    console.error(e);
} finally {
    await fake.close();
    media.cleanup();
}
figures.seconds = (Date.now() - t0) / 1000;
figures.failures = failures;
console.log(JSON.stringify(figures, null, 1));
console.error(failures.length ? `soak: ${failures.length} check(s) failed` : 'soak: every check passed');
process.exit(failures.length ? 1 : 0);
