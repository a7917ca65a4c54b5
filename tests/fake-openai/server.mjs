#!/usr/bin/env node
// A stateful fake of the parts of the OpenAI API that sanzaru calls, for end-to-end tests
// and benchmarks. Node.js 20, ESM, node: built-ins only. See README.md for the contract.
//
// Everything lives under /v1 and needs `Authorization: Bearer <non-empty>` (as Azure OpenAI,
// `flavour: 'azure'`: under /openai/v1 with an `api-key` header; README.md, "Azure"):
//   videos      POST /videos, GET /videos, GET|DELETE /videos/{id}, POST /videos/{id}/remix,
//               GET /videos/{id}/content?variant=video|thumbnail|spritesheet
//   responses   POST /responses (background image_generation), GET|DELETE /responses/{id},
//               POST /responses/{id}/cancel
//   images      POST /images/generations, POST /images/edits
//   files       POST /files
//   audio       POST /audio/transcriptions, POST /audio/speech, POST /chat/completions
//               (input_audio), in audio.mjs
// Videos and responses move queued -> in_progress -> completed per poll (or with time);
// downloads are served from one in-memory buffer generated once; faults (error status,
// resets, stalls, truncation, invalid JSON, delays) are injected per path, in order.
// Every request is recorded. /__control/* (no auth) drives all of that from outside.
//
// In-process: `const fake = await startFakeOpenAI({...})`. As a program:
//   node tests/fake-openai/server.mjs --port 0   -> prints {"url":...,"port":...} and serves.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import { parseMultipart, MultipartError } from './multipart.mjs';
import { encodePng, JPEG_64x48, WEBP_64x48, makeVideoBytes, probeImage, sha256, mimeOf } from './media.mjs';
import { audioEndpoints, AUDIO_DEFAULTS } from './audio.mjs';

export const VIDEO_SIZES = ['720x1280', '1280x720', '1024x1792', '1792x1024'];
export const VIDEO_SECONDS = ['4', '8', '12'];
export const VIDEO_VARIANTS = { video: 'video/mp4', thumbnail: 'image/webp', spritesheet: 'image/jpeg' };
export const DEFAULT_VIDEO_BYTES = 7691516;

const DEFAULTS = {
    host: '127.0.0.1',
    port: 0,
    apiKey: null, // null: any non-empty bearer token is accepted
    maxBodyBytes: 64 * 1024 * 1024,
    chunkBytes: 64 * 1024,
    videoBytes: DEFAULT_VIDEO_BYTES,
    videoSeed: 1,
    imageWidth: 64,
    imageHeight: 48,
    log: false,
    flavour: 'openai', // 'azure': Azure OpenAI's v1 API (/openai/v1, api-key header)
    videosRetired: null, // 404 or 410: the Videos API is gone (OpenAI retired it on 2026-09-24)
    videos: {
        mode: 'polls', // 'polls' | 'time'
        queuedPolls: 1,
        inProgressPolls: 2,
        queuedMs: 100,
        inProgressMs: 400,
        notReadyStatus: 404,
        remixRequiresCompleted: true,
        checkReferenceSize: false,
    },
    responses: {
        mode: 'polls',
        queuedPolls: 1,
        inProgressPolls: 1,
        queuedMs: 100,
        inProgressMs: 400,
    },
    audio: AUDIO_DEFAULTS,
};

const TYPE_BY_STATUS = {
    400: 'invalid_request_error',
    401: 'invalid_request_error',
    403: 'invalid_request_error',
    404: 'invalid_request_error',
    409: 'invalid_request_error',
    413: 'invalid_request_error',
    415: 'invalid_request_error',
    422: 'invalid_request_error',
    429: 'rate_limit_exceeded',
};
const FAULT_MESSAGES = {
    400: 'Invalid request (injected fault).',
    401: 'Incorrect API key provided (injected fault).',
    403: 'Forbidden (injected fault).',
    404: 'No such resource (injected fault).',
    408: 'Request timed out (injected fault).',
    409: 'Conflict (injected fault).',
    429: 'Rate limit reached for requests (injected fault).',
    500: 'The server had an error while processing your request (injected fault).',
    502: 'Bad gateway (injected fault).',
    503: 'The engine is currently overloaded, please try again later (injected fault).',
    504: 'Gateway timeout (injected fault).',
};

class ApiError extends Error {
    constructor(status, message, { type, param = null, code = null, headers } = {}) {
        super(message);
        this.status = status;
        this.type = type || TYPE_BY_STATUS[status] || (status >= 500 ? 'server_error' : 'invalid_request_error');
        this.param = param;
        this.code = code;
        this.headers = headers || {};
    }
    body() {
        return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
    }
}
const bad = (message, param = null, code = null) => new ApiError(400, message, { param, code });

function newId(prefix) {
    return prefix + randomBytes(16).toString('hex');
}

function isPlainObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeOptions(base, patch) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch || {})) {
        if (isPlainObject(v) && isPlainObject(base[k])) out[k] = { ...base[k], ...v };
        else if (v !== undefined) out[k] = v;
    }
    return out;
}

/** Compiles a fault/request path pattern: RegExp as is; a string is a glob over the path
 *  ("*" = one segment's worth of characters, "**" = anything); a string without a leading
 *  "/" is taken relative to base (default /v1; /openai/v1 for the Azure flavour). */
export function compilePathPattern(p, base = '/v1') {
    if (p instanceof RegExp) return p;
    if (typeof p !== 'string' || p === '') throw new TypeError('path pattern must be a non-empty string or a RegExp');
    const full = p.startsWith('/') ? p : `${base}/${p}`;
    let re = '';
    for (let i = 0; i < full.length; i++) {
        const c = full[i];
        if (c === '*' && full[i + 1] === '*') {
            re += '.*';
            i++;
        } else if (c === '*') re += '[^/]*';
        else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
}

const FAULT_KEYS = new Set([
    'method', 'path', 'count', 'status', 'error', 'headers', 'body', 'reset_after_bytes', 'stall_ms',
    'stall_after_bytes', 'truncate', 'invalid_json', 'delay_ms',
]);

function normaliseFault(spec, base) {
    if (!isPlainObject(spec)) throw new TypeError('a fault must be an object');
    for (const k of Object.keys(spec)) if (!FAULT_KEYS.has(k)) throw new TypeError(`unknown fault field '${k}'`);
    if (spec.path === undefined) throw new TypeError("a fault needs 'path'");
    const count = spec.count === undefined ? 1 : spec.count;
    if (!(count === -1 || count === Infinity || (Number.isInteger(count) && count > 0)))
        throw new TypeError("fault 'count' must be a positive integer or -1 (unlimited)");
    const nonNeg = (k) => {
        if (spec[k] !== undefined && !(Number.isInteger(spec[k]) && spec[k] >= 0))
            throw new TypeError(`fault '${k}' must be a non-negative integer`);
    };
    ['reset_after_bytes', 'stall_ms', 'stall_after_bytes', 'delay_ms'].forEach(nonNeg);
    if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599))
        throw new TypeError("fault 'status' must be an HTTP status code");
    if (spec.truncate !== undefined && !(spec.truncate === true || (Number.isInteger(spec.truncate) && spec.truncate >= 0)))
        throw new TypeError("fault 'truncate' must be true or a byte count");
    const kinds = ['status', 'reset_after_bytes', 'stall_ms', 'truncate', 'invalid_json', 'delay_ms'].filter(
        (k) => spec[k] !== undefined && spec[k] !== false,
    );
    if (kinds.length === 0) throw new TypeError('a fault needs one of status, reset_after_bytes, stall_ms, truncate, invalid_json, delay_ms');
    if (spec.reset_after_bytes !== undefined && spec.truncate !== undefined)
        throw new TypeError('reset_after_bytes and truncate cannot be combined');
    return {
        ...spec,
        method: spec.method ? String(spec.method).toUpperCase() : null,
        count: count === -1 ? Infinity : count,
        remaining: count === -1 ? Infinity : count,
        matcher: compilePathPattern(spec.path, base),
        kinds,
    };
}

function faultSummary(f) {
    const out = {};
    for (const k of FAULT_KEYS) if (k !== 'count' && f[k] !== undefined && f[k] !== null) out[k] = f[k] instanceof RegExp ? String(f[k]) : f[k];
    return out;
}

function publicFault(f) {
    return { ...faultSummary(f), count: f.count === Infinity ? -1 : f.count, remaining: f.remaining === Infinity ? -1 : f.remaining };
}

/** Parses the query string into {key: value} (repeated keys become arrays). */
function parseQuery(searchParams) {
    const q = {};
    for (const [k, v] of searchParams) {
        if (q[k] === undefined) q[k] = v;
        else if (Array.isArray(q[k])) q[k].push(v);
        else q[k] = [q[k], v];
    }
    return q;
}

function fileInfo(part) {
    const probe = probeImage(part.data);
    return {
        name: part.name,
        filename: part.filename,
        contentType: part.contentType,
        bytes: part.data.length,
        sha256: sha256(part.data),
        format: probe ? probe.format : null,
        width: probe ? probe.width : null,
        height: probe ? probe.height : null,
    };
}

function pngHasAlpha(buf) {
    // colour type 4 (grey+alpha) or 6 (RGBA), or any palette/grey/RGB image with a tRNS chunk
    if (buf.length < 33) return false;
    if (buf[25] === 4 || buf[25] === 6) return true;
    return buf.indexOf('tRNS', 33, 'latin1') > 0;
}

function decodeDataUrl(url) {
    const m = /^data:([^;,]+)((?:;[^;,]*)*?);base64,(.*)$/s.exec(url);
    if (!m) return null;
    const b64 = m[3];
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return { mime: m[1], data: null };
    return { mime: m[1].toLowerCase(), data: Buffer.from(b64, 'base64') };
}

// ---------------------------------------------------------------------------------------
// The server

/**
 * Starts a fake OpenAI server. Resolves once it listens.
 * Returns {url, port, close(), state, faults, requests, reset(), ...helpers}; see README.md.
 */
export async function startFakeOpenAI(options = {}) {
    const initialConfig = mergeOptions(DEFAULTS, options);
    let config = initialConfig;
    if (initialConfig.flavour !== 'openai' && initialConfig.flavour !== 'azure') throw new TypeError("flavour must be 'openai' or 'azure'");
    const azure = initialConfig.flavour === 'azure';
    // Where the API lives: OpenAI's /v1, or Azure OpenAI's v1 API under the resource's endpoint.
    const base = azure ? '/openai/v1' : '/v1';
    const now = typeof options.now === 'function' ? options.now : () => Date.now();
    const nowSec = () => Math.floor(now() / 1000);
    const log = (...a) => {
        if (config.log) console.error('[fake-openai]', ...a);
    };

    // Media, generated once per server (the video buffer is shared per process and size).
    const png = encodePng(initialConfig.imageWidth, initialConfig.imageHeight);
    const asset = (bytes, contentType) => ({ bytes, length: bytes.length, sha256: sha256(bytes), contentType });
    const assets = {
        video: asset(makeVideoBytes(initialConfig.videoBytes, initialConfig.videoSeed), 'video/mp4'),
        thumbnail: asset(WEBP_64x48, 'image/webp'),
        spritesheet: asset(JPEG_64x48, 'image/jpeg'),
        png: asset(png, 'image/png'),
        jpeg: asset(JPEG_64x48, 'image/jpeg'),
        webp: asset(WEBP_64x48, 'image/webp'),
    };
    const imageByFormat = { png: assets.png, jpeg: assets.jpeg, webp: assets.webp };

    const requests = [];
    let requestSeq = 0;
    let objectSeq = 0;
    const state = {
        videos: new Map(),
        responses: new Map(),
        files: new Map(),
        nextVideoOutcomes: [],
        nextResponseOutcomes: [],
        assets,
    };
    const faultList = [];

    // --- faults ------------------------------------------------------------------------
    const faults = {
        /** Adds one fault spec or an array of them; returns the normalised fault(s). */
        add(spec) {
            const specs = Array.isArray(spec) ? spec : [spec];
            const added = specs.map((f) => normaliseFault(f, base));
            faultList.push(...added);
            return Array.isArray(spec) ? added : added[0];
        },
        clear() {
            faultList.length = 0;
        },
        list() {
            return faultList.map(publicFault);
        },
        /** Number of fault uses still pending (unlimited faults count as Infinity). */
        pending() {
            return faultList.reduce((n, f) => n + f.remaining, 0);
        },
        take(method, path) {
            for (let i = 0; i < faultList.length; i++) {
                const f = faultList[i];
                if (f.method && f.method !== method) continue;
                if (!f.matcher.test(path)) continue;
                f.remaining -= 1;
                if (f.remaining <= 0) faultList.splice(i, 1);
                return f;
            }
            return null;
        },
    };

    // --- videos ------------------------------------------------------------------------
    function makeVideo(fields) {
        const created = now();
        const outcome = fields.outcome || state.nextVideoOutcomes.shift() || { status: 'completed' };
        const v = {
            id: fields.id || newId('video_'),
            seq: ++objectSeq,
            model: fields.model ?? 'sora-2',
            prompt: fields.prompt ?? null,
            size: fields.size ?? '720x1280',
            seconds: fields.seconds ?? '4',
            remixedFrom: fields.remixedFrom ?? null,
            createdAtMs: created,
            createdAt: Math.floor(created / 1000),
            polls: 0,
            outcome,
            forced: fields.forced || null,
            completedAt: null,
            expiresAt: null,
            inputReference: fields.inputReference ?? null,
            requestSeq: fields.requestSeq ?? null,
        };
        state.videos.set(v.id, v);
        return v;
    }

    function videoStage(v) {
        const c = config.videos;
        if (v.forced) return { stage: 'final', progress: 100 };
        if (c.mode === 'time') {
            const e = now() - v.createdAtMs;
            if (e < c.queuedMs) return { stage: 'queued', progress: 0 };
            if (e < c.queuedMs + c.inProgressMs)
                return { stage: 'in_progress', progress: Math.min(99, 1 + Math.floor((98 * (e - c.queuedMs)) / Math.max(1, c.inProgressMs))) };
            return { stage: 'final' };
        }
        const k = v.polls;
        if (k <= c.queuedPolls) return { stage: 'queued', progress: 0 };
        if (k <= c.queuedPolls + c.inProgressPolls)
            return { stage: 'in_progress', progress: Math.round(((k - c.queuedPolls) * 100) / (c.inProgressPolls + 1)) };
        return { stage: 'final' };
    }

    function videoView(v) {
        const s = videoStage(v);
        const final = v.forced || v.outcome;
        let status = s.stage;
        let progress = s.progress ?? 0;
        let error = null;
        if (s.stage === 'final') {
            if (final.status === 'failed') {
                status = 'failed';
                progress = 0;
                error = { code: final.error?.code ?? 'video_generation_failed', message: final.error?.message ?? 'Video generation failed.' };
            } else {
                status = 'completed';
                progress = 100;
                if (v.completedAt === null) {
                    v.completedAt = nowSec();
                    v.expiresAt = v.completedAt + 86400;
                }
            }
        }
        return {
            id: v.id,
            object: 'video',
            model: v.model,
            status,
            progress,
            created_at: v.createdAt,
            completed_at: status === 'completed' ? v.completedAt : null,
            expires_at: status === 'completed' ? v.expiresAt : null,
            prompt: v.prompt,
            size: v.size,
            seconds: v.seconds,
            remixed_from_video_id: v.remixedFrom,
            error,
        };
    }

    function getVideo(id) {
        const v = state.videos.get(id);
        if (!v) throw new ApiError(404, `No video found with id '${id}'.`, { code: null });
        return v;
    }

    function validateVideoFields(fields, { json }) {
        const allowed = new Set(['prompt', 'model', 'seconds', 'size', 'input_reference']);
        for (const k of Object.keys(fields)) if (!allowed.has(k)) throw bad(`Unknown parameter: '${k}'.`, k, 'unknown_parameter');
        const { prompt, model, seconds, size } = fields;
        if (prompt === undefined) throw bad("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
        if (typeof prompt !== 'string') throw bad("Invalid type for 'prompt': expected a string.", 'prompt', 'invalid_type');
        if (prompt.length < 1) throw bad("Invalid 'prompt': string too short. Expected a string with minimum length 1.", 'prompt', 'string_below_min_length');
        if (prompt.length > 32000) throw bad("Invalid 'prompt': string too long. Expected a string with maximum length 32000.", 'prompt', 'string_above_max_length');
        if (model !== undefined && (typeof model !== 'string' || model === ''))
            throw bad("Invalid type for 'model': expected a non-empty string.", 'model', 'invalid_type');
        if (seconds !== undefined && !(typeof seconds === 'string' && VIDEO_SECONDS.includes(seconds)))
            throw bad(`Invalid value: '${seconds}'. Supported values are: '4', '8', and '12'.`, 'seconds', 'invalid_value');
        if (size !== undefined && !(typeof size === 'string' && VIDEO_SIZES.includes(size)))
            throw bad(`Invalid value: '${size}'. Supported values are: '720x1280', '1280x720', '1024x1792', and '1792x1024'.`, 'size', 'invalid_value');
        if (json && fields.input_reference !== undefined) {
            const r = fields.input_reference;
            if (!isPlainObject(r)) throw bad("Invalid type for 'input_reference': expected an object.", 'input_reference', 'invalid_type');
            const keys = Object.keys(r);
            if (keys.length !== 1 || !['image_url', 'file_id'].includes(keys[0]) || typeof r[keys[0]] !== 'string')
                throw bad("Invalid 'input_reference': provide exactly one of 'image_url' or 'file_id'.", 'input_reference', 'invalid_value');
        }
    }

    function createVideo(rec, body) {
        let fields;
        let inputReference = null;
        if (body.kind === 'multipart') {
            fields = {};
            for (const p of body.parts) {
                if (p.name === 'input_reference' && p.filename !== null) {
                    if (inputReference) throw bad("Duplicate parameter: 'input_reference'.", 'input_reference', 'duplicate_parameter');
                    inputReference = p;
                    continue;
                }
                if (p.filename !== null) throw bad(`Unexpected file parameter: '${p.name}'.`, p.name, 'unknown_parameter');
                if (fields[p.name] !== undefined) throw bad(`Duplicate parameter: '${p.name}'.`, p.name, 'duplicate_parameter');
                fields[p.name] = p.data.toString('utf8');
            }
            validateVideoFields(fields, { json: false });
        } else if (body.kind === 'json') {
            if (!isPlainObject(body.json)) throw bad('The request body must be a JSON object.');
            fields = body.json;
            validateVideoFields(fields, { json: true });
        } else {
            throw new ApiError(415, 'Expected a multipart/form-data or application/json body.', { code: 'unsupported_media_type' });
        }
        let refInfo = null;
        if (inputReference) {
            refInfo = fileInfo(inputReference);
            const ct = (inputReference.contentType || '').split(';')[0].trim().toLowerCase();
            const okTypes = ['image/jpeg', 'image/png', 'image/webp', 'video/mp4'];
            if (!okTypes.includes(ct))
                throw bad(`Invalid file 'input_reference': unsupported mimetype ('${ct || 'none'}'). Supported mimetypes: 'image/jpeg', 'image/png', 'image/webp', 'video/mp4'.`, 'input_reference', 'unsupported_file');
            const isMp4 = inputReference.data.length > 8 && inputReference.data.toString('latin1', 4, 8) === 'ftyp';
            if (ct === 'video/mp4' ? !isMp4 : !(refInfo.format && mimeOf(refInfo.format) === ct))
                throw bad(`Invalid file 'input_reference': the file content is not a valid ${ct} file.`, 'input_reference', 'invalid_file');
            if (config.videos.checkReferenceSize && refInfo.width !== null) {
                const [w, h] = (fields.size || '720x1280').split('x').map(Number);
                if (refInfo.width !== w || refInfo.height !== h)
                    throw bad('Inpaint image must match the requested width and height', 'input_reference', 'invalid_value');
            }
        } else if (fields.input_reference !== undefined) {
            refInfo = { ...fields.input_reference };
        }
        const v = makeVideo({
            model: fields.model,
            prompt: fields.prompt,
            size: fields.size,
            seconds: fields.seconds,
            inputReference: refInfo,
            requestSeq: rec.seq,
        });
        rec.created = v.id;
        return { json: videoView(v) };
    }

    function listVideos(query) {
        let limit = 20;
        if (query.limit !== undefined) {
            if (!/^\d+$/.test(String(query.limit)) || Number(query.limit) > 100)
                throw bad(`Invalid 'limit': expected an integer between 0 and 100, got '${query.limit}'.`, 'limit', 'invalid_value');
            limit = Number(query.limit);
        }
        const order = query.order ?? 'desc';
        if (order !== 'asc' && order !== 'desc') throw bad(`Invalid 'order': expected 'asc' or 'desc', got '${order}'.`, 'order', 'invalid_value');
        let all = [...state.videos.values()].sort((a, b) => a.seq - b.seq);
        if (order === 'desc') all.reverse();
        if (query.after !== undefined) {
            const i = all.findIndex((v) => v.id === query.after);
            if (i < 0) throw bad(`Invalid 'after': no video with id '${query.after}'.`, 'after', 'invalid_value');
            all = all.slice(i + 1);
        }
        const page = all.slice(0, limit).map(videoView);
        return {
            json: {
                object: 'list',
                data: page,
                first_id: page.length ? page[0].id : null,
                last_id: page.length ? page[page.length - 1].id : null,
                has_more: all.length > page.length,
            },
        };
    }

    function remixVideo(rec, id, body) {
        const src = getVideo(id);
        let prompt;
        if (body.kind === 'json') {
            if (!isPlainObject(body.json)) throw bad('The request body must be a JSON object.');
            for (const k of Object.keys(body.json)) if (k !== 'prompt') throw bad(`Unknown parameter: '${k}'.`, k, 'unknown_parameter');
            prompt = body.json.prompt;
        } else if (body.kind === 'multipart') {
            for (const p of body.parts) if (p.name !== 'prompt') throw bad(`Unknown parameter: '${p.name}'.`, p.name, 'unknown_parameter');
            const p = body.parts.find((x) => x.name === 'prompt');
            prompt = p ? p.data.toString('utf8') : undefined;
        } else throw new ApiError(415, 'Expected an application/json body.', { code: 'unsupported_media_type' });
        if (prompt === undefined) throw bad("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
        if (typeof prompt !== 'string' || prompt.length < 1 || prompt.length > 32000)
            throw bad("Invalid 'prompt': expected a string of 1 to 32000 characters.", 'prompt', 'invalid_value');
        if (config.videos.remixRequiresCompleted && videoView(src).status !== 'completed')
            throw bad(`Video '${id}' is not completed; only completed videos can be remixed.`, null, 'video_not_completed');
        const v = makeVideo({ model: src.model, prompt, size: src.size, seconds: src.seconds, remixedFrom: src.id, requestSeq: rec.seq });
        rec.created = v.id;
        return { json: videoView(v) };
    }

    function videoContent(id, query) {
        const v = getVideo(id);
        const variant = query.variant ?? 'video';
        if (typeof variant !== 'string' || !VIDEO_VARIANTS[variant])
            throw bad(`Invalid 'variant': expected one of 'video', 'thumbnail', 'spritesheet', got '${variant}'.`, 'variant', 'invalid_value');
        const view = videoView(v);
        if (view.status !== 'completed')
            throw new ApiError(config.videos.notReadyStatus, `Video is not ready yet (status: ${view.status}). Use GET /v1/videos/${id} to check its status.`, { code: 'video_not_ready' });
        const a = assets[variant];
        return { buffer: a.bytes, contentType: a.contentType, headers: { 'content-disposition': `attachment; filename="${id}.${{ video: 'mp4', thumbnail: 'webp', spritesheet: 'jpg' }[variant]}"` } };
    }

    // --- responses ---------------------------------------------------------------------
    const RESPONSE_OUTCOMES = new Set(['completed', 'no_image_call', 'call_failed', 'call_in_progress', 'call_generating', 'failed', 'incomplete']);
    function normaliseResponseOutcome(o) {
        const out = typeof o === 'string' ? { outcome: o } : { ...o };
        if (!RESPONSE_OUTCOMES.has(out.outcome)) throw new TypeError(`unknown response outcome '${out.outcome}'`);
        return out;
    }
    function normaliseVideoOutcome(o) {
        const out = typeof o === 'string' ? { status: o } : { ...o };
        if (out.status !== 'completed' && out.status !== 'failed') throw new TypeError(`unknown video outcome '${out.status}'`);
        return out;
    }

    const TOOL_KEYS = new Set([
        'type', 'model', 'quality', 'size', 'output_format', 'output_compression', 'moderation', 'background',
        'input_fidelity', 'input_image_mask', 'partial_images', 'action',
    ]);
    function validateImageTool(t, i) {
        const p = (k) => `tools[${i}].${k}`;
        for (const k of Object.keys(t)) if (!TOOL_KEYS.has(k)) throw bad(`Unknown parameter: '${p(k)}'.`, p(k), 'unknown_parameter');
        const enumCheck = (k, values) => {
            if (t[k] !== undefined && !values.includes(t[k]))
                throw bad(`Invalid value: '${t[k]}'. Supported values are: ${values.map((x) => `'${x}'`).join(', ')}.`, p(k), 'invalid_value');
        };
        if (t.model !== undefined && typeof t.model !== 'string') throw bad(`Invalid type for '${p('model')}': expected a string.`, p('model'), 'invalid_type');
        if (t.size !== undefined && typeof t.size !== 'string') throw bad(`Invalid type for '${p('size')}': expected a string.`, p('size'), 'invalid_type');
        enumCheck('quality', ['low', 'medium', 'high', 'auto']);
        enumCheck('output_format', ['png', 'webp', 'jpeg']);
        enumCheck('moderation', ['auto', 'low']);
        enumCheck('background', ['transparent', 'opaque', 'auto']);
        enumCheck('action', ['generate', 'edit', 'auto']);
        if (t.input_fidelity !== undefined && t.input_fidelity !== null) enumCheck('input_fidelity', ['high', 'low']);
        if (t.output_compression !== undefined && !(Number.isInteger(t.output_compression) && t.output_compression >= 0 && t.output_compression <= 100))
            throw bad(`Invalid '${p('output_compression')}': expected an integer between 0 and 100.`, p('output_compression'), 'invalid_value');
        if (t.partial_images !== undefined && !(Number.isInteger(t.partial_images) && t.partial_images >= 0 && t.partial_images <= 3))
            throw bad(`Invalid '${p('partial_images')}': expected an integer between 0 and 3.`, p('partial_images'), 'invalid_value');
        if (t.input_image_mask !== undefined) {
            const m = t.input_image_mask;
            const mp = p('input_image_mask');
            if (!isPlainObject(m)) throw bad(`Invalid type for '${mp}': expected an object.`, mp, 'invalid_type');
            for (const k of Object.keys(m))
                if (k !== 'file_id' && k !== 'image_url') throw bad(`Unknown parameter: '${mp}.${k}'.`, `${mp}.${k}`, 'unknown_parameter');
            if (m.file_id !== undefined) {
                if (typeof m.file_id !== 'string' || !state.files.has(m.file_id))
                    throw bad(`Invalid '${mp}.file_id': no file with id '${m.file_id}'.`, `${mp}.file_id`, 'invalid_value');
            }
            if (m.image_url !== undefined && typeof m.image_url !== 'string')
                throw bad(`Invalid type for '${mp}.image_url': expected a string.`, `${mp}.image_url`, 'invalid_type');
        }
    }

    function validateInput(input, rec) {
        rec.inputImages = [];
        if (typeof input === 'string') {
            if (input.length === 0) throw bad("Invalid 'input': empty string.", 'input', 'invalid_value');
            return;
        }
        if (!Array.isArray(input) || input.length === 0) throw bad("Invalid 'input': expected a string or a non-empty array of input items.", 'input', 'invalid_type');
        input.forEach((item, i) => {
            const ip = `input[${i}]`;
            if (!isPlainObject(item)) throw bad(`Invalid type for '${ip}': expected an object.`, ip, 'invalid_type');
            if (item.type !== undefined && item.type !== 'message') throw bad(`Invalid '${ip}.type': this fake supports only message items.`, `${ip}.type`, 'invalid_value');
            if (!['user', 'assistant', 'system', 'developer'].includes(item.role))
                throw bad(`Invalid '${ip}.role': expected 'user', 'assistant', 'system' or 'developer'.`, `${ip}.role`, 'invalid_value');
            for (const k of Object.keys(item))
                if (!['type', 'role', 'content', 'status', 'phase'].includes(k)) throw bad(`Unknown parameter: '${ip}.${k}'.`, `${ip}.${k}`, 'unknown_parameter');
            if (typeof item.content === 'string') return;
            if (!Array.isArray(item.content) || item.content.length === 0)
                throw bad(`Invalid '${ip}.content': expected a string or a non-empty array.`, `${ip}.content`, 'invalid_type');
            item.content.forEach((c, j) => {
                const cp = `${ip}.content[${j}]`;
                if (!isPlainObject(c)) throw bad(`Invalid type for '${cp}': expected an object.`, cp, 'invalid_type');
                if (c.type === 'input_text') {
                    for (const k of Object.keys(c)) if (k !== 'type' && k !== 'text') throw bad(`Unknown parameter: '${cp}.${k}'.`, `${cp}.${k}`, 'unknown_parameter');
                    if (typeof c.text !== 'string') throw bad(`Invalid type for '${cp}.text': expected a string.`, `${cp}.text`, 'invalid_type');
                } else if (c.type === 'input_image') {
                    for (const k of Object.keys(c))
                        if (!['type', 'image_url', 'file_id', 'detail'].includes(k)) throw bad(`Unknown parameter: '${cp}.${k}'.`, `${cp}.${k}`, 'unknown_parameter');
                    if (!['low', 'high', 'auto', 'original'].includes(c.detail))
                        throw bad(`Invalid '${cp}.detail': expected 'low', 'high', 'auto' or 'original'.`, `${cp}.detail`, 'invalid_value');
                    const hasUrl = typeof c.image_url === 'string';
                    const hasFile = typeof c.file_id === 'string';
                    if (hasUrl === hasFile) throw bad(`Invalid '${cp}': provide exactly one of 'image_url' or 'file_id'.`, cp, 'invalid_value');
                    const info = { path: cp, detail: c.detail };
                    if (hasFile) {
                        if (!state.files.has(c.file_id)) throw bad(`Invalid '${cp}.file_id': no file with id '${c.file_id}'.`, `${cp}.file_id`, 'invalid_value');
                        info.fileId = c.file_id;
                    } else if (c.image_url.startsWith('data:')) {
                        const d = decodeDataUrl(c.image_url);
                        if (!d || !d.data) throw bad(`Invalid '${cp}.image_url': malformed base64 data URL.`, `${cp}.image_url`, 'invalid_image_url');
                        const probe = probeImage(d.data);
                        if (!probe || !['png', 'jpeg', 'webp', 'gif'].includes(probe.format))
                            throw bad(`Invalid '${cp}.image_url': the data is not a PNG, JPEG, WEBP or GIF image.`, `${cp}.image_url`, 'invalid_image_format');
                        Object.assign(info, { mime: d.mime, bytes: d.data.length, sha256: sha256(d.data), format: probe.format, width: probe.width, height: probe.height });
                    } else if (/^https?:\/\//.test(c.image_url)) {
                        info.url = c.image_url;
                    } else throw bad(`Invalid '${cp}.image_url': expected a URL or a base64 data URL.`, `${cp}.image_url`, 'invalid_image_url');
                    rec.inputImages.push(info);
                } else throw bad(`Invalid '${cp}.type': this fake supports 'input_text' and 'input_image'.`, `${cp}.type`, 'invalid_value');
            });
        });
    }

    function createResponse(rec, body) {
        if (body.kind !== 'json') throw new ApiError(415, 'Expected an application/json body.', { code: 'unsupported_media_type' });
        const b = body.json;
        if (!isPlainObject(b)) throw bad('The request body must be a JSON object.');
        if (typeof b.model !== 'string' || b.model === '') throw bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
        if (b.background !== true) throw bad("This fake serves background responses only: set 'background' to true.", 'background', 'invalid_value');
        if (b.stream) throw bad("This fake does not stream: 'stream' must be false or absent.", 'stream', 'invalid_value');
        if (!Array.isArray(b.tools)) throw bad("Missing required parameter: 'tools' (an image_generation tool).", 'tools', 'missing_required_parameter');
        let imageTool = null;
        b.tools.forEach((t, i) => {
            if (!isPlainObject(t) || typeof t.type !== 'string') throw bad(`Invalid 'tools[${i}]': expected an object with a 'type'.`, `tools[${i}]`, 'invalid_type');
            if (t.type === 'image_generation') {
                validateImageTool(t, i);
                if (!imageTool) imageTool = t;
            }
        });
        if (!imageTool) throw bad("Invalid 'tools': an {type: 'image_generation'} tool is required.", 'tools', 'invalid_value');
        if (b.input === undefined) throw bad("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
        validateInput(b.input, rec);
        if (b.previous_response_id !== undefined && b.previous_response_id !== null) {
            if (typeof b.previous_response_id !== 'string' || !state.responses.has(b.previous_response_id))
                throw bad(`Previous response with id '${b.previous_response_id}' not found.`, 'previous_response_id', 'previous_response_not_found');
        }
        const created = now();
        const outcome = state.nextResponseOutcomes.shift() || { outcome: 'completed' };
        const r = {
            id: newId('resp_'),
            seq: ++objectSeq,
            model: b.model,
            createdAtMs: created,
            createdAt: Math.floor(created / 1000),
            polls: 0,
            outcome,
            forced: null,
            completedAt: null,
            tools: b.tools.map((t) => (t.type === 'image_generation' ? { model: 'gpt-image-1', quality: 'auto', size: 'auto', output_format: 'png', background: 'auto', moderation: 'auto', ...t } : t)),
            previousResponseId: b.previous_response_id ?? null,
            instructions: b.instructions ?? null,
            metadata: b.metadata ?? {},
            prompt: typeof b.input === 'string' ? b.input : null,
            outputFormat: imageTool.output_format || 'png',
            callId: newId('ig_'),
            msgId: newId('msg_'),
            requestSeq: rec.seq,
        };
        state.responses.set(r.id, r);
        rec.created = r.id;
        return { json: responseView(r) };
    }

    function responseStage(r) {
        const c = config.responses;
        if (r.forced) return 'final';
        if (c.mode === 'time') {
            const e = now() - r.createdAtMs;
            if (e < c.queuedMs) return 'queued';
            if (e < c.queuedMs + c.inProgressMs) return 'in_progress';
            return 'final';
        }
        if (r.polls <= c.queuedPolls) return 'queued';
        if (r.polls <= c.queuedPolls + c.inProgressPolls) return 'in_progress';
        return 'final';
    }

    function responseView(r) {
        const stage = responseStage(r);
        const o = r.forced || r.outcome;
        const hasCall = o.outcome !== 'no_image_call' && o.outcome !== 'failed';
        const base = {
            id: r.id,
            object: 'response',
            created_at: r.createdAt,
            status: stage,
            background: true,
            completed_at: null,
            error: null,
            incomplete_details: null,
            instructions: r.instructions,
            max_output_tokens: null,
            model: r.model,
            output: [],
            parallel_tool_calls: true,
            previous_response_id: r.previousResponseId,
            reasoning: { effort: null, summary: null },
            store: true,
            temperature: 1,
            text: { format: { type: 'text' } },
            tool_choice: 'auto',
            tools: r.tools,
            top_p: 1,
            truncation: 'disabled',
            usage: null,
            user: null,
            metadata: r.metadata,
        };
        const call = (status, result = null) => ({ type: 'image_generation_call', id: r.callId, status, result });
        const message = {
            type: 'message',
            id: r.msgId,
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: 'Here is the image you asked for.', annotations: [] }],
        };
        if (stage === 'queued') return base;
        if (stage === 'in_progress') {
            if (hasCall) base.output = [call('generating')];
            return base;
        }
        if (r.completedAt === null) r.completedAt = nowSec();
        const usage = {
            input_tokens: 120,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 40,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 160,
        };
        switch (o.outcome) {
            case 'cancelled':
                return { ...base, status: 'cancelled' };
            case 'failed':
                return { ...base, status: 'failed', error: { code: o.error?.code ?? 'server_error', message: o.error?.message ?? 'The image could not be generated.' } };
            case 'incomplete':
                return { ...base, status: 'incomplete', incomplete_details: { reason: o.reason ?? 'content_filter' }, usage };
            case 'no_image_call':
                return { ...base, status: 'completed', completed_at: r.completedAt, output: [message], usage };
            case 'call_failed':
                return { ...base, status: 'completed', completed_at: r.completedAt, output: [call('failed'), message], usage };
            case 'call_in_progress':
                return { ...base, status: 'completed', completed_at: r.completedAt, output: [call('in_progress')], usage };
            case 'call_generating':
                return { ...base, status: 'completed', completed_at: r.completedAt, output: [call('generating')], usage };
            default: {
                const img = imageByFormat[r.outputFormat] || assets.png;
                const c = { ...call('completed', img.bytes.toString('base64')), background: 'opaque', output_format: r.outputFormat, quality: 'medium', size: '1024x1024', revised_prompt: r.prompt ?? 'An image.' };
                return { ...base, status: 'completed', completed_at: r.completedAt, output: [c, message], usage };
            }
        }
    }

    /** POST /responses/{id}/cancel: a background response still queued or in progress
     *  stops and reads `cancelled` from now on; one that already ended cannot be
     *  cancelled (400; the spec documents only the success, see README.md). */
    function cancelResponse(id) {
        const r = getResponse(id);
        const status = responseView(r).status;
        if (status !== 'queued' && status !== 'in_progress')
            throw bad(`Cannot cancel a response whose status is '${status}': only a queued or in-progress background response can be cancelled.`, null, 'invalid_state');
        r.forced = { outcome: 'cancelled' };
        r.cancelled = true;
        return { json: responseView(r) };
    }

    function getResponse(id) {
        const r = state.responses.get(id);
        if (!r) throw new ApiError(404, `Response with id '${id}' not found.`, { param: 'response_id' });
        return r;
    }

    // --- images ------------------------------------------------------------------------
    const IMG_ENUMS = {
        quality: ['standard', 'hd', 'low', 'medium', 'high', 'auto'],
        output_format: ['png', 'jpeg', 'webp'],
        background: ['transparent', 'opaque', 'auto'],
        moderation: ['low', 'auto'],
        response_format: ['url', 'b64_json'],
        style: ['vivid', 'natural'],
        input_fidelity: ['high', 'low'],
    };
    function checkImageParams(p, allowed) {
        for (const k of Object.keys(p)) if (!allowed.has(k)) throw bad(`Unknown parameter: '${k}'.`, k, 'unknown_parameter');
        if (p.prompt === undefined) throw bad("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
        if (typeof p.prompt !== 'string' || p.prompt === '') throw bad("Invalid 'prompt': expected a non-empty string.", 'prompt', 'invalid_value');
        if (p.model !== undefined && (typeof p.model !== 'string' || p.model === '')) throw bad("Invalid type for 'model': expected a string.", 'model', 'invalid_type');
        if (p.n !== undefined && String(p.n) !== '1') throw bad(`Invalid 'n': this fake returns exactly one image, so 'n' must be 1 (got '${p.n}').`, 'n', 'invalid_value');
        if (p.size !== undefined && !(typeof p.size === 'string' && /^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$/.test(p.size)))
            throw bad(`Invalid 'size': expected 'auto' or WIDTHxHEIGHT, got '${p.size}'.`, 'size', 'invalid_value');
        for (const [k, values] of Object.entries(IMG_ENUMS)) {
            if (p[k] === undefined || (k === 'input_fidelity' && p[k] === null)) continue;
            if (!values.includes(p[k])) throw bad(`Invalid value: '${p[k]}'. Supported values are: ${values.map((x) => `'${x}'`).join(', ')}.`, k, 'invalid_value');
        }
        if (p.output_compression !== undefined) {
            const n = Number(p.output_compression);
            if (!(Number.isInteger(n) && n >= 0 && n <= 100)) throw bad("Invalid 'output_compression': expected an integer between 0 and 100.", 'output_compression', 'invalid_value');
        }
        if (p.stream !== undefined && String(p.stream) !== 'false') throw bad("This fake does not stream: 'stream' must be false.", 'stream', 'invalid_value');
        if (p.background === 'transparent' && p.output_format === 'jpeg')
            throw bad("Transparent background requires output_format 'png' or 'webp'.", 'background', 'invalid_value');
    }

    function imagesResponse(p, imageTokens) {
        const fmt = p.output_format || 'png';
        const img = imageByFormat[fmt];
        const textTokens = Math.max(1, Math.ceil(p.prompt.length / 4));
        const outputTokens = { low: 272, medium: 1056, high: 4160 }[p.quality] ?? 1056;
        return {
            json: {
                created: nowSec(),
                data: [{ b64_json: img.bytes.toString('base64') }],
                background: p.background === 'transparent' ? 'transparent' : 'opaque',
                output_format: fmt,
                quality: ['low', 'medium', 'high'].includes(p.quality) ? p.quality : 'medium',
                size: !p.size || p.size === 'auto' ? '1024x1024' : p.size,
                usage: {
                    input_tokens: textTokens + imageTokens,
                    input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
                    output_tokens: outputTokens,
                    output_tokens_details: { image_tokens: outputTokens, text_tokens: 0 },
                    total_tokens: textTokens + imageTokens + outputTokens,
                },
            },
        };
    }

    const GEN_KEYS = new Set(['prompt', 'model', 'n', 'quality', 'response_format', 'output_format', 'output_compression', 'stream', 'partial_images', 'size', 'moderation', 'background', 'style', 'user']);
    function generateImage(rec, body) {
        if (body.kind !== 'json') throw new ApiError(415, 'Expected an application/json body.', { code: 'unsupported_media_type' });
        if (!isPlainObject(body.json)) throw bad('The request body must be a JSON object.');
        checkImageParams(body.json, GEN_KEYS);
        return imagesResponse(body.json, 0);
    }

    const EDIT_KEYS = new Set(['prompt', 'model', 'n', 'quality', 'response_format', 'output_format', 'output_compression', 'stream', 'partial_images', 'size', 'background', 'user', 'input_fidelity']);
    function editImage(rec, body) {
        if (body.kind !== 'multipart') throw new ApiError(415, 'Expected a multipart/form-data body.', { code: 'unsupported_media_type' });
        const fields = {};
        const images = [];
        let mask = null;
        for (const part of body.parts) {
            if (part.name === 'image' || part.name === 'image[]') {
                images.push(part);
                continue;
            }
            if (part.name === 'mask') {
                if (mask) throw bad("Duplicate parameter: 'mask'.", 'mask', 'duplicate_parameter');
                mask = part;
                continue;
            }
            if (part.filename !== null) throw bad(`Unexpected file parameter: '${part.name}'.`, part.name, 'unknown_parameter');
            if (fields[part.name] !== undefined) throw bad(`Duplicate parameter: '${part.name}'.`, part.name, 'duplicate_parameter');
            fields[part.name] = part.data.toString('utf8');
        }
        checkImageParams(fields, EDIT_KEYS);
        if (images.length === 0) throw bad("Missing required parameter: 'image'.", 'image', 'missing_required_parameter');
        if (images.length > 16) throw bad(`Invalid 'image': at most 16 images are allowed, got ${images.length}.`, 'image', 'invalid_value');
        const infos = images.map(fileInfo);
        infos.forEach((info) => {
            if (!info.format || !['png', 'jpeg', 'webp'].includes(info.format))
                throw bad(`Invalid file '${info.name}': unsupported image format. Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`, 'image', 'invalid_image_format');
        });
        if (mask) {
            const mi = fileInfo(mask);
            if (mi.format !== 'png') throw bad("Invalid file 'mask': the mask must be a PNG image.", 'mask', 'invalid_image_format');
            if (!pngHasAlpha(mask.data)) throw bad('Invalid mask image format - mask image missing alpha channel', 'mask', 'invalid_image_format');
            if (infos[0].width !== null && (mi.width !== infos[0].width || mi.height !== infos[0].height))
                throw bad('Invalid mask image format - mask size does not match image size', 'mask', 'invalid_image_format');
        }
        return imagesResponse(fields, 323 * images.length);
    }

    // --- files -------------------------------------------------------------------------
    const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];
    function uploadFile(rec, body) {
        if (body.kind !== 'multipart') throw new ApiError(415, 'Expected a multipart/form-data body.', { code: 'unsupported_media_type' });
        let file = null;
        let purpose;
        for (const part of body.parts) {
            if (part.name === 'file') {
                if (file) throw bad("Duplicate parameter: 'file'.", 'file', 'duplicate_parameter');
                if (part.filename === null) throw bad("Invalid 'file': expected a file upload.", 'file', 'invalid_type');
                file = part;
            } else if (part.name === 'purpose') {
                if (purpose !== undefined) throw bad("Duplicate parameter: 'purpose'.", 'purpose', 'duplicate_parameter');
                purpose = part.data.toString('utf8');
            } else if (part.name !== 'expires_after[anchor]' && part.name !== 'expires_after[seconds]') {
                throw bad(`Unknown parameter: '${part.name}'.`, part.name, 'unknown_parameter');
            }
        }
        if (!file) throw bad("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
        if (purpose === undefined) throw bad("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
        if (!PURPOSES.includes(purpose)) throw bad(`Invalid value: '${purpose}'. Supported values are: ${PURPOSES.map((x) => `'${x}'`).join(', ')}.`, 'purpose', 'invalid_value');
        const info = fileInfo(file);
        if (purpose === 'vision' && !['png', 'jpeg', 'webp', 'gif'].includes(info.format))
            throw bad('Invalid file: files uploaded for vision must be PNG, JPEG, WEBP or GIF images.', 'file', 'invalid_file');
        const f = {
            id: newId('file-').slice(0, 29),
            object: 'file',
            bytes: file.data.length,
            created_at: nowSec(),
            filename: file.filename,
            purpose,
            status: 'processed',
            status_details: null,
        };
        state.files.set(f.id, { ...f, info, requestSeq: rec.seq });
        rec.created = f.id;
        return { json: f };
    }

    // --- audio (audio.mjs) -------------------------------------------------------------
    const audio = audioEndpoints({ bad, ApiError, config: () => config, nowSec });

    // --- request plumbing ----------------------------------------------------------------
    function readBody(req) {
        return new Promise((resolve, reject) => {
            const chunks = [];
            let size = 0;
            let tooBig = false;
            req.on('data', (c) => {
                if (tooBig) return;
                size += c.length;
                if (size > config.maxBodyBytes) {
                    tooBig = true;
                    chunks.length = 0;
                    return;
                }
                chunks.push(c);
            });
            req.on('end', () => (tooBig ? reject(new ApiError(413, `Request body larger than ${config.maxBodyBytes} bytes.`, { code: 'request_too_large' })) : resolve(Buffer.concat(chunks))));
            req.on('error', reject);
        });
    }

    function parseBody(req, raw, rec) {
        const ct = (req.headers['content-type'] || '').toLowerCase();
        rec.bodyBytes = raw.length;
        if (raw.length === 0 && !ct) return { kind: 'empty' };
        if (ct.startsWith('multipart/form-data')) {
            let parts;
            try {
                parts = parseMultipart(req.headers['content-type'], raw);
            } catch (e) {
                if (e instanceof MultipartError) {
                    rec.parseError = e.message;
                    throw bad(`Could not parse multipart/form-data body: ${e.message}.`, null, 'invalid_multipart');
                }
                throw e;
            }
            rec.fields = {};
            rec.files = [];
            rec.parts = [];
            for (const p of parts) {
                rec.parts.push({ name: p.name, filename: p.filename, contentType: p.contentType, bytes: p.data.length });
                if (p.filename !== null) rec.files.push(fileInfo(p));
                else {
                    const v = p.data.toString('utf8');
                    if (rec.fields[p.name] === undefined) rec.fields[p.name] = v;
                    else if (Array.isArray(rec.fields[p.name])) rec.fields[p.name].push(v);
                    else rec.fields[p.name] = [rec.fields[p.name], v];
                }
            }
            return { kind: 'multipart', parts };
        }
        if (ct.startsWith('application/json') || (ct === '' && raw.length > 0)) {
            try {
                rec.json = JSON.parse(raw.toString('utf8'));
            } catch (e) {
                rec.parseError = e.message;
                throw bad('We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)', null, 'invalid_json');
            }
            return { kind: 'json', json: rec.json };
        }
        return { kind: 'other', contentType: ct };
    }

    function checkAuth(req) {
        if (azure) {
            // Azure OpenAI takes the resource key in `api-key` (a bearer token would be an
            // Entra ID token, which this fake does not issue).
            const key = req.headers['api-key'];
            if (!key || (config.apiKey !== null && key !== config.apiKey))
                throw new ApiError(401, 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.', { code: '401' });
            return;
        }
        const h = req.headers.authorization;
        if (!h)
            throw new ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", { code: null });
        const m = /^Bearer +(\S.*)$/.exec(h);
        const key = m ? m[1].trim() : '';
        if (!key || (config.apiKey !== null && key !== config.apiKey))
            throw new ApiError(401, `Incorrect API key provided: ${key.length > 8 ? key.slice(0, 3) + '*'.repeat(4) + key.slice(-4) : key || '(empty)'}.`, { code: 'invalid_api_key' });
    }

    async function route(req, rec, method, segs, query, rawPromise) {
        // segs: path segments after /v1
        const body = async () => parseBody(req, await rawPromise, rec);
        const noBody = async () => {
            await rawPromise;
            return null;
        };
        const [a, b, c] = segs;
        const n = segs.length;
        if (a === 'videos' && config.videosRetired === 410) {
            await noBody();
            throw new ApiError(410, 'The Videos API was retired on 2026-09-24 and no longer serves requests.', { code: 'gone' });
        }
        if (a === 'videos' && config.videosRetired !== 404) {
            if (n === 1 && method === 'POST') return createVideo(rec, await body());
            if (n === 1 && method === 'GET') return (await noBody(), listVideos(query));
            if (n === 2 && method === 'GET') {
                await noBody();
                const v = getVideo(b);
                v.polls += 1;
                return { json: videoView(v) };
            }
            if (n === 2 && method === 'DELETE') {
                await noBody();
                getVideo(b);
                state.videos.delete(b);
                return { json: { id: b, object: 'video.deleted', deleted: true } };
            }
            if (n === 3 && c === 'content' && method === 'GET') return (await noBody(), videoContent(b, query));
            if (n === 3 && c === 'remix' && method === 'POST') return remixVideo(rec, b, await body());
        } else if (a === 'responses') {
            if (n === 1 && method === 'POST') return createResponse(rec, await body());
            if (n === 2 && method === 'GET') {
                await noBody();
                const r = getResponse(b);
                r.polls += 1;
                return { json: responseView(r) };
            }
            if (n === 2 && method === 'DELETE') {
                await noBody();
                getResponse(b);
                state.responses.delete(b);
                return { json: { id: b, object: 'response', deleted: true } };
            }
            if (n === 3 && c === 'cancel' && method === 'POST') return (await noBody(), cancelResponse(b));
        } else if (a === 'images' && n === 2 && method === 'POST') {
            if (b === 'generations') return generateImage(rec, await body());
            if (b === 'edits') return editImage(rec, await body());
        } else if (a === 'files' && n === 1 && method === 'POST') {
            return uploadFile(rec, await body());
        } else if (a === 'audio' && n === 2 && method === 'POST') {
            if (b === 'transcriptions') return audio.transcription(rec, await body());
            if (b === 'speech') return audio.speech(rec, await body());
        } else if (a === 'chat' && b === 'completions' && n === 2 && method === 'POST') {
            return audio.chat(rec, await body());
        }
        await noBody();
        throw new ApiError(404, `Invalid URL (${method} ${base}/${segs.join('/')})`, { code: null });
    }

    // --- responding --------------------------------------------------------------------
    const liveResponses = new Set();

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

    // Pauses (stall_ms, delay_ms) end early when the client goes away or the server closes.
    const pauses = new Set();
    function pause(ms, res) {
        return new Promise((resolve) => {
            const done = () => {
                clearTimeout(timer);
                res.off('close', done);
                pauses.delete(done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            res.on('close', done);
            pauses.add(done);
        });
    }

    /** Sends a reply ({json} | {buffer, contentType} | ApiError) applying the fault, if any. */
    async function send(res, rec, reply, fault) {
        let status = 200;
        let headers = { 'x-request-id': `req_${randomBytes(12).toString('hex')}`, 'openai-processing-ms': '1' };
        let buf;
        if (reply instanceof ApiError) {
            status = reply.status;
            Object.assign(headers, reply.headers);
            buf = Buffer.from(JSON.stringify(reply.body()));
            headers['content-type'] = 'application/json';
        } else if (reply.buffer) {
            if (reply.status) status = reply.status;
            buf = reply.buffer;
            headers['content-type'] = reply.contentType;
            Object.assign(headers, reply.headers || {});
        } else {
            buf = Buffer.from(JSON.stringify(reply.json));
            headers['content-type'] = 'application/json';
        }
        if (fault) {
            if (fault.invalid_json) {
                status = 200;
                headers['content-type'] = 'application/json';
                buf = Buffer.from('{"id": "broken", "object": "video", "status": "comp');
            }
            if (fault.headers) for (const [k, v] of Object.entries(fault.headers)) headers[k.toLowerCase()] = String(v);
        }
        headers['content-length'] = String(buf.length);
        rec.status = status;
        rec.responseBytes = buf.length;
        if (res.destroyed) return;

        let limit = buf.length;
        let cut = null; // 'reset' | 'truncate'
        if (fault?.reset_after_bytes !== undefined) {
            limit = Math.min(buf.length, fault.reset_after_bytes);
            cut = 'reset';
        } else if (fault?.truncate !== undefined && fault.truncate !== false) {
            limit = fault.truncate === true ? Math.floor(buf.length / 2) : Math.min(buf.length, fault.truncate);
            if (limit >= buf.length) limit = Math.max(0, buf.length - 1);
            cut = 'truncate';
        }
        res.writeHead(status, headers);
        let off = 0;
        let lastWrite = Promise.resolve();
        const chunk = config.chunkBytes;
        const writeUpTo = async (end) => {
            while (off < end && !res.destroyed) {
                const piece = buf.subarray(off, Math.min(off + chunk, end));
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
            // Let what was written reach the kernel, then end the connection early: an RST
            // for reset_after_bytes, a plain FIN (short body) for truncate.
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

    async function handle(req, res) {
        const url = new URL(req.url, 'http://fake.invalid');
        const method = req.method.toUpperCase();
        const path = url.pathname;
        const query = parseQuery(url.searchParams);
        if (path.startsWith('/__control/')) return handleControl(req, res, method, path, query);

        const rec = {
            seq: ++requestSeq,
            time: Date.now(),
            method,
            path,
            query,
            headers: { ...req.headers },
            contentType: req.headers['content-type'] || null,
            bodyBytes: 0,
            json: null,
            fields: null,
            files: null,
            parts: null,
            parseError: null,
            status: null,
            fault: null,
        };
        requests.push(rec);
        liveResponses.add(res);
        res.on('close', () => {
            liveResponses.delete(res);
            rec.completed = res.writableFinished;
        });
        const rawPromise = readBody(req);
        rawPromise.catch(() => {}); // observed below
        let reply;
        let fault = null;
        try {
            if (!path.startsWith(`${base}/`) && path !== base) throw new ApiError(404, `Invalid URL (${method} ${path})`);
            checkAuth(req);
            fault = faults.take(method, path);
            if (fault) rec.fault = faultSummary(fault);
            if (fault?.delay_ms) await pause(fault.delay_ms, res);
            if (fault?.status !== undefined) {
                await rawPromise;
                reply = new ApiError(fault.status, fault.error?.message ?? FAULT_MESSAGES[fault.status] ?? `HTTP ${fault.status} (injected fault).`, {
                    type: fault.error?.type,
                    param: fault.error?.param ?? null,
                    code: fault.error?.code ?? null,
                });
                if (fault.body !== undefined)
                    reply = { buffer: Buffer.from(typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body)), contentType: 'application/json', status: fault.status };
            } else {
                reply = await route(req, rec, method, path.slice(base.length).split('/').filter(Boolean), query, rawPromise);
            }
        } catch (e) {
            if (e instanceof ApiError) reply = e;
            else {
                log('internal error', e);
                reply = new ApiError(500, `Fake server internal error: ${e.message}`, { type: 'server_error' });
            }
        }
        try {
            await rawPromise;
        } catch {
            /* body errors were reported through route() */
        }
        if (reply instanceof ApiError && reply.status === 413) res.setHeader('connection', 'close');
        log(method, path, reply instanceof ApiError ? reply.status : 200);
        await send(res, rec, reply, fault);
    }

    // --- control API (no auth) ----------------------------------------------------------
    function controlJson(res, status, obj) {
        const buf = Buffer.from(JSON.stringify(obj));
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(buf.length) });
        res.end(buf);
    }

    function assetSummary() {
        const out = {};
        for (const [k, a] of Object.entries(assets)) out[k] = { bytes: a.length, sha256: a.sha256, contentType: a.contentType };
        return out;
    }

    async function handleControl(req, res, method, path, query) {
        let raw;
        try {
            raw = await readBody(req);
        } catch (e) {
            return controlJson(res, 413, { error: String(e.message) });
        }
        let body = null;
        if (raw.length) {
            try {
                body = JSON.parse(raw.toString('utf8'));
            } catch (e) {
                return controlJson(res, 400, { error: `invalid JSON: ${e.message}` });
            }
        }
        const segs = path.split('/').filter(Boolean).slice(1);
        try {
            const [a, b, c] = segs;
            if (a === 'requests' && method === 'GET') {
                const since = Number(query.since ?? 0);
                return controlJson(res, 200, requests.filter((r) => r.seq > since));
            }
            if (a === 'reset' && method === 'POST') {
                api.reset();
                return controlJson(res, 200, { ok: true });
            }
            if (a === 'faults') {
                if (method === 'GET') return controlJson(res, 200, faults.list());
                if (method === 'DELETE') {
                    faults.clear();
                    return controlJson(res, 200, { ok: true });
                }
                if (method === 'POST') {
                    faults.add(body);
                    return controlJson(res, 200, faults.list());
                }
            }
            if (a === 'state' && method === 'GET') return controlJson(res, 200, api.snapshot());
            if (a === 'assets' && method === 'GET') return controlJson(res, 200, assetSummary());
            if (a === 'config' && method === 'POST') {
                api.configure(body || {});
                return controlJson(res, 200, { videos: config.videos, responses: config.responses });
            }
            if (a === 'videos' && method === 'POST' && !b) return controlJson(res, 200, api.addVideo(body || {}));
            if (a === 'videos' && method === 'POST' && c === 'complete') return controlJson(res, 200, api.completeVideo(b));
            if (a === 'videos' && method === 'POST' && c === 'fail') return controlJson(res, 200, api.failVideo(b, body || undefined));
            if (a === 'responses' && method === 'POST' && c === 'complete') return controlJson(res, 200, api.completeResponse(b, body || undefined));
            if (a === 'next-video' && method === 'POST') {
                api.setNextVideoOutcome(body || {});
                return controlJson(res, 200, { ok: true });
            }
            if (a === 'next-response' && method === 'POST') {
                api.setNextResponseOutcome(body || {});
                return controlJson(res, 200, { ok: true });
            }
            return controlJson(res, 404, { error: `unknown control endpoint ${method} ${path}` });
        } catch (e) {
            return controlJson(res, e instanceof ApiError ? e.status : 400, { error: e.message });
        }
    }

    // --- the server ----------------------------------------------------------------------
    const server = http.createServer({ keepAlive: true }, (req, res) => {
        handle(req, res).catch((e) => {
            log('handler crashed', e);
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
            res.end();
        });
    });
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 0;
    server.maxRequestsPerSocket = 0;
    const sockets = new Set();
    server.on('connection', (s) => {
        s.setNoDelay(true);
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    server.on('clientError', (err, socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        else socket.destroy();
    });

    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(initialConfig.port, initialConfig.host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const port = server.address().port;
    const hostForUrl = initialConfig.host.includes(':') ? `[${initialConfig.host}]` : initialConfig.host;
    const origin = `http://${hostForUrl}:${port}`;

    let closing = null;
    const api = {
        url: `${origin}${base}`,
        origin,
        /** AZURE_OPENAI_ENDPOINT for the Azure flavour (the API is at endpoint + /openai/v1). */
        endpoint: origin,
        port,
        state,
        assets,
        faults,
        requests,
        get config() {
            return config;
        },
        /** Merges option overrides (e.g. {videos: {mode: 'time'}}) into the live config. */
        configure(patch) {
            config = mergeOptions(config, patch);
            return config;
        },
        /** Requests whose method and path match ({method?, path?: glob|RegExp}). */
        requestsMatching({ method, path } = {}) {
            const re = path === undefined ? null : compilePathPattern(path, base);
            return requests.filter((r) => (!method || r.method === method.toUpperCase()) && (!re || re.test(r.path)));
        },
        videoView(id) {
            return videoView(getVideo(id));
        },
        /** Creates a video directly (default: already completed). Returns the Video object. */
        addVideo(fields = {}) {
            const status = fields.status ?? 'completed';
            const v = makeVideo({
                id: fields.id,
                model: fields.model,
                prompt: fields.prompt ?? 'A seeded video',
                size: fields.size,
                seconds: fields.seconds,
                remixedFrom: fields.remixed_from_video_id,
                outcome: status === 'failed' ? { status: 'failed', error: fields.error } : { status: 'completed' },
                forced: status === 'completed' || status === 'failed' ? (status === 'failed' ? { status: 'failed', error: fields.error } : { status: 'completed' }) : null,
            });
            return videoView(v);
        },
        completeVideo(id) {
            const v = getVideo(id);
            v.forced = { status: 'completed' };
            return videoView(v);
        },
        failVideo(id, error = {}) {
            const v = getVideo(id);
            v.forced = { status: 'failed', error };
            return videoView(v);
        },
        /** The next created video ends this way: {status:'failed', error:{code,message}} or {status:'completed'}. */
        setNextVideoOutcome(o) {
            state.nextVideoOutcomes.push(normaliseVideoOutcome(o));
        },
        failNextVideo(error = {}) {
            state.nextVideoOutcomes.push({ status: 'failed', error });
        },
        responseView(id) {
            return responseView(getResponse(id));
        },
        /** Finishes a response now, with its queued outcome or the one given. */
        completeResponse(id, outcome) {
            const r = getResponse(id);
            r.forced = outcome ? normaliseResponseOutcome(outcome) : r.outcome;
            return responseView(r);
        },
        /** The next created response ends this way: 'completed' | 'no_image_call' | 'call_failed' |
         *  'call_in_progress' | 'call_generating' | 'failed' | 'incomplete', or {outcome, error}. */
        setNextResponseOutcome(o) {
            state.nextResponseOutcomes.push(normaliseResponseOutcome(o));
        },
        snapshot() {
            return {
                videos: [...state.videos.values()].sort((x, y) => x.seq - y.seq).map((v) => ({ ...videoView(v), polls: v.polls, input_reference: v.inputReference })),
                responses: [...state.responses.values()].sort((x, y) => x.seq - y.seq).map((r) => ({ id: r.id, status: responseView(r).status, polls: r.polls, outcome: r.outcome })),
                files: [...state.files.values()],
                assets: assetSummary(),
                faults: faults.list(),
                requests: requests.length,
            };
        },
        /** Forgets requests, videos, responses, files, faults and queued outcomes; restores the options. */
        reset() {
            requests.length = 0;
            requestSeq = 0;
            state.videos.clear();
            state.responses.clear();
            state.files.clear();
            state.nextVideoOutcomes.length = 0;
            state.nextResponseOutcomes.length = 0;
            faults.clear();
            config = initialConfig;
        },
        /** Stops listening, cuts every connection (stalled ones too) and resolves when closed. */
        close() {
            if (!closing) {
                closing = new Promise((resolve) => {
                    for (const done of [...pauses]) done();
                    server.close(() => resolve());
                    server.closeAllConnections();
                    for (const s of sockets) s.destroy();
                });
            }
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
            host: { type: 'string', default: '127.0.0.1' },
            'api-key': { type: 'string' },
            'video-bytes': { type: 'string' },
            'video-seed': { type: 'string' },
            'queued-polls': { type: 'string' },
            'in-progress-polls': { type: 'string' },
            'time-mode': { type: 'boolean', default: false },
            'queued-ms': { type: 'string' },
            'in-progress-ms': { type: 'string' },
            'no-stdin-watch': { type: 'boolean', default: false },
            azure: { type: 'boolean', default: false },
            'videos-retired': { type: 'string' },
            log: { type: 'boolean', default: false },
            help: { type: 'boolean', default: false },
        },
    });
    if (values.help) {
        process.stdout.write(
            'usage: node server.mjs [--port N] [--host H] [--api-key K] [--video-bytes N] [--video-seed N]\n' +
                '       [--queued-polls N] [--in-progress-polls N] [--time-mode --queued-ms N --in-progress-ms N]\n' +
                '       [--azure] [--videos-retired 404|410] [--no-stdin-watch] [--log]\n' +
                'Prints one JSON line {"url","port",...} then serves until SIGTERM/SIGINT or stdin closes.\n',
        );
        return;
    }
    const int = (s, name) => {
        if (s === undefined) return undefined;
        if (!/^\d+$/.test(s)) throw new Error(`--${name} needs a non-negative integer`);
        return Number(s);
    };
    const stage = {};
    const put = (k, v) => {
        if (v !== undefined) stage[k] = v;
    };
    put('queuedPolls', int(values['queued-polls'], 'queued-polls'));
    put('inProgressPolls', int(values['in-progress-polls'], 'in-progress-polls'));
    put('queuedMs', int(values['queued-ms'], 'queued-ms'));
    put('inProgressMs', int(values['in-progress-ms'], 'in-progress-ms'));
    if (values['time-mode']) stage.mode = 'time';
    const fake = await startFakeOpenAI({
        port: int(values.port, 'port'),
        host: values.host,
        apiKey: values['api-key'] ?? null,
        videoBytes: int(values['video-bytes'], 'video-bytes'),
        videoSeed: int(values['video-seed'], 'video-seed'),
        log: values.log,
        flavour: values.azure ? 'azure' : 'openai',
        videosRetired: values['videos-retired'] === undefined ? null : Number(values['videos-retired']),
        videos: stage,
        responses: stage,
    });
    const shutdown = () => {
        fake.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    // Watch stdin only when it is a pipe or socket (a parent that dies closes it); /dev/null or
    // a terminal would end at once or never.
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
            port: fake.port,
            control: `${fake.origin}/__control`,
            video_bytes: fake.assets.video.length,
            video_sha256: fake.assets.video.sha256,
        }) + '\n',
    );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
    main().catch((e) => {
        process.stderr.write(`fake-openai: ${e.message}\n`);
        process.exit(2);
    });
}
