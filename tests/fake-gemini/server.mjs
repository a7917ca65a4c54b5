#!/usr/bin/env node
// A stateful fake of Google's Gemini Interactions API (the parts a video client uses), for the
// gemini provider's end-to-end tests and benchmarks. Node.js 20, ESM, node: built-ins only.
// README.md is the contract and says, fact by fact, which behaviour comes from Google's material
// and which is this fake's assumption.
//
// Two origins on loopback:
//   api      /{v1beta|v1}/interactions            POST create (unary or background: true)
//            /{v1beta|v1}/interactions/{id}       GET (include_input), DELETE
//            /{v1beta|v1}/interactions/{id}/cancel POST
//            /{v1beta|v1}/files/{file}:download   GET ?alt=media -> 302 to the storage origin
//            /__fake/*                            control API (no key)
//   storage  /gemini-media/{file}.mp4?Expires&Signature   the video bytes (signed URL, no key)
// Every API call needs `x-goog-api-key` (or ?key=, which Google also accepts; recorded so tests
// can assert a client never puts the key in a URL). Interactions run queued -> in_progress ->
// a final state per poll or by the clock; outcomes (completed, failed, safety, incomplete,
// cancelled) and faults (Google error bodies, 429 + RetryInfo, resets, stalls, truncation,
// invalid JSON, delays) are set on demand. Every request to either origin is recorded.
import http from 'node:http';
import { randomBytes, createHmac, timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { compilePathPattern } from '../fake-openai/server.mjs';
import { makeVideoBytes, sha256 } from '../fake-openai/media.mjs';
import { GeminiError, RPC_CODES, missingKeyError, badKeyError, faultError } from './errors.mjs';
import { checkCreate } from './validate.mjs';

export const DEFAULT_MODEL = 'gemini-omni-1.1-flash';
export const API_VERSIONS = ['v1beta', 'v1'];
const ALL_RESOLUTIONS = ['360p', '720p', '1080p', '4k'];

/** Video models the fake serves and what each accepts in response_format (see README, assumptions). */
export const DEFAULT_MODELS = {
    'gemini-omni-1.1-flash': { aspectRatios: ['16:9', '9:16'], durations: { min: 3, max: 10 }, resolutions: ALL_RESOLUTIONS },
    'gemini-omni-1.2-flash': { aspectRatios: ['16:9', '9:16'], durations: { min: 3, max: 15 }, resolutions: ALL_RESOLUTIONS },
    'gemini-omni-flash-preview': { aspectRatios: ['16:9', '9:16'], durations: { min: 3, max: 10 }, resolutions: ['720p'] },
};

const DEFAULTS = {
    host: '127.0.0.1',
    port: 0,
    storagePort: 0,
    apiKey: null, // null: any non-empty key; a string: exactly that key
    allowQueryKey: true,
    maxBodyBytes: 64 * 1024 * 1024,
    chunkBytes: 64 * 1024,
    videoBytes: 1024 * 1024,
    videoSeed: 7,
    delivery: 'inline', // used when the request's response_format has no delivery
    redirect: true, // files/{id}:download answers 302 to the storage origin (else serves bytes itself)
    redirectStatus: 302,
    uriAt: 'api', // 'storage': a video's uri is the signed storage URL itself (no API hop)
    storageRejectsCredentials: true, // storage answers 400 to a request carrying a key or Authorization
    signedUrlTtlSec: 3600,
    serviceErrorStyle: 'interactions', // shape of the Interactions service's own 4xx: 'interactions' | 'rpc'
    outputText: null, // when a string, completed outputs carry a text content before the video
    remixRequiresCompleted: true,
    syncDelayMs: 0,
    outputTokensPerSecond: 5792,
    mode: 'polls', // 'polls' | 'time'
    queuedPolls: 1,
    inProgressPolls: 2,
    queuedMs: 100,
    inProgressMs: 400,
    log: false,
    models: DEFAULT_MODELS,
};

const OUTCOMES = new Set(['completed', 'failed', 'safety', 'incomplete', 'cancelled']);
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'incomplete']);
const FAULT_KEYS = new Set([
    'origin', 'method', 'path', 'count', 'status', 'style', 'error', 'retry_delay_s', 'retry_after', 'headers', 'body',
    'reset_after_bytes', 'truncate', 'stall_ms', 'stall_after_bytes', 'invalid_json', 'delay_ms', 'drop',
]);

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
// Stands for the inline video's base64 in a view on its way to the wire: send() splices in one
// shared buffer instead, so N concurrent gets of an 8 MB video do not make N 11 MB strings.
const INLINE_MARK = '@@fake-gemini:inline-video-data@@';

/** A body made of buffers laid end to end (the shared video base64 among them), read in slices. */
class Chunks {
    constructor(parts) {
        this.parts = parts;
        this.length = parts.reduce((n, b) => n + b.length, 0);
    }
    subarray(start, end) {
        const out = [];
        let base = 0;
        for (const b of this.parts) {
            const lo = Math.max(start, base);
            const hi = Math.min(end, base + b.length);
            if (lo < hi) out.push(b.subarray(lo - base, hi - base));
            base += b.length;
            if (base >= end) break;
        }
        return out.length === 1 ? out[0] : Buffer.concat(out);
    }
}
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const b64url = (n) => randomBytes(n).toString('base64url');

function mergeOptions(base, patch) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch || {})) if (v !== undefined) out[k] = k === 'models' ? { ...v } : v;
    return out;
}

/** A fault path: a RegExp, an absolute glob ("/v1beta/interactions/*"), or one relative to the
 *  API version ("interactions/*" matches under /v1beta/ and /v1/). */
function faultMatcher(p) {
    if (typeof p === 'string' && !p.startsWith('/')) return compilePathPattern(`/*/${p}`);
    return compilePathPattern(p);
}

function normaliseFault(spec) {
    if (!isObj(spec)) throw new TypeError('a fault must be an object');
    for (const k of Object.keys(spec)) if (!FAULT_KEYS.has(k)) throw new TypeError(`unknown fault field '${k}'`);
    if (spec.path === undefined) throw new TypeError("a fault needs 'path'");
    const origin = spec.origin ?? 'api';
    if (origin !== 'api' && origin !== 'storage') throw new TypeError("fault 'origin' must be 'api' or 'storage'");
    const count = spec.count ?? 1;
    if (!(count === -1 || (Number.isInteger(count) && count > 0))) throw new TypeError("fault 'count' must be a positive integer or -1");
    for (const k of ['reset_after_bytes', 'stall_ms', 'stall_after_bytes', 'delay_ms'])
        if (spec[k] !== undefined && !(Number.isInteger(spec[k]) && spec[k] >= 0)) throw new TypeError(`fault '${k}' must be a non-negative integer`);
    // A 2xx status is a canned answer: it needs its body.
    const canned = spec.body !== undefined && Number.isInteger(spec.status) && spec.status >= 200 && spec.status <= 299;
    if (spec.status !== undefined && !canned && !(Number.isInteger(spec.status) && spec.status >= 400 && spec.status <= 599))
        throw new TypeError("fault 'status' must be an HTTP error status (or 2xx with a body)");
    if (spec.style !== undefined && spec.style !== 'rpc' && spec.style !== 'interactions') throw new TypeError("fault 'style' must be 'rpc' or 'interactions'");
    const kinds = ['status', 'reset_after_bytes', 'truncate', 'stall_ms', 'invalid_json', 'delay_ms', 'drop'].filter((k) => spec[k] !== undefined && spec[k] !== false);
    if (!kinds.length) throw new TypeError('a fault needs one of status, drop, reset_after_bytes, truncate, stall_ms, invalid_json, delay_ms');
    if (spec.reset_after_bytes !== undefined && spec.truncate !== undefined) throw new TypeError('reset_after_bytes and truncate cannot be combined');
    return {
        ...spec,
        origin,
        method: spec.method ? String(spec.method).toUpperCase() : null,
        count,
        remaining: count === -1 ? Infinity : count,
        // Storage paths have no API version: a relative pattern there is taken from the root.
        matcher: origin === 'storage' && typeof spec.path === 'string' && !spec.path.startsWith('/') ? compilePathPattern(`/${spec.path}`) : faultMatcher(spec.path),
    };
}

function faultSummary(f) {
    const out = {};
    for (const k of FAULT_KEYS) if (k !== 'count' && f[k] !== undefined && f[k] !== null) out[k] = f[k] instanceof RegExp ? String(f[k]) : f[k];
    return out;
}

function parseQuery(searchParams) {
    const q = {};
    for (const [k, v] of searchParams) {
        if (q[k] === undefined) q[k] = v;
        else if (Array.isArray(q[k])) q[k].push(v);
        else q[k] = [q[k], v];
    }
    return q;
}

/**
 * Starts the fake (both origins). Resolves once both listen.
 * Returns {url, origin, storageOrigin, close(), reset(), requests, faults, ...}; see README.md.
 */
export async function startFakeGemini(options = {}) {
    const initialConfig = mergeOptions(DEFAULTS, options);
    let config = initialConfig;
    const now = typeof options.now === 'function' ? options.now : () => Date.now();
    const log = (...a) => {
        if (config.log) console.error('[fake-gemini]', ...a);
    };
    const signingKey = randomBytes(32);
    const videoBytes = makeVideoBytes(initialConfig.videoBytes, initialConfig.videoSeed);
    const assets = { video: { bytes: videoBytes, length: videoBytes.length, sha256: sha256(videoBytes), contentType: 'video/mp4', base64: null } };
    const videoBase64 = () => (assets.video.base64 ??= videoBytes.toString('base64'));
    let videoBase64Buffer = null;
    const videoBase64Bytes = () => (videoBase64Buffer ??= Buffer.from(videoBase64(), 'latin1'));

    const requests = [];
    let requestSeq = 0;
    let objectSeq = 0;
    const state = { interactions: new Map(), files: new Map(), nextOutcomes: [] };
    const faultList = [];
    let apiOrigin = '';
    let storageOrigin = '';

    const faults = {
        add(spec) {
            const added = (Array.isArray(spec) ? spec : [spec]).map(normaliseFault);
            faultList.push(...added);
            return Array.isArray(spec) ? added : added[0];
        },
        clear() {
            faultList.length = 0;
        },
        list() {
            return faultList.map((f) => ({ ...faultSummary(f), count: f.count, remaining: f.remaining === Infinity ? -1 : f.remaining }));
        },
        take(origin, method, path) {
            const i = faultList.findIndex((f) => f.origin === origin && (!f.method || f.method === method) && f.matcher.test(path));
            if (i < 0) return null;
            const f = faultList[i];
            if (--f.remaining <= 0) faultList.splice(i, 1);
            return f;
        },
    };

    // --- interactions -------------------------------------------------------------------
    function normaliseOutcome(o) {
        const out = typeof o === 'string' ? { status: o } : { ...o };
        if (!OUTCOMES.has(out.status)) throw new TypeError(`unknown outcome '${out.status}' (expected ${[...OUTCOMES].join(', ')})`);
        return out;
    }

    function makeInteraction(f) {
        const t = now();
        const it = {
            id: f.id || `v1_${b64url(24)}`,
            seq: ++objectSeq,
            version: f.version || 'v1beta',
            model: f.model || DEFAULT_MODEL,
            parsed: f.parsed || null,
            input: f.input ?? null,
            echo: f.echo || {},
            background: f.background ?? true,
            previousId: f.previousId ?? null,
            createdMs: t,
            updatedMs: t,
            polls: 0,
            outcome: f.outcome || state.nextOutcomes.shift() || { status: 'completed' },
            forced: f.forced || null,
            cancelled: false,
            delivery: f.delivery || null,
            fileId: null,
            requestSeq: f.requestSeq ?? null,
        };
        state.interactions.set(it.id, it);
        return it;
    }

    function stageOf(it) {
        if (it.cancelled) return 'cancelled';
        if (it.forced) return 'final';
        const c = config;
        if (c.mode === 'time') {
            const e = now() - it.createdMs;
            if (e < c.queuedMs) return 'queued';
            if (e < c.queuedMs + c.inProgressMs) return 'in_progress';
            return 'final';
        }
        if (it.polls <= c.queuedPolls) return 'queued';
        if (it.polls <= c.queuedPolls + c.inProgressPolls) return 'in_progress';
        return 'final';
    }

    function statusOf(it) {
        const s = stageOf(it);
        if (s !== 'final') return s;
        const o = it.forced || it.outcome;
        return o.status === 'safety' ? 'failed' : o.status;
    }

    function videoContent(it, mark) {
        const delivery = it.delivery || config.delivery;
        if (delivery === 'uri') {
            if (!it.fileId) {
                it.fileId = b64url(12).replace(/[-_]/g, 'x').toLowerCase();
                state.files.set(it.fileId, it.id);
            }
            if (config.uriAt === 'storage') return { type: 'video', mime_type: 'video/mp4', uri: storageUrl(it.fileId) };
            return { type: 'video', mime_type: 'video/mp4', uri: `${apiOrigin}/${it.version}/files/${it.fileId}:download?alt=media` };
        }
        return { type: 'video', mime_type: 'video/mp4', data: mark ? INLINE_MARK : videoBase64() };
    }

    function usageOf(it) {
        const seconds = it.parsed?.format?.seconds ?? 8;
        const input = Math.max(1, Math.ceil((it.parsed?.text?.length ?? 20) / 4)) + 258 * (it.parsed?.images?.length ?? 0);
        const output = seconds * config.outputTokensPerSecond;
        return {
            total_input_tokens: input,
            total_output_tokens: output,
            total_tokens: input + output,
            input_tokens_by_modality: [{ modality: 'text', tokens: input }],
            output_tokens_by_modality: [{ modality: 'video', tokens: output }],
        };
    }

    /** The Interaction resource as a GET shows it (does not count as a poll). */
    function view(it, { includeInput = false, mark = false } = {}) {
        const status = statusOf(it);
        if (TERMINAL.has(status) && it.finalAtMs === undefined) it.finalAtMs = it.cancelled ? it.updatedMs : now();
        const out = { id: it.id, status, model: it.model, created: iso(it.createdMs), updated: iso(it.finalAtMs ?? it.updatedMs) };
        if (it.previousId) out.previous_interaction_id = it.previousId;
        Object.assign(out, it.echo);
        const steps = [];
        if (includeInput && it.input !== null) {
            const content = typeof it.input === 'string' ? [{ type: 'text', text: it.input }] : Array.isArray(it.input) ? it.input : [it.input];
            if (content.every((c) => c.type === 'user_input')) steps.push(...content);
            else steps.push({ type: 'user_input', content });
        }
        const o = it.forced || it.outcome;
        if (status === 'completed') {
            const content = [];
            if (typeof config.outputText === 'string') content.push({ type: 'text', text: config.outputText });
            content.push(videoContent(it, mark));
            steps.push({ type: 'model_output', content });
            out.usage = usageOf(it);
        } else if (status === 'failed') {
            const safety = o.status === 'safety';
            const message =
                o.error?.message ??
                (safety
                    ? 'The video could not be generated because the prompt or the generated content was blocked by safety filters.'
                    : 'Video generation failed due to an internal error.');
            const code = o.error?.code ?? (safety ? 'safety' : 'internal_error');
            steps.push({ type: 'model_output', error: { code: safety ? RPC_CODES.INVALID_ARGUMENT : RPC_CODES.INTERNAL, message } });
            out.errors = [{ code, message }];
        } else if (status === 'incomplete') {
            const message = o.error?.message ?? 'The interaction ended before the video was complete.';
            out.errors = [{ code: o.error?.code ?? 'incomplete', message }];
        }
        out.steps = steps;
        return out;
    }

    function getInteraction(id, style) {
        const it = state.interactions.get(id);
        if (!it) throw new GeminiError(404, `Interaction not found: ${id}`, { style });
        return it;
    }

    function createInteraction(rec, version, json) {
        const style = config.serviceErrorStyle;
        const p = checkCreate(json, config, style);
        rec.inputImages = p.images;
        if (p.previousId) {
            const prev = state.interactions.get(p.previousId);
            if (!prev) throw new GeminiError(404, `Previous interaction not found: ${p.previousId}`, { style });
            if (config.remixRequiresCompleted && statusOf(prev) !== 'completed')
                throw new GeminiError(400, `Previous interaction ${p.previousId} is not completed (status: ${statusOf(prev)}).`, { style });
        }
        const echo = {};
        for (const k of ['response_format', 'generation_config', 'system_instruction', 'labels', 'service_tier']) if (json[k] !== undefined) echo[k] = json[k];
        const it = makeInteraction({
            version,
            model: p.model,
            parsed: p,
            input: json.input,
            echo,
            background: p.background,
            previousId: p.previousId,
            delivery: p.format?.delivery ?? null,
            requestSeq: rec.seq,
        });
        if (!p.background) it.forced = it.outcome; // unary: the reply is the finished interaction
        rec.created = it.id;
        return it;
    }

    // --- request plumbing ---------------------------------------------------------------
    function readBody(req) {
        return new Promise((resolve, reject) => {
            const chunks = [];
            let size = 0;
            let tooBig = false;
            req.on('data', (c) => {
                size += c.length;
                if (size > config.maxBodyBytes) tooBig = true;
                if (!tooBig) chunks.push(c);
            });
            req.on('end', () => (tooBig ? reject(new GeminiError(413, `Request payload size exceeds the limit: ${config.maxBodyBytes} bytes.`)) : resolve(Buffer.concat(chunks))));
            req.on('error', reject);
        });
    }

    function parseJson(req, raw, rec) {
        rec.bodyBytes = raw.length;
        const ct = (req.headers['content-type'] || '').toLowerCase();
        if (!ct.startsWith('application/json')) throw new GeminiError(400, `Invalid Content-Type '${ct || '(none)'}': expected application/json.`);
        try {
            rec.json = JSON.parse(raw.toString('utf8'));
        } catch (e) {
            rec.parseError = e.message;
            throw new GeminiError(400, `Invalid JSON payload received. ${e.message}`);
        }
        return rec.json;
    }

    function checkKey(req, query, rec) {
        const header = req.headers['x-goog-api-key'];
        let key = typeof header === 'string' && header !== '' ? header : null;
        rec.keyIn = key !== null ? 'header' : null;
        if (key === null && config.allowQueryKey && typeof query.key === 'string' && query.key !== '') {
            key = query.key;
            rec.keyIn = 'query';
        }
        if (key === null) throw missingKeyError();
        if (config.apiKey !== null && key !== config.apiKey) throw badKeyError();
    }

    function sign(path, expires) {
        return createHmac('sha256', signingKey).update(`${path}\n${expires}`).digest('hex');
    }

    function storageUrl(fileId) {
        const path = `/gemini-media/${fileId}.mp4`;
        const expires = Math.floor(now() / 1000) + config.signedUrlTtlSec;
        return `${storageOrigin}${path}?Expires=${expires}&Signature=${sign(path, expires)}`;
    }

    function download(fileId, query) {
        const style = config.serviceErrorStyle;
        if (query.alt !== 'media') throw new GeminiError(400, "Downloads need 'alt=media'.", { style });
        const id = state.files.get(fileId);
        const it = id && state.interactions.get(id);
        if (!it || statusOf(it) !== 'completed') throw new GeminiError(404, `File not found: files/${fileId}`, { style });
        if (config.redirect) return { status: config.redirectStatus, headers: { location: storageUrl(fileId) }, buffer: Buffer.alloc(0), contentType: 'text/html; charset=UTF-8' };
        return { buffer: videoBytes, contentType: 'video/mp4' };
    }

    async function routeApi(req, rec, method, segs, query, rawPromise) {
        const noBody = async () => {
            if ((await rawPromise).length) throw new GeminiError(400, 'This method takes no request body.');
        };
        const [version, a, b, c] = segs;
        const style = config.serviceErrorStyle;
        if (API_VERSIONS.includes(version) && a === 'interactions') {
            if (segs.length === 2 && method === 'POST') {
                const it = createInteraction(rec, version, parseJson(req, await rawPromise, rec));
                if (!it.background && config.syncDelayMs) await pause(config.syncDelayMs);
                return { json: view(it, { mark: true }) };
            }
            if (segs.length === 3 && method === 'GET') {
                await noBody();
                if (query.stream === 'true') throw new GeminiError(400, "'stream=true' is not supported by this fake.", { style });
                const it = getInteraction(b, style);
                it.polls += 1;
                return { json: view(it, { includeInput: query.include_input === 'true', mark: true }) };
            }
            if (segs.length === 3 && method === 'DELETE') {
                await noBody();
                const it = getInteraction(b, style);
                state.interactions.delete(b);
                if (it.fileId) state.files.delete(it.fileId);
                return { json: {} };
            }
            if (segs.length === 4 && c === 'cancel' && method === 'POST') {
                await noBody();
                const it = getInteraction(b, style);
                const status = statusOf(it);
                if (!it.background) throw new GeminiError(400, `Interaction ${b} did not run in the background; only background interactions can be cancelled.`, { style });
                if (TERMINAL.has(status)) throw new GeminiError(400, `Interaction ${b} is not running (status: ${status}).`, { style });
                it.cancelled = true;
                it.updatedMs = now();
                return { json: view(it) };
            }
        } else if (API_VERSIONS.includes(version) && a === 'files' && segs.length === 3 && method === 'GET' && b.endsWith(':download')) {
            await noBody();
            return download(b.slice(0, -':download'.length), query);
        }
        await rawPromise;
        throw new GeminiError(404, `Method not found: ${method} /${segs.join('/')}`);
    }

    function routeStorage(req, method, path, query) {
        const xml = (status, code, message) => ({
            status,
            buffer: Buffer.from(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`),
            contentType: 'application/xml; charset=UTF-8',
        });
        const m = /^\/gemini-media\/([a-z0-9]+)\.mp4$/.exec(path);
        if (!m || (method !== 'GET' && method !== 'HEAD')) return xml(404, 'NoSuchKey', 'The specified key does not exist.');
        if (config.storageRejectsCredentials && (req.headers['x-goog-api-key'] !== undefined || req.headers.authorization !== undefined))
            return xml(400, 'InvalidArgument', 'Unexpected credentials: the URL is already signed; a Gemini API key must not be sent here.');
        const expires = Number(query.Expires);
        const sig = typeof query.Signature === 'string' ? query.Signature : '';
        const want = sign(path, query.Expires);
        if (!Number.isInteger(expires) || sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want)))
            return xml(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
        if (expires < Math.floor(now() / 1000)) return xml(400, 'ExpiredToken', 'The provided token has expired.');
        if (!state.files.has(m[1])) return xml(404, 'NoSuchKey', 'The specified key does not exist.');
        return { buffer: videoBytes, contentType: 'video/mp4', headOnly: method === 'HEAD' };
    }

    // --- responding ---------------------------------------------------------------------
    const pauses = new Set();
    function pause(ms, res) {
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                res?.off('close', done);
                pauses.delete(done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            res?.on('close', done);
            pauses.add(done);
        });
    }

    function waitDrain(res) {
        return new Promise((resolve) => {
            const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
            };
            res.on('drain', done);
            res.on('close', done);
        });
    }

    /** Sends {json} | {buffer, contentType, status?, headers?} | GeminiError, shaped by the fault. */
    async function send(res, rec, reply, fault) {
        let status = 200;
        const headers = {};
        let buf;
        if (reply instanceof GeminiError) {
            status = reply.status;
            Object.assign(headers, reply.headers);
            buf = Buffer.from(JSON.stringify(reply.body()));
            headers['content-type'] = 'application/json; charset=UTF-8';
        } else if (reply.buffer) {
            status = reply.status ?? 200;
            buf = reply.buffer;
            headers['content-type'] = reply.contentType;
            Object.assign(headers, reply.headers || {});
        } else {
            const text = JSON.stringify(reply.json);
            const at = text.indexOf(`"${INLINE_MARK}"`);
            buf =
                at < 0
                    ? Buffer.from(text)
                    : new Chunks([Buffer.from(text.slice(0, at + 1)), videoBase64Bytes(), Buffer.from(text.slice(at + 1 + INLINE_MARK.length))]);
            headers['content-type'] = 'application/json; charset=UTF-8';
        }
        if (fault?.invalid_json) {
            status = 200;
            headers['content-type'] = 'application/json; charset=UTF-8';
            buf = Buffer.from('{"id": "v1_broken", "status": "comp');
        }
        if (fault?.headers) for (const [k, v] of Object.entries(fault.headers)) headers[k.toLowerCase()] = String(v);
        headers['content-length'] = String(buf.length);
        rec.status = status;
        rec.responseBytes = buf.length;
        if (res.destroyed) return;
        if (reply.headOnly) {
            res.writeHead(status, headers);
            res.end();
            return;
        }
        let limit = buf.length;
        let cut = null;
        if (fault?.reset_after_bytes !== undefined) {
            limit = Math.min(buf.length, fault.reset_after_bytes);
            cut = 'reset';
        } else if (fault?.truncate !== undefined && fault.truncate !== false) {
            limit = fault.truncate === true ? Math.floor(buf.length / 2) : Math.min(buf.length - 1, fault.truncate);
            cut = 'truncate';
        }
        res.writeHead(status, headers);
        let off = 0;
        let lastWrite = Promise.resolve();
        const writeUpTo = async (end) => {
            while (off < end && !res.destroyed) {
                const piece = buf.subarray(off, Math.min(off + config.chunkBytes, end));
                off += piece.length;
                let ok;
                lastWrite = new Promise((resolve) => {
                    ok = res.write(piece, () => resolve());
                });
                if (!ok) await waitDrain(res);
            }
        };
        if (fault?.stall_ms !== undefined) {
            const first = Math.min(fault.stall_after_bytes ?? 0, limit);
            if (first > 0) await writeUpTo(first);
            else res.flushHeaders();
            rec.stalled = true;
            await pause(fault.stall_ms, res);
        }
        await writeUpTo(limit);
        if (res.destroyed) return;
        if (cut) {
            if (off === 0) res.flushHeaders();
            await lastWrite;
            const sock = res.socket;
            if (!sock || sock.destroyed) return;
            await new Promise((resolve) => sock.write(Buffer.alloc(0), () => resolve()));
            rec.cut = cut;
            if (cut === 'reset') sock.resetAndDestroy();
            else sock.end(() => sock.destroy());
            return;
        }
        res.end();
    }

    async function handle(origin, req, res) {
        const url = new URL(req.url, 'http://fake.invalid');
        const method = req.method.toUpperCase();
        const path = url.pathname;
        const query = parseQuery(url.searchParams);
        if (origin === 'api' && path.startsWith('/__fake/')) return handleControl(req, res, method, path, query);
        const rec = {
            seq: ++requestSeq,
            time: Date.now(),
            origin,
            method,
            path,
            query,
            headers: { ...req.headers },
            contentType: req.headers['content-type'] || null,
            bodyBytes: 0,
            json: null,
            parseError: null,
            keyIn: null,
            status: null,
            fault: null,
        };
        requests.push(rec);
        res.on('close', () => {
            rec.completed = res.writableFinished;
        });
        const rawPromise = readBody(req);
        rawPromise.catch(() => {});
        let reply;
        let fault = null;
        try {
            if (origin === 'api') checkKey(req, query, rec);
            fault = faults.take(origin, method, path);
            if (fault) rec.fault = faultSummary(fault);
            if (fault?.delay_ms) await pause(fault.delay_ms, res);
            if (fault?.drop) {
                // No response at all: the connection is reset once the request has arrived.
                await rawPromise.catch(() => {});
                rec.cut = 'drop';
                req.socket.resetAndDestroy();
                return;
            }
            if (fault?.status !== undefined) {
                await rawPromise;
                reply = faultError(fault);
                if (fault.body !== undefined) {
                    const text = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
                    let json = true;
                    try {
                        JSON.parse(text);
                    } catch {
                        json = false; // e.g. the HTML page Google's front end sends for some 502s
                    }
                    reply = { status: fault.status, buffer: Buffer.from(text), contentType: json ? 'application/json; charset=UTF-8' : 'text/html; charset=UTF-8' };
                }
            } else if (origin === 'api') {
                reply = await routeApi(req, rec, method, path.split('/').filter(Boolean), query, rawPromise);
            } else {
                await rawPromise;
                reply = routeStorage(req, method, path, query);
            }
        } catch (e) {
            if (e instanceof GeminiError) reply = e;
            else {
                log('internal error', e);
                reply = new GeminiError(500, `Fake server internal error: ${e.message}`);
            }
        }
        try {
            await rawPromise;
        } catch {
            /* reported through the reply */
        }
        if (reply instanceof GeminiError && reply.status === 413) res.setHeader('connection', 'close');
        log(origin, method, path, reply instanceof GeminiError ? reply.status : reply.status ?? 200);
        await send(res, rec, reply, fault);
    }

    // --- control API (no key) -------------------------------------------------------------
    function controlJson(res, status, obj) {
        const buf = Buffer.from(JSON.stringify(obj));
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(buf.length) });
        res.end(buf);
    }

    async function handleControl(req, res, method, path, query) {
        let body = null;
        try {
            const raw = await readBody(req);
            if (raw.length) body = JSON.parse(raw.toString('utf8'));
        } catch (e) {
            return controlJson(res, 400, { error: `bad control body: ${e.message}` });
        }
        const [, a, b, c] = path.split('/').filter(Boolean);
        try {
            if (a === 'requests' && method === 'GET') return controlJson(res, 200, requests.filter((r) => r.seq > Number(query.since ?? 0)));
            if (a === 'reset' && method === 'POST') return (api.reset(), controlJson(res, 200, { ok: true }));
            if (a === 'faults' && method === 'GET') return controlJson(res, 200, faults.list());
            if (a === 'faults' && method === 'POST') return (faults.add(body), controlJson(res, 200, faults.list()));
            if (a === 'faults' && method === 'DELETE') return (faults.clear(), controlJson(res, 200, { ok: true }));
            if (a === 'state' && method === 'GET') return controlJson(res, 200, api.snapshot());
            if (a === 'assets' && method === 'GET') return controlJson(res, 200, { video: { bytes: assets.video.length, sha256: assets.video.sha256, contentType: 'video/mp4' } });
            if (a === 'config' && method === 'POST') return (api.configure(body || {}), controlJson(res, 200, publicConfig()));
            if (a === 'next' && method === 'POST') return (api.setNextOutcome(body || {}), controlJson(res, 200, { ok: true }));
            if (a === 'interactions' && method === 'POST' && !b) return controlJson(res, 200, api.addInteraction(body || {}));
            if (a === 'interactions' && method === 'POST' && c === 'finish') return controlJson(res, 200, api.finish(b, body || undefined));
            return controlJson(res, 404, { error: `unknown control endpoint ${method} ${path}` });
        } catch (e) {
            return controlJson(res, e instanceof GeminiError ? e.status : 400, { error: e.message });
        }
    }

    function publicConfig() {
        const { models, ...rest } = config;
        return { ...rest, models: Object.keys(models) };
    }

    // --- servers ------------------------------------------------------------------------
    const sockets = new Set();
    function makeServer(origin) {
        const server = http.createServer({ keepAlive: true }, (req, res) => {
            handle(origin, req, res).catch((e) => {
                log('handler crashed', e);
                if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
                res.end();
            });
        });
        server.keepAliveTimeout = 65_000;
        server.headersTimeout = 66_000;
        server.requestTimeout = 0;
        server.on('connection', (s) => {
            s.setNoDelay(true);
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
        });
        server.on('clientError', (err, socket) => {
            if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
            else socket.destroy();
        });
        return server;
    }
    const listen = (server, port) =>
        new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, initialConfig.host, () => {
                server.off('error', reject);
                resolve(server.address().port);
            });
        });
    const apiServer = makeServer('api');
    const storageServer = makeServer('storage');
    const port = await listen(apiServer, initialConfig.port);
    const storagePort = await listen(storageServer, initialConfig.storagePort);
    const hostForUrl = initialConfig.host.includes(':') ? `[${initialConfig.host}]` : initialConfig.host;
    apiOrigin = `http://${hostForUrl}:${port}`;
    storageOrigin = `http://${hostForUrl}:${storagePort}`;

    let closing = null;
    const api = {
        url: `${apiOrigin}/v1beta`,
        origin: apiOrigin,
        port,
        storageOrigin,
        storagePort,
        control: `${apiOrigin}/__fake`,
        assets,
        faults,
        requests,
        state,
        get config() {
            return config;
        },
        configure(patch) {
            config = mergeOptions(config, patch);
            return config;
        },
        /** Recorded requests filtered by origin ('api' | 'storage'), method and path glob. */
        requestsMatching({ origin, method, path } = {}) {
            const re = path === undefined ? null : faultMatcher(path);
            return requests.filter((r) => (!origin || r.origin === origin) && (!method || r.method === method.toUpperCase()) && (!re || re.test(r.path)));
        },
        /** The Interaction as a GET would show it (not a poll). */
        view(id, opts) {
            return view(getInteraction(id, 'rpc'), opts);
        },
        /** Adds an interaction directly (default: a completed background one). Returns its view. */
        addInteraction(f = {}) {
            const status = f.status ?? 'completed';
            const outcome = normaliseOutcome(f.outcome ?? (status === 'queued' ? 'completed' : { status, error: f.error }));
            const it = makeInteraction({
                id: f.id,
                model: f.model,
                input: f.prompt ?? 'A seeded video',
                parsed: { text: f.prompt ?? 'A seeded video', images: [], format: f.seconds ? { seconds: f.seconds } : null },
                previousId: f.previous_interaction_id,
                delivery: f.delivery,
                outcome,
                forced: status === 'queued' ? null : outcome,
            });
            return view(it);
        },
        /** Ends an interaction now, with its queued outcome or the one given. Returns its view. */
        finish(id, outcome) {
            const it = getInteraction(id, 'rpc');
            it.forced = outcome ? normaliseOutcome(outcome) : it.outcome;
            return view(it);
        },
        /** How the next created interaction ends: 'completed' | 'failed' | 'safety' | 'incomplete' |
         *  'cancelled', or {status, error: {code, message}} (a queue, one per create). */
        setNextOutcome(o) {
            state.nextOutcomes.push(normaliseOutcome(o));
        },
        snapshot() {
            return {
                interactions: [...state.interactions.values()]
                    .sort((x, y) => x.seq - y.seq)
                    .map((it) => ({ id: it.id, status: statusOf(it), polls: it.polls, model: it.model, previous_interaction_id: it.previousId, outcome: it.outcome, images: it.parsed?.images ?? [] })),
                files: Object.fromEntries(state.files),
                faults: faults.list(),
                requests: requests.length,
                assets: { video: { bytes: assets.video.length, sha256: assets.video.sha256 } },
            };
        },
        reset() {
            requests.length = 0;
            requestSeq = 0;
            state.interactions.clear();
            state.files.clear();
            state.nextOutcomes.length = 0;
            faults.clear();
            config = initialConfig;
        },
        close() {
            closing ??= new Promise((resolve) => {
                for (const done of [...pauses]) done();
                let open = 2;
                const one = () => --open === 0 && resolve();
                apiServer.close(one);
                storageServer.close(one);
                apiServer.closeAllConnections();
                storageServer.closeAllConnections();
                for (const s of sockets) s.destroy();
            });
            return closing;
        },
    };
    return api;
}

// ---------------------------------------------------------------------------------------
// CLI

async function main() {
    const { values } = parseArgs({
        options: {
            port: { type: 'string', default: '0' },
            'storage-port': { type: 'string', default: '0' },
            host: { type: 'string', default: '127.0.0.1' },
            'api-key': { type: 'string' },
            'video-bytes': { type: 'string' },
            'video-seed': { type: 'string' },
            delivery: { type: 'string' },
            'queued-polls': { type: 'string' },
            'in-progress-polls': { type: 'string' },
            'time-mode': { type: 'boolean', default: false },
            'queued-ms': { type: 'string' },
            'in-progress-ms': { type: 'string' },
            'error-style': { type: 'string' },
            'no-redirect': { type: 'boolean', default: false },
            'no-stdin-watch': { type: 'boolean', default: false },
            log: { type: 'boolean', default: false },
            help: { type: 'boolean', default: false },
        },
    });
    if (values.help) {
        process.stdout.write(
            'usage: node server.mjs [--port N] [--storage-port N] [--host H] [--api-key K] [--video-bytes N] [--video-seed N]\n' +
                '       [--delivery inline|uri] [--queued-polls N] [--in-progress-polls N] [--time-mode --queued-ms N --in-progress-ms N]\n' +
                '       [--error-style interactions|rpc] [--no-redirect] [--no-stdin-watch] [--log]\n' +
                'Prints one JSON line {"url","origin","storage_origin",...} then serves until SIGTERM/SIGINT or stdin closes.\n',
        );
        return;
    }
    const int = (s, name) => {
        if (s === undefined) return undefined;
        if (!/^\d+$/.test(s)) throw new Error(`--${name} needs a non-negative integer`);
        return Number(s);
    };
    const oneOf = (s, name, allowed) => {
        if (s !== undefined && !allowed.includes(s)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
        return s;
    };
    const fake = await startFakeGemini({
        port: int(values.port, 'port'),
        storagePort: int(values['storage-port'], 'storage-port'),
        host: values.host,
        apiKey: values['api-key'] ?? null,
        videoBytes: int(values['video-bytes'], 'video-bytes'),
        videoSeed: int(values['video-seed'], 'video-seed'),
        delivery: oneOf(values.delivery, 'delivery', ['inline', 'uri']),
        queuedPolls: int(values['queued-polls'], 'queued-polls'),
        inProgressPolls: int(values['in-progress-polls'], 'in-progress-polls'),
        mode: values['time-mode'] ? 'time' : undefined,
        queuedMs: int(values['queued-ms'], 'queued-ms'),
        inProgressMs: int(values['in-progress-ms'], 'in-progress-ms'),
        serviceErrorStyle: oneOf(values['error-style'], 'error-style', ['interactions', 'rpc']),
        redirect: values['no-redirect'] ? false : undefined,
        log: values.log,
    });
    const shutdown = () => {
        fake.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    // Watch stdin only when it is a pipe or socket (a parent that dies closes it).
    if (!values['no-stdin-watch']) {
        let watch = false;
        try {
            const st = fs.fstatSync(0);
            watch = st.isFIFO() || st.isSocket();
        } catch {
            watch = false;
        }
        if (watch) {
            process.stdin.on('end', shutdown);
            process.stdin.on('close', shutdown);
            process.stdin.resume();
        }
    }
    process.stdout.write(
        JSON.stringify({
            url: fake.url,
            origin: fake.origin,
            port: fake.port,
            storage_origin: fake.storageOrigin,
            control: fake.control,
            video_bytes: fake.assets.video.length,
            video_sha256: fake.assets.video.sha256,
        }) + '\n',
    );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
    main().catch((e) => {
        process.stderr.write(`fake-gemini: ${e.message}\n`);
        process.exit(2);
    });
}
