// Helpers for bench/run.mjs: child processes, statistics, hashing, formatting.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

/** Runs a program to its end; resolves {code, stdout, stderr, ms}. Never rejects on status. */
export function run(cmd, args, { env, input, cwd } = {}) {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(cmd, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        child.stdout.on('data', (d) => out.push(d));
        child.stderr.on('data', (d) => err.push(d));
        child.on('error', reject);
        child.on('close', (code, signal) => {
            const ms = Number(process.hrtime.bigint() - t0) / 1e6;
            resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms });
        });
        if (input !== undefined) {
            child.stdin.on('error', () => {}); // a program may exit without reading it all
            child.stdin.end(input);
        }
    });
}

/** Runs a program that must succeed and print one JSON object. */
export async function runJson(cmd, args, opts) {
    const r = await run(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-2000)}`);
    try {
        return JSON.parse(r.stdout);
    } catch (e) {
        throw new Error(`${cmd}: bad JSON (${e.message}): ${r.stdout.slice(0, 500)} ${r.stderr.slice(-1000)}`);
    }
}

export const sorted = (a) => [...a].sort((x, y) => x - y);

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function pct(a, p) {
    if (!a.length) return NaN;
    const s = sorted(a);
    const k = ((s.length - 1) * p) / 100;
    const lo = Math.floor(k);
    const hi = Math.ceil(k);
    return s[lo] + (s[hi] - s[lo]) * (k - lo);
}

export const median = (a) => pct(a, 50);
export const sum = (a) => a.reduce((x, y) => x + y, 0);

/** {median, min, max, n} of a list of per-run figures. */
export function summary(a) {
    return { median: median(a), min: Math.min(...a), max: Math.max(...a), n: a.length, runs: a };
}

export async function sha256File(path) {
    const h = createHash('sha256');
    await new Promise((resolve, reject) => {
        fs.createReadStream(path, { highWaterMark: 1 << 20 })
            .on('data', (d) => h.update(d))
            .on('end', resolve)
            .on('error', reject);
    });
    return h.digest('hex');
}

/** sha256 of many files, with one `openssl dgst` per core; resolves Map(path -> hex). */
export async function sha256Files(files) {
    const k = Math.max(1, Math.min(os.cpus().length, files.length));
    const parts = Array.from({ length: k }, (_, i) => files.filter((_, j) => j % k === i));
    const outs = await Promise.all(parts.map((p) => run('openssl', ['dgst', '-sha256', '-r', ...p])));
    const map = new Map();
    for (const o of outs) {
        if (o.code !== 0) throw new Error(`openssl dgst failed: ${o.stderr}`);
        for (const line of o.stdout.split('\n')) {
            const m = line.match(/^([0-9a-f]{64}) \*?(.*)$/);
            if (m) map.set(m[2], m[1]);
        }
    }
    return map;
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

export function waitPort(port, ms = 10000) {
    const until = Date.now() + ms;
    return new Promise((resolve, reject) => {
        const attempt = () => {
            const c = net.connect(port, '127.0.0.1');
            c.once('connect', () => {
                c.destroy();
                resolve();
            });
            c.once('error', () => {
                c.destroy();
                if (Date.now() > until) reject(new Error(`port ${port} never opened`));
                else setTimeout(attempt, 10);
            });
        };
        attempt();
    });
}

/** Number formatting: a few significant figures, thousands separated. */
export function num(x, digits = 3) {
    if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
    if (!Number.isFinite(x)) return String(x);
    const abs = Math.abs(x);
    let s;
    if (abs >= 1000) s = Math.round(x).toLocaleString('en-US');
    else if (abs >= 100) s = x.toFixed(0);
    else if (abs >= 10) s = x.toFixed(digits >= 3 ? 1 : 0);
    else if (abs >= 1) s = x.toFixed(digits >= 3 ? 2 : 1);
    else s = x.toPrecision(2);
    return s;
}

/** "median (min–max) unit" */
export function spread(sm, unit = '', scale = 1) {
    if (!sm) return 'n/a';
    const u = unit ? ` ${unit}` : '';
    return `${num(sm.median * scale)}${u} (${num(sm.min * scale)}–${num(sm.max * scale)})`;
}

export const MiB = (kb) => kb / 1024;

export function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}
