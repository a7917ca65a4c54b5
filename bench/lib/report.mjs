// Writes docs/benchmarks.md from one results object (bench/run.mjs), keeping the
// hand-written section between the BEGIN/END markers of the existing file.
import fs from 'node:fs';
import { num, spread, MiB } from './util.mjs';

const BEGIN = '<!-- BEGIN hand-written: bench/run.mjs keeps this section as it is -->';
const END = '<!-- END hand-written -->';
const DEFAULT_HAND = `## What the numbers mean\n\n(Write the explanation here; the runner keeps it.)\n`;

// Reference figures from issue 6, measured on this machine for other servers.
const REF = {
    node_spawn_ms: 490,
    node_idle_mib: 96,
    node_status_p50_ms: 2,
    node_status_calls_s: 400,
    node_rss32_mib: 520,
    node_rss256_mib: 2560,
    pillow_ms: 330,
    pillow_conc_mib: 400,
};

const yes = '✅ met';
const no = '❌ missed';
const mark = (ok) => (ok ? yes : no);
const ms = (sm) => spread(sm, 'ms');
const mib = (sm) => spread(sm, 'MiB', 1 / 1024);
const us = (sm) => spread(sm, 'µs');
const x = (v) => `${num(v)}×`;
// a ratio compared with a target: enough digits that the verdict is visible in the number
const xt = (v) => `${v.toFixed(v < 10 ? 3 : 1)}×`;
const kb = (b) => (b ? `${num(b / 1024)} KiB` : 'n/a');
const GROWTH_KB = 16; // "no growth": anonymous memory at most 4 pages more after the second batch, every run
const grew = (f) => f.growth_anon_kb.max > GROWTH_KB;
const rerun = (row) => `Rerun: \`BENCH_ROWS=${row} make bench\``;

function table(head, rows) {
    const line = (cells) => `| ${cells.join(' | ')} |`;
    return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function machine(r, jsonRel) {
    const m = r.machine;
    const l = m.libs;
    return [
        `Measured ${r.date.slice(0, 16).replace('T', ' ')} UTC by \`make bench\` (release build${r.build ? `, ${r.build}` : ''}), ${r.runs} runs per figure unless a row says otherwise; it took ${Math.round(r.total_seconds)} s${r.rows_run.length < Object.keys(r.rows).length ? ` for row${r.rows_run.length > 1 ? 's' : ''} ${r.rows_run.join(', ')}` : ''}. Raw figures: [${jsonRel}](../${jsonRel}).`,
        ...Object.entries(r.row_timing || {})
            .filter(([k]) => !r.rows_run.includes(Number(k)))
            .map(([k, v]) => `\nRow ${k} is from an earlier run: ${String(v.date).slice(0, 16).replace('T', ' ')} UTC, ${v.build}.`),
        '',
        table(
            ['Machine', ''],
            [
                ['CPU', `${m.cpu}, ${m.cores} cores`],
                ['Memory', `${num(m.memory_mib / 1024)} GiB`],
                ['Kernel', m.kernel],
                ['Compiler', m.compiler],
                ['Libraries', `libuv ${l.libuv}, libcurl ${l.libcurl}, jansson ${l.jansson}, libvips ${l.libvips}, libmicrohttpd ${l.libmicrohttpd}, OpenSSL ${l.openssl}`],
                ['Baselines', `Node ${m.node} (the fake upstream), Python ${m.python} with Pillow ${m.pillow}, ${m.curl.split(' ').slice(0, 2).join(' ')}`],
                ...(r.rows[2] ? [['Disk', `${num(r.rows[2].disk_fdatasync_bytes_per_s / 1e6)} MB/s sequential write ending in fdatasync (256 MiB, this run)`]] : []),
                ['Load average', `${r.load_average_start[0].toFixed(2)} at start, ${r.load_average_end[0].toFixed(2)} at end (1-minute); when each row started: ${Object.entries(r.row_timing || {}).map(([k, v]) => `row ${k} ${v.load_before.toFixed(2)}`).join(', ')}. The benchmark's own processes raise the load while it runs`],
                ...(Object.values(r.row_timing || {}).some((v) => v.others_cores !== undefined)
                    ? [['Other work during the run', `CPU used outside the benchmark's processes (including kernel threads such as disk writeback), in cores out of ${m.cores}: ${Object.entries(r.row_timing).map(([k, v]) => `row ${k} ${v.others_cores.toFixed(2)}`).join(', ')}`]]
                    : []),
            ],
        ),
    ].join('\n');
}

// ---- per row --------------------------------------------------------------------------------

function section1(r1) {
    const names = { image_prep: 'Image preparations', file_writes: 'File writes', base64: 'Base64 decodes', mixed: 'Mixed' };
    const rows = Object.entries(r1.sanzaru).map(([k, v]) => {
        const py = r1.seed_method_python[k];
        return [
            names[k],
            r1.setup[k],
            ms(v.seq_ms),
            ms(v.conc_ms),
            x(v.overlap.median),
            `**${x(v.speedup.median)}** (${num(v.speedup.min)}–${num(v.speedup.max)})`,
            `${num(v.conc_ops_s.median)} /s`,
            py ? `${x(py.overlap.median)} / ${x(py.speedup.median)}` : 'n/a',
        ];
    });
    return [
        '## 1. The seed\'s four workloads, measured two ways',
        '',
        'Each workload runs through the server over stdio, once one call at a time and once all at once, alternating, in the same server process. The seed\'s figure is its own formula, the sum of the task latencies divided by the wall time of the concurrent run: it measures overlap. The true speedup is the sequential wall time divided by the concurrent wall time: it measures throughput. The last column applies both formulas to the seed\'s own Python workloads (bench/pillow_prepare.py seed-method, asyncio.to_thread, same counts) on this machine.',
        '',
        table(['Workload', 'Calls', 'One at a time', 'All at once', 'Seed\'s "speedup" (overlap)', 'True speedup (baseline: one at a time)', 'Throughput at once', 'Python seed method: overlap / true'], rows),
        '',
        rerun(1),
    ].join('\n');
}

function row2Items(r2) {
    const out = [];
    for (const [n, s] of Object.entries(r2.sizes)) {
        const best = s[s.curl_best === 'curl_parallel' ? 'curl_parallel_ms' : 'curl_procs_ms'];
        const rssTarget = Number(n) <= 32 ? 32 : 64;
        const ref = Number(n) <= 32 ? REF.node_rss32_mib : REF.node_rss256_mib;
        for (const k of ['fsync_on', 'fsync_off']) {
            const f = s[k];
            out.push({
                n: Number(n),
                k,
                f,
                best,
                bestName: s.curl_best === 'curl_parallel' ? `curl --parallel --parallel-max ${n}` : `${n} curl processes`,
                ratio: f.ratio_vs_curl,
                rssTarget,
                ref,
                timeOk: f.ratio_vs_curl <= 1.25,
                rssOk: MiB(f.hwm_kb.max) <= rssTarget,
                shaOk: f.sha_ok_min === Number(n),
                diskFloor: s.disk_floor_ms,
            });
        }
    }
    return out;
}

function section2(r2) {
    const items = row2Items(r2);
    const rows = items.map((i) => [
        `${i.n} × download_video, fsync ${i.k === 'fsync_on' ? '**on** (default)' : 'off'}`,
        ms(i.f.wall_ms),
        `${num(i.f.mb_s.median)} MB/s`,
        `${mib(i.f.hwm_kb)}; anonymous ${num(MiB(i.f.anon_kb.median))} MiB`,
        `${i.f.sha_ok_min}/${i.n} every run`,
        `${i.bestName}: ${ms(i.best)}`,
        `**${xt(i.ratio)}**`,
        `≤ 1.25× curl: ${mark(i.timeOk)}; ≤ ${i.rssTarget} MiB: ${mark(i.rssOk)}`,
        i.k === 'fsync_on' ? `disk floor for ${i.n} synced files: ${num(i.diskFloor)} ms` : '',
    ]);
    const runs = (sm) => `${ms(sm)}, ${sm.n} runs`;
    const curlRows = Object.entries(r2.sizes).map(([n, s]) => [
        `${n} files`,
        runs(s.curl_parallel_ms),
        runs(s.curl_procs_ms),
        `${s.curl_ok}/${n}`,
        `${num(s.disk_floor_ms)} ms`,
    ]);
    return [
        '## 2. The stress test: concurrent download_video',
        '',
        `Every download is a ${r2.video_bytes.toLocaleString('en-US')}-byte video served from memory by the fake upstream over loopback; the server streams it to its video directory, and after the timed window every file is hashed (sha256) and compared with the upstream's, as is the sha256 the tool returns. Wall time runs from the first request written to the last reply read; peak RSS is the server's VmHWM over that window (reset through /proc/PID/clear_refs at its start), which counts the pages of its shared libraries too; the anonymous part (RssAnon, the server's own memory) is sampled every 10 ms over the same window. Each run uses a fresh server. The baseline is curl fetching the same files from the same fake into the same disk in the same run, both ways (one curl with --parallel, and N curl processes through xargs -P; when one way is at least 1.25× slower in each of the first two runs, later runs skip it); the faster median is used, and curl's own start-up (${num(r2.curl_start_ms)} ms) is subtracted. curl does not fsync; the disk floor is what the synced bytes cost at this disk's measured fdatasync bandwidth. The server's default is at most 16 upstream requests at once (SANZARU_OPENAI_MAX_CONCURRENCY); curl runs all N at once.`,
        '',
        table(['Workload', 'Wall time', 'Throughput', 'Server peak RSS (VmHWM); anonymous part', 'sha256 verified', 'Baseline (same run)', 'Ratio', 'Target', 'Context'], rows),
        '',
        table(['curl baseline', 'curl --parallel', 'N curl processes', 'sha256 verified', 'Disk floor with fdatasync'], curlRows),
        '',
        `Reference (issue 6, same machine): a Node.js Sora MCP server used ~${REF.node_rss32_mib} MiB for 32 downloads and ~2.5 GiB for 256; another crashed at 256.`,
        '',
        ...(r2.gemini ? sectionGemini(r2.gemini) : []),
        rerun(2),
    ].join('\n');
}

function geminiItems(g) {
    const best = g[g.curl_best === 'curl_parallel' ? 'curl_parallel_ms' : 'curl_procs_ms'];
    return {
        best,
        bestName: g.curl_best === 'curl_parallel' ? `curl -L --parallel --parallel-max ${g.n}` : `${g.n} curl -L processes`,
        uriTimeOk: g.uri.ratio_vs_curl <= 1.25,
        uriRssOk: MiB(g.uri.hwm_kb.max) <= 32,
        uriShaOk: g.uri.sha_ok_min === g.n,
        inlineRssOk: MiB(g.inline.hwm_kb.max) <= 96,
        inlinePingOk: g.inline.ping_p99_ms <= 5,
        inlineShaOk: g.inline.sha_ok_min === g.n,
    };
}

function sectionGemini(g) {
    const i = geminiItems(g);
    return [
        '### Gemini: URI output through a redirect, and inline output',
        '',
        `The fake Gemini Interactions API (tests/fake-gemini/) serves a ${g.video_bytes.toLocaleString('en-US')}-byte video. **URI output**: each download gets the Interaction, then streams its uri: the API origin answers 302 to a signed URL at a second (storage) origin, which refuses any request carrying the key; sanzaru drops the key at that hop. The baseline is curl fetching the same uris through the same redirect (\`-L\`, the key as \`?key=\`, which Google also accepts), both ways as above. **Inline output**: each download gets an Interaction whose JSON carries the video as base64 (~${num((g.video_bytes * 4) / 3 / 1e6)} MB); sanzaru cuts the base64 out and decodes it on the thread pool, at most two at once (the others' transfers pause), and writes through the same checked writer. \`ping\` is sent every 2 ms while the inline downloads run (the loop must stay free). fsync on, a fresh server per run.`,
        '',
        table(
            ['Workload', 'Wall time', 'Server peak RSS (VmHWM); anonymous part', 'sha256 verified', 'Baseline (same run)', 'Ratio', 'Target'],
            [
                [`${g.n} × download_video, URI output`, ms(g.uri.wall_ms), `${mib(g.uri.hwm_kb)}; anonymous ${num(MiB(g.uri.anon_kb.median))} MiB`, `${g.uri.sha_ok_min}/${g.n} every run`, `${i.bestName}: ${ms(i.best)} (${g.curl_ok}/${g.n} ok)`, `**${xt(g.uri.ratio_vs_curl)}**`, `≤ 1.25× curl: ${mark(i.uriTimeOk)}; ≤ 32 MiB: ${mark(i.uriRssOk)}`],
                [`${g.n} × download_video, inline output`, ms(g.inline.wall_ms), `${mib(g.inline.hwm_kb)}; anonymous ${num(MiB(g.inline.anon_kb.median))} MiB`, `${g.inline.sha_ok_min}/${g.n} every run`, `ping p99 ${num(g.inline.ping_p99_ms)} ms (max ${num(g.inline.ping_max_ms)} ms, ${g.inline.ping_samples} pings; idle p99 ${num(g.inline.idle_ping_p99_ms)} ms)`, '', `≤ 96 MiB: ${mark(i.inlineRssOk)}; ping p99 ≤ 5 ms: ${mark(i.inlinePingOk)}`],
            ],
        ),
        '',
    ];
}

function section3(r3) {
    const row = (label, k, base) => {
        const v = r3[k];
        if (!v) return null;
        return [
            label,
            us(v.p50_us),
            us(v.p99_us),
            `${num(v.seq_calls_s.median)} /s`,
            v.tput_calls_s ? `${num(v.tput_calls_s.median)} /s (${num(v.tput_calls_s.min)}–${num(v.tput_calls_s.max)}, ${v.window} ${k.startsWith('http') ? 'connections' : 'in flight'})` : '',
            base ? `${base.label}: ${num(r3[base.k].p50_us.median)} µs p50` : '',
            base ? x(v.p50_us.median / r3[base.k].p50_us.median) : '',
        ];
    };
    const rows = [
        row('stdio, `ping` (no tool)', 'stdio_ping'),
        row('stdio, list_reference_images (20 images)', 'stdio_local', { label: 'stdio ping', k: 'stdio_ping' }),
        row('stdio, get_video_status (fake upstream)', 'stdio_remote', { label: 'direct GET to the fake', k: 'upstream_get' }),
        row('HTTP keep-alive, `ping`', 'http_ping'),
        row('HTTP keep-alive, list_reference_images', 'http_local', { label: 'HTTP ping', k: 'http_ping' }),
        row('HTTP keep-alive, get_video_status', 'http_remote', { label: 'direct GET to the fake', k: 'upstream_get' }),
        row('baseline: direct keep-alive GET /v1/videos/{id} to the fake (libcurl, no MCP)', 'upstream_get'),
    ].filter(Boolean);
    const sl = r3.stdio_local;
    return [
        '## 3. Tool-call latency and throughput',
        '',
        `Round trip from the request written to the reply read, one call at a time (${sl.n} calls per run after a warm-up; p50 and p99 are per run, shown as median and min–max over the runs), then throughput with several calls in flight. The driver is C (bench/driver/mcpdrive.c): poll() on the server\'s pipes for stdio, libcurl keep-alive connections for HTTP. Driver, server and fake share the machine\'s ${'two'} cores.`,
        '',
        table(['Transport and tool', 'p50', 'p99', 'Calls/s one at a time', 'Calls/s in flight', 'Baseline (same run)', 'p50 ratio'], rows),
        '',
        `Targets: stdio p50 ≤ 100 µs for the local tool: ${mark(sl.p50_us.median <= 100)} (${num(sl.p50_us.median)} µs); ≥ 5,000 calls/s: ${mark((sl.tput_calls_s?.median ?? 0) >= 5000)} (${num(sl.tput_calls_s?.median)} /s in flight, ${num(sl.seq_calls_s.median)} /s one at a time). Reference (issue 6): a Node.js Sora MCP server answered a status call in ~${REF.node_status_p50_ms} ms p50 (~${REF.node_status_calls_s} calls/s).`,
        '',
        rerun(3),
    ].join('\n');
}

function section4(r4) {
    const row = (label, f) => [label, `${num(f.p50_ms)} ms`, `${num(f.p99_ms)} ms`, `${num(f.max_ms)} ms`, spread(f.per_run_p99_ms, 'ms'), `${f.samples}`];
    return [
        '## 4. A free loop: ping under load',
        '',
        `A \`ping\` every ${r4.ping_interval_ms} ms (each sent once the previous one is answered) on an idle server, then while ${r4.load_calls} run at once (the load took ${ms(r4.load_wall_ms)}). Percentiles pool every ping of every run.`,
        '',
        table(['Server', 'p50', 'p99', 'max', 'p99 per run', 'pings'], [row('idle (baseline, same run)', r4.idle), row('under load', r4.load)]),
        '',
        `Target: p99 under load ≤ 5 ms: ${mark(r4.load.p99_ms <= 5)} (${num(r4.load.p99_ms)} ms, ${x(r4.load.p99_ms / r4.idle.p99_ms)} the idle p99).`,
        '',
        rerun(4),
    ].join('\n');
}

function section5(r5) {
    const l = r5.rss_local;
    const rr = r5.rss_remote;
    return [
        '## 5. Start and size',
        '',
        table(
            ['Figure', 'sanzaru', 'Baseline (same run)', 'Target', 'Met'],
            [
                [`Spawn to \`initialize\` response (20 spawns; median, p5–p95)`, `${num(r5.spawn_to_init_ms.median)} ms (${num(r5.spawn_to_init_ms.p5)}–${num(r5.spawn_to_init_ms.p95)})`, `\`sanzaru --version\` exec to exit: ${num(r5.version_exit_ms.median)} ms (${num(r5.version_exit_ms.p5)}–${num(r5.version_exit_ms.p95)}); ${r5.shared_libraries} shared libraries`, '≤ 10 ms', mark(r5.spawn_to_init_ms.median <= 10)],
                ['Idle RSS after `initialize`', `${mib(l.idle_kb)}: ${num(MiB(l.idle_anon_kb.median))} MiB anonymous + ${num(MiB(l.idle_file_kb.median))} MiB file-backed`, `\`sanzaru --version\` peak RSS: ${num(MiB(r5.version_maxrss_kb))} MiB`, '≤ 16 MiB', mark(MiB(l.idle_kb.median) <= 16)],
                [`RSS after ${l.n} list_reference_images calls → after ${l.more} more`, `${mib(l.after_n_kb)} → ${mib(l.after_more_kb)}; anonymous growth ${spread(l.growth_anon_kb, 'KiB')}`, `idle: ${num(MiB(l.idle_kb.median))} MiB`, 'no growth', mark(!grew(l))],
                [`RSS after ${rr.n} get_video_status calls → after ${rr.more} more`, `${mib(rr.after_n_kb)} → ${mib(rr.after_more_kb)}; anonymous growth ${spread(rr.growth_anon_kb, 'KiB')}`, `idle: ${num(MiB(rr.idle_kb.median))} MiB`, 'no growth', mark(!grew(rr))],
                ['Binary size (release)', `${num(r5.binary_bytes / 1024)} KiB; stripped ${num(r5.stripped_bytes / 1024)} KiB`, '', '', ''],
            ],
        ),
        '',
        `"No growth" compares the RSS after the first ${l.n} calls with the RSS after ${l.more} more: the first calls fault in code and grow the allocator's arenas and the thread pool once. It counts as met when the anonymous memory (RssAnon; file-backed pages come and go with the page cache) grows by at most ${GROWTH_KB} KiB over the ${l.more} further calls in every run, i.e. under ${Math.round((GROWTH_KB * 1024) / l.more)} bytes per call; leaks as such are the job of the ASan/LSan test run. Reference (issue 6): a Node.js Sora MCP server took ~${REF.node_spawn_ms} ms from spawn to \`initialize\` and idled at ~${REF.node_idle_mib} MiB.`,
        '',
        rerun(5),
    ].join('\n');
}

function section6(r6) {
    const rows = Object.keys(r6.ours.single).map((m) => {
        const o = r6.ours.single[m];
        const p = r6.pillow.single[m];
        const ratio = p.ms.median / o.ms.median;
        return [`one image, ${m}`, ms(o.ms), `${num(MiB(o.hwm_kb))} MiB (anonymous ${num(MiB(o.anon_kb))})`, kb(o.file_bytes), ms(p.ms), num(MiB(p.hwm_kb)) + ' MiB', kb(p.file_bytes), `**${x(ratio)}** faster`, `≥ 3×: ${mark(ratio >= 3)}`];
    });
    const oc = r6.ours.conc;
    const pc = r6.pillow.conc;
    rows.push([
        `${oc.n} at once, crop (per image = wall / ${oc.n})`,
        `${ms(oc.wall_ms)}; ${num(oc.wall_ms.median / oc.n)} ms per image`,
        `${mib(oc.hwm_kb)} (anonymous ${num(MiB(oc.anon_kb.median))})`,
        '',
        `${ms(pc.wall_ms)}; ${num(pc.wall_ms.median / pc.n)} ms per image`,
        mib(pc.hwm_kb),
        '',
        `**${x(pc.wall_ms.median / oc.wall_ms.median)}** faster, ${x(pc.hwm_kb.median / oc.hwm_kb.median)} less memory`,
        `< 100 MiB: ${mark(MiB(oc.hwm_kb.max) < 100)}`,
    ]);
    return [
        '## 6. prepare_reference_image against Pillow',
        '',
        `Input: a ${r6.input.width}×${r6.input.height} RGB PNG of ${r6.input.bytes.toLocaleString('en-US')} bytes (sha256 ${r6.input.sha256.slice(0, 16)}…, made by bench/pillow_prepare.py make-input: a Mandelbrot set, gradients and blurred seeded noise), prepared to ${r6.target} in each mode. sanzaru: the tool through MCP over stdio (the time includes the round trip, reading the input, libvips\' Lanczos resize, PNG encoding and the durable write with fdatasync; ${r6.image_jobs} image jobs at once, the default on this machine). Pillow: Debian's python3-pil doing what the original server does (open, convert to RGB, Lanczos resize, crop / thumbnail + paste on black / resize, save PNG), timed inside the Python process, without fsync; ${pc.n} at once on ${pc.n} threads as the original's anyio.to_thread does. Each side encodes the PNG with its own settings (the server chooses its zlib level and filter; Pillow uses its default, level 6), so the output sizes are shown beside the times. Peak RSS is VmHWM over the measured work (reset at its start) of the server or of the Python process; for the server, its anonymous part is sampled every 10 ms.`,
        '',
        table(['Work', 'sanzaru time', 'sanzaru peak RSS', 'sanzaru PNG', 'Pillow time (baseline)', 'Pillow peak RSS', 'Pillow PNG', 'Ratio', 'Target'], rows),
        '',
        `Reference (issue 6): Pillow took ~${REF.pillow_ms} ms per 2048² → 1280×720 crop and ~${REF.pillow_conc_mib} MiB for 10 at once on this machine (with its own input image).`,
        '',
        rerun(6),
    ].join('\n');
}

function section7(r7) {
    const o = r7.ours;
    const f = r7.ffmpeg;
    const p = r7.pydub;
    const c = o.conc;
    const mins = (r7.input.seconds / 60).toFixed(0);
    const rows = [
        [
            `convert_audio, ${mins} min 44.1 kHz stereo WAV → MP3`,
            ms(o.single_ms),
            `${mib(o.single_hwm_kb)}, of which ${num(MiB(o.single_anon_kb.median))} MiB anonymous`,
            `${num(o.out_bytes / 1e6)} MB`,
            `ffmpeg CLI ${ms(f.ms)}; ${mib(f.maxrss_kb)}; ${num(f.out_bytes / 1e6)} MB`,
            `**${x(f.ms.median / o.single_ms.median)}** ffmpeg's speed`,
            `≥ 1× ffmpeg: ${mark(o.single_ms.median <= f.ms.median)}; ≤ 32 MiB: ${mark(MiB(o.single_hwm_kb.max) <= 32)}`,
        ],
        [
            'the original\'s path (pydub + ffmpeg)',
            '',
            '',
            '',
            `${ms(p.ms)}; Python ${mib(p.python_hwm_kb)}, plus the ffmpeg it runs`,
            `**${x(p.ms.median / o.single_ms.median)}** faster, ${x((p.python_hwm_kb.median + f.maxrss_kb.median) / o.single_hwm_kb.median)} less memory (Python + one ffmpeg)`,
            'reference',
        ],
        [
            `${c.n} conversions at once`,
            ms(c.wall_ms),
            mib(c.hwm_kb),
            '',
            `ping p50 ${num(c.ping_p50_ms)} ms, p99 ${num(c.ping_p99_ms)} ms, max ${num(c.ping_max_ms)} ms (${c.pings} pings every 2 ms)`,
            '',
            `ping p99 ≤ 5 ms: ${mark(c.ping_p99_ms <= 5)}; ≤ 96 MiB: ${mark(MiB(c.hwm_kb.max) <= 96)}`,
        ],
    ];
    return [
        '## 7. convert_audio against the ffmpeg command line and pydub',
        '',
        `Input: ${mins} minutes of a generated voice-like signal, 44.1 kHz stereo 16-bit WAV (${num(r7.input.bytes / 1e6)} MB), converted to MP3 as the original's convert_audio asks (stereo, the input's rate, LAME's default 128 kbps). sanzaru: the tool through MCP over stdio (round trip, decode, resample, LAME, the write and its fdatasync; libav loaded by a warm-up call first, so its pages are in every peak); ${o.audio_jobs} audio jobs at once, the default on this machine, so the ${c.n} conversions at once run ${o.audio_jobs} at a time while the loop answers a ping every 2 ms. ffmpeg CLI: \`ffmpeg -i in.wav -ac 2 out.mp3\` (${f.version}), timed from its spawn, peak RSS from its rusage. The original's path: \`AudioSegment.from_file(in, "wav").export(out, format="mp3", parameters=["-ac", "2"])\` with Debian's python3-pydub ${r7.pydub_version || ''}, timed inside Python; its peak is Python's VmHWM (it holds the whole decoded audio), plus an ffmpeg process at a time (counted as the command line's peak: rusage cannot tell a child's own peak from the Python pages it was forked with). CPU seconds for one conversion (all threads): sanzaru ${o.single_cpu_s ? num(o.single_cpu_s.median) : 'n/a'} s (the whole server), ffmpeg ${num(f.cpu_s.median)} s, pydub + its ffmpeg ${num(p.cpu_s.median)} s. The server's audio jobs run at nice +10 (so the loop always gets a core first): on a machine busy with other work, they get less of it than a nice-0 ffmpeg, which shows in the wall time, not in the CPU time.`,
        '',
        table(['Work', 'sanzaru time', 'sanzaru peak RSS', 'MP3', 'Baseline (same run)', 'Ratio', 'Target'], rows),
        '',
        rerun(7),
    ].join('\n');
}

// ---- at a glance and summary ----------------------------------------------------------------

function glance(r) {
    const rows = [];
    if (r.rows[2]) {
        for (const i of row2Items(r.rows[2]))
            rows.push([
                '2',
                `${i.n} concurrent downloads, fsync ${i.k === 'fsync_on' ? 'on' : 'off'}`,
                `${ms(i.f.wall_ms)}, ${mib(i.f.hwm_kb)} peak, ${i.f.sha_ok_min}/${i.n} sha256 ok`,
                `curl ${num(i.best.median)} ms`,
                xt(i.ratio),
                `≤ 1.25×; ≤ ${i.rssTarget} MiB`,
                `time ${mark(i.timeOk)}, RSS ${mark(i.rssOk)}`,
            ]);
    }
    if (r.rows[2] && r.rows[2].gemini) {
        const g = r.rows[2].gemini;
        const i = geminiItems(g);
        rows.push(['2', `${g.n} Gemini downloads, URI output through a redirect`, `${ms(g.uri.wall_ms)}, ${mib(g.uri.hwm_kb)} peak, ${g.uri.sha_ok_min}/${g.n} sha256 ok`, `curl ${num(i.best.median)} ms`, xt(g.uri.ratio_vs_curl), '≤ 1.25×; ≤ 32 MiB', `time ${mark(i.uriTimeOk)}, RSS ${mark(i.uriRssOk)}`]);
        rows.push(['2', `${g.n} Gemini downloads, inline base64 output`, `${ms(g.inline.wall_ms)}, ${mib(g.inline.hwm_kb)} peak, ${g.inline.sha_ok_min}/${g.n} sha256 ok`, `ping p99 ${num(g.inline.ping_p99_ms)} ms`, '', '≤ 96 MiB; ping p99 ≤ 5 ms', `RSS ${mark(i.inlineRssOk)}, ping ${mark(i.inlinePingOk)}`]);
    }
    if (r.rows[3]) {
        const s = r.rows[3].stdio_local;
        rows.push(['3', 'stdio round trip, local tool (p50)', us(s.p50_us), `ping ${num(r.rows[3].stdio_ping.p50_us.median)} µs`, x(s.p50_us.median / r.rows[3].stdio_ping.p50_us.median), '≤ 100 µs', mark(s.p50_us.median <= 100)]);
        rows.push(['3', 'stdio calls/s, local tool', `${num(s.tput_calls_s.median)} /s in flight; ${num(s.seq_calls_s.median)} /s one at a time`, `ping ${num(r.rows[3].stdio_ping.tput_calls_s.median)} /s`, x(s.tput_calls_s.median / r.rows[3].stdio_ping.tput_calls_s.median), '≥ 5,000 /s', mark(s.tput_calls_s.median >= 5000)]);
    }
    if (r.rows[4]) {
        const f = r.rows[4];
        rows.push(['4', 'ping p99 under load', `${num(f.load.p99_ms)} ms (max ${num(f.load.max_ms)} ms)`, `idle ${num(f.idle.p99_ms)} ms`, x(f.load.p99_ms / f.idle.p99_ms), '≤ 5 ms', mark(f.load.p99_ms <= 5)]);
    }
    if (r.rows[5]) {
        const f = r.rows[5];
        rows.push(['5', 'spawn to initialize (median of 20)', `${num(f.spawn_to_init_ms.median)} ms`, `--version ${num(f.version_exit_ms.median)} ms`, x(f.spawn_to_init_ms.median / f.version_exit_ms.median), '≤ 10 ms', mark(f.spawn_to_init_ms.median <= 10)]);
        rows.push(['5', 'idle RSS', mib(f.rss_local.idle_kb), `--version ${num(MiB(f.version_maxrss_kb))} MiB`, x(f.rss_local.idle_kb.median / f.version_maxrss_kb), '≤ 16 MiB', mark(MiB(f.rss_local.idle_kb.median) <= 16)]);
        rows.push(['5', `RSS growth over ${f.rss_local.more} calls after the first ${f.rss_local.n}`, `anonymous ${num(f.rss_local.growth_anon_kb.max)} KiB local, ${num(f.rss_remote.growth_anon_kb.max)} KiB remote (worst run)`, '', '', `none (≤ ${GROWTH_KB} KiB)`, mark(!grew(f.rss_local) && !grew(f.rss_remote))]);
    }
    if (r.rows[6]) {
        const f = r.rows[6];
        const c = f.ours.single.crop;
        const p = f.pillow.single.crop;
        const worst = Math.min(...Object.keys(f.ours.single).map((m) => f.pillow.single[m].ms.median / f.ours.single[m].ms.median));
        rows.push(['6', 'prepare 2048² → 1280×720, crop', ms(c.ms), `Pillow ${num(p.ms.median)} ms`, `${x(p.ms.median / c.ms.median)} faster`, '≥ 3× (every mode)', `${mark(worst >= 3)} (worst mode ${x(worst)})`]);
        rows.push(['6', `${f.ours.conc.n} at once, peak RSS`, mib(f.ours.conc.hwm_kb), `Pillow ${num(MiB(f.pillow.conc.hwm_kb.median))} MiB`, x(f.ours.conc.hwm_kb.median / f.pillow.conc.hwm_kb.median), '< 100 MiB', mark(MiB(f.ours.conc.hwm_kb.max) < 100)]);
    }
    if (r.rows[7]) {
        const f = r.rows[7];
        rows.push(['7', `convert_audio ${f.input.seconds / 60} min WAV → MP3`, `${ms(f.ours.single_ms)}, ${mib(f.ours.single_hwm_kb)} peak`, `ffmpeg ${num(f.ffmpeg.ms.median)} ms, ${num(MiB(f.ffmpeg.maxrss_kb.median))} MiB`, x(f.ffmpeg.ms.median / f.ours.single_ms.median), '≥ 1×; ≤ 32 MiB', `time ${mark(f.ours.single_ms.median <= f.ffmpeg.ms.median)}, RSS ${mark(MiB(f.ours.single_hwm_kb.max) <= 32)}`]);
        rows.push(['7', `${f.ours.conc.n} conversions at once`, `ping p99 ${num(f.ours.conc.ping_p99_ms)} ms, ${mib(f.ours.conc.hwm_kb)} peak`, `pydub ${num(f.pydub.ms.median)} ms for one`, '', '≤ 5 ms; ≤ 96 MiB', `ping ${mark(f.ours.conc.ping_p99_ms <= 5)}, RSS ${mark(MiB(f.ours.conc.hwm_kb.max) <= 96)}`]);
    }
    if (r.rows[1]) {
        const s = r.rows[1].sanzaru;
        rows.push(['1', 'seed workloads: true speedup (overlap)', Object.entries(s).map(([k, v]) => `${k} ${x(v.speedup.median)} (${x(v.overlap.median)})`).join(', '), 'one at a time', '', 'reported', '']);
    }
    return table(['Row', 'Measured', 'sanzaru: median (min–max)', 'Baseline, same run', 'Ratio', 'Target', 'Met'], rows);
}

function readmeSummary(r) {
    const lines = [];
    const r2 = r.rows[2];
    if (r2) {
        const [a, b] = Object.values(r2.sizes);
        const s = (v) => `${num(v.fsync_on.wall_ms.median / 1000)} s (${x(v.fsync_on.ratio_vs_curl)} curl's time; ${num(MiB(v.fsync_on.hwm_kb.max))} MiB peak RSS)`;
        lines.push(`- **Downloads:** ${a.n} concurrent 7.7 MB \`download_video\` calls in ${s(a)}${b ? `, ${b.n} in ${s(b)}` : ''}, every file sha256-verified, fsync on; with fsync off ${num(a.fsync_off.wall_ms.median / 1000)} s${b ? ` / ${num(b.fsync_off.wall_ms.median / 1000)} s` : ''}.`);
    }
    if (r.rows[3] || r.rows[4] || r.rows[5]) {
        const parts = [];
        if (r.rows[3]) parts.push(`local tool round trip ${num(r.rows[3].stdio_local.p50_us.median)} µs p50 over stdio (${num(r.rows[3].stdio_local.tput_calls_s.median)} calls/s)`);
        if (r.rows[4]) parts.push(`\`ping\` p99 ${num(r.rows[4].load.p99_ms)} ms while 10 images are resized and 32 videos downloaded`);
        if (r.rows[5]) parts.push(`${num(r.rows[5].spawn_to_init_ms.median)} ms from spawn to \`initialize\`, ${num(MiB(r.rows[5].rss_local.idle_kb.median))} MiB idle`);
        lines.push(`- **Latency and footprint:** ${parts.join('; ')}.`);
    }
    if (r.rows[6]) {
        const f = r.rows[6];
        lines.push(`- **Images:** \`prepare_reference_image\` 2048² → 1280×720 in ${num(f.ours.single.crop.ms.median)} ms vs Pillow's ${num(f.pillow.single.crop.ms.median)} ms (${x(f.pillow.single.crop.ms.median / f.ours.single.crop.ms.median)}); ${f.ours.conc.n} at once in ${num(MiB(f.ours.conc.hwm_kb.max))} MiB vs Pillow's ${num(MiB(f.pillow.conc.hwm_kb.median))} MiB.`);
    }
    if (r.rows[7]) {
        const f = r.rows[7];
        lines.push(`- **Audio:** \`convert_audio\` of ${f.input.seconds / 60} minutes of 44.1 kHz stereo WAV to MP3 in ${num(f.ours.single_ms.median / 1000)} s and ${num(MiB(f.ours.single_hwm_kb.max))} MiB (the \`ffmpeg\` command line ${num(f.ffmpeg.ms.median / 1000)} s and ${num(MiB(f.ffmpeg.maxrss_kb.median))} MiB; the original's pydub path ${num(f.pydub.ms.median / 1000)} s and ${num(MiB(f.pydub.python_hwm_kb.median + f.ffmpeg.maxrss_kb.median))} MiB); ${f.ours.conc.n} at once with \`ping\` p99 ${num(f.ours.conc.ping_p99_ms)} ms in ${num(MiB(f.ours.conc.hwm_kb.max))} MiB.`);
    }
    return lines.join('\n');
}

export function writeReport(docPath, r, jsonRel) {
    let hand = DEFAULT_HAND;
    if (fs.existsSync(docPath)) {
        const old = fs.readFileSync(docPath, 'utf8');
        const a = old.indexOf(BEGIN);
        const b = old.indexOf(END);
        if (a >= 0 && b > a) hand = old.slice(a + BEGIN.length, b).replace(/^\n+|\n+$/g, '') + '\n';
    }
    const parts = [
        '# Benchmarks',
        '',
        '<!-- Generated by `make bench` (scripts/bench → bench/run.mjs). Everything outside the hand-written section is rewritten on every run. -->',
        '',
        machine(r, jsonRel),
        '',
        ...(r.problems && r.problems.length
            ? ['## Problems in this run', '', 'Calls that failed or files that did not verify; the figures of these phases are not valid.', '', ...r.problems.map((p) => `- ${p}`), '']
            : []),
        '## Summary for the README',
        '',
        readmeSummary(r),
        '',
        '## At a glance',
        '',
        glance(r),
        '',
    ];
    const secs = { 1: section1, 2: section2, 3: section3, 4: section4, 5: section5, 6: section6, 7: section7 };
    for (const k of [1, 2, 3, 4, 5, 6, 7]) if (r.rows[k]) parts.push(secs[k](r.rows[k]), '');
    parts.push(BEGIN, '', hand.trimEnd(), '', END, '');
    fs.writeFileSync(docPath, parts.join('\n'));
}
