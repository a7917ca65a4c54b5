// Strict checks of a create-interaction body against the @google/genai 3.1.0 types
// (CreateModelInteraction, Content, ImageContent, VideoResponseFormat, GenerationConfig), so a
// client that sends a wrong shape fails loudly with a Google 400 naming the field.
//
// checkCreate(body, config, style) returns the parsed request ({model, background, store, input
// contents, images, text, format, previousId, ...}) or throws a GeminiError. The capabilities
// of each video model (aspect ratios, durations, resolutions) come from config.models; see
// README.md for which of them are Google's and which are this fake's assumptions.
import { GeminiError } from './errors.mjs';
import { probeImage, sha256 } from '../fake-openai/media.mjs';

/** Top-level members of CreateModelInteraction (genai.d.ts 3.1.0), plus the agent-only ones. */
const CREATE_KEYS = new Set([
    'background', 'cached_content', 'continuation_token', 'environment', 'generation_config', 'input', 'labels',
    'model', 'previous_interaction_id', 'response_format', 'response_mime_type', 'response_modalities',
    'safety_settings', 'service_tier', 'store', 'stream', 'system_instruction', 'tools', 'webhook_config',
]);
const AGENT_KEYS = new Set(['agent', 'agent_config']);

/** Members of GenerationConfig (interactions), genai.d.ts 3.1.0. */
const GENERATION_KEYS = new Set([
    'image_config', 'max_output_tokens', 'seed', 'speech_config', 'stop_sequences', 'temperature', 'thinking_level',
    'thinking_summaries', 'tool_choice', 'top_p', 'transcription_config', 'video_config',
]);
const VIDEO_TASKS = ['text_to_video', 'image_to_video', 'reference_to_video', 'edit', 'extend', 'upscale'];
const VIDEO_FORMAT_KEYS = new Set(['type', 'aspect_ratio', 'delivery', 'duration', 'gcs_uri', 'resolution']);
const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'image/gif', 'image/bmp', 'image/tiff'];
const VIDEO_MIMES = ['video/mp4', 'video/mpeg', 'video/mpg', 'video/mov', 'video/avi', 'video/x-flv', 'video/webm', 'video/wmv', 'video/3gpp'];
const CONTENT_KEYS = {
    text: new Set(['type', 'text', 'annotations']),
    image: new Set(['type', 'data', 'uri', 'mime_type', 'resolution']),
    video: new Set(['type', 'data', 'uri', 'mime_type', 'name', 'processing', 'resolution']),
};
const MEDIA_RESOLUTIONS = ['low', 'medium', 'high', 'ultra_high'];
const SERVICE_TIERS = ['flex', 'standard', 'priority', 'deferred'];
const MODALITIES = ['text', 'image', 'audio', 'video', 'document'];

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses "8s" (a google.protobuf.Duration in JSON, whole seconds) into 8, or null. */
export function parseDuration(s) {
    if (typeof s !== 'string') return null;
    const m = /^([0-9]{1,4})s$/.exec(s);
    return m ? Number(m[1]) : null;
}

/** What the fake learned from one create body. */
function emptyParsed() {
    return { model: null, background: false, store: true, stream: false, previousId: null, contents: [], images: [], text: '', format: null, task: null };
}

export function checkCreate(body, config, style) {
    const bad = (message) => new GeminiError(400, message, { style });
    if (!isObj(body)) throw bad('Invalid JSON payload received. Expected an object at the top level.');
    for (const k of Object.keys(body)) {
        if (AGENT_KEYS.has(k)) throw bad(`'${k}' is not supported by this fake: only model interactions are (use 'model').`);
        if (!CREATE_KEYS.has(k)) throw bad(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
    }
    const p = emptyParsed();
    const type = (k, t) => {
        if (body[k] !== undefined && typeof body[k] !== t)
            throw bad(`Invalid value at '${k}' (TYPE_${t === 'boolean' ? 'BOOL' : t.toUpperCase()}), ${JSON.stringify(body[k])}`);
    };
    ['background', 'store', 'stream'].forEach((k) => type(k, 'boolean'));
    ['model', 'previous_interaction_id', 'system_instruction', 'cached_content', 'continuation_token', 'response_mime_type'].forEach((k) => type(k, 'string'));
    if (body.model === undefined || body.model === '') throw bad("'model' is required (a model interaction names its model).");
    p.model = body.model;
    p.background = body.background === true;
    p.store = body.store !== false;
    p.stream = body.stream === true;
    if (p.stream) throw bad("'stream': true is not supported by this fake (it serves unary and background interactions only).");
    if (p.background && !p.store) throw bad("'background': true requires 'store' (interactions run in the background are stored).");
    if (body.previous_interaction_id !== undefined) {
        if (!p.store) throw bad("'previous_interaction_id' requires 'store' (a stateless interaction has no previous one).");
        if (body.previous_interaction_id === '') throw bad("Invalid value at 'previous_interaction_id': empty string.");
        p.previousId = body.previous_interaction_id;
    }
    if (body.service_tier !== undefined && !SERVICE_TIERS.includes(body.service_tier))
        throw bad(`Invalid value at 'service_tier', "${body.service_tier}". Expected one of: ${SERVICE_TIERS.join(', ')}.`);
    if (body.labels !== undefined) {
        if (!isObj(body.labels)) throw bad("Invalid value at 'labels': expected a map of strings.");
        for (const [k, v] of Object.entries(body.labels))
            if (typeof v !== 'string' || !/^[a-z][a-z0-9_-]{0,62}$/.test(k) || v.length > 63) throw bad(`Invalid label '${k}'.`);
    }
    if (body.response_modalities !== undefined) {
        if (!Array.isArray(body.response_modalities) || !body.response_modalities.every((m) => MODALITIES.includes(m)))
            throw bad(`Invalid value at 'response_modalities'. Expected a list of: ${MODALITIES.join(', ')}.`);
    }
    if (body.tools !== undefined && !(Array.isArray(body.tools) && body.tools.length === 0))
        throw bad(`Model '${body.model}' does not support tools.`);
    for (const k of ['safety_settings', 'environment', 'webhook_config']) {
        if (body[k] !== undefined) throw bad(`'${k}' is not supported by this fake.`);
    }
    const caps = config.models[p.model];
    if (!caps) throw new GeminiError(404, `models/${p.model} is not found for API version v1beta, or is not supported for interactions.`, { style });
    checkInput(body.input, p, bad, body.previous_interaction_id !== undefined);
    checkGeneration(body.generation_config, p, bad);
    checkFormat(body.response_format, p, caps, bad);
    return p;
}

function checkInput(input, p, bad, continuing) {
    if (input === undefined) throw bad(continuing ? "'input' is required: say how to change the previous video." : "'input' is required.");
    let items;
    if (typeof input === 'string') items = [{ type: 'text', text: input }];
    else if (isObj(input)) items = [input];
    else if (Array.isArray(input) && input.length) items = input;
    else throw bad("Invalid value at 'input': expected a string, a content block or a non-empty list.");
    const contents = [];
    items.forEach((item, i) => {
        const path = Array.isArray(input) ? `input[${i}]` : 'input';
        if (!isObj(item)) throw bad(`Invalid value at '${path}': expected an object.`);
        if (item.type === 'user_input') {
            for (const k of Object.keys(item)) if (k !== 'type' && k !== 'content') throw bad(`Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.`);
            if (!Array.isArray(item.content) || !item.content.length) throw bad(`Invalid value at '${path}.content': expected a non-empty list.`);
            item.content.forEach((c, j) => contents.push({ c, path: `${path}.content[${j}]` }));
        } else if (item.type === 'model_output') {
            throw bad(`Invalid value at '${path}.type': this fake does not take model_output steps as input (continue with previous_interaction_id).`);
        } else contents.push({ c: item, path });
    });
    for (const { c, path } of contents) checkContent(c, path, p, bad);
    p.text = p.contents.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    if (!p.text.trim()) throw bad("'input' needs a non-empty text content (the prompt).");
    if (p.images.length > 10) throw bad(`Too many images: ${p.images.length} (at most 10 per request).`);
}

function checkContent(c, path, p, bad) {
    if (!isObj(c)) throw bad(`Invalid value at '${path}': expected an object.`);
    const keys = CONTENT_KEYS[c.type];
    if (!keys) {
        if (c.type === 'audio' || c.type === 'document') throw bad(`Invalid value at '${path}.type': '${c.type}' input is not supported by video models.`);
        throw bad(`Invalid value at '${path}.type', ${JSON.stringify(c.type)}. Expected one of: text, image, video.`);
    }
    for (const k of Object.keys(c)) if (!keys.has(k)) throw bad(`Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.`);
    if (c.type === 'text') {
        if (typeof c.text !== 'string') throw bad(`Invalid value at '${path}.text' (TYPE_STRING), ${JSON.stringify(c.text)}`);
        p.contents.push({ type: 'text', text: c.text });
        return;
    }
    const mimes = c.type === 'image' ? IMAGE_MIMES : VIDEO_MIMES;
    if (c.resolution !== undefined && !MEDIA_RESOLUTIONS.includes(c.resolution))
        throw bad(`Invalid value at '${path}.resolution', "${c.resolution}". Expected one of: ${MEDIA_RESOLUTIONS.join(', ')}.`);
    if ((c.data === undefined) === (c.uri === undefined)) throw bad(`'${path}' needs exactly one of 'data' or 'uri'.`);
    if (c.mime_type !== undefined && (typeof c.mime_type !== 'string' || !mimes.includes(c.mime_type)))
        throw bad(`Unsupported MIME type at '${path}.mime_type': ${JSON.stringify(c.mime_type)}. Supported: ${mimes.join(', ')}.`);
    const info = { path, type: c.type, mime: c.mime_type ?? null };
    if (c.uri !== undefined) {
        if (typeof c.uri !== 'string' || !/^(https?|gs):\/\/\S+$/.test(c.uri)) throw bad(`Invalid value at '${path}.uri': expected an http(s) or gs URI.`);
        info.uri = c.uri;
    } else {
        if (typeof c.data !== 'string') throw bad(`Invalid value at '${path}.data' (TYPE_BYTES), ${JSON.stringify(c.data)}`);
        if (c.mime_type === undefined) throw bad(`'${path}.mime_type' is required with inline 'data'.`);
        if (!B64.test(c.data) || c.data.length % 4 !== 0 || c.data.length === 0)
            throw bad(`Invalid value at '${path}.data' (TYPE_BYTES), Base64 decoding failed for "${c.data.slice(0, 24)}${c.data.length > 24 ? '…' : ''}"`);
        const bytes = Buffer.from(c.data, 'base64');
        info.bytes = bytes.length;
        info.sha256 = sha256(bytes);
        if (c.type === 'image') {
            const probe = probeImage(bytes);
            info.format = probe ? probe.format : null;
            info.width = probe ? probe.width : null;
            info.height = probe ? probe.height : null;
            const probed = probe ? `image/${probe.format}` : null;
            const checkable = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'].includes(c.mime_type);
            if (checkable && probed !== c.mime_type)
                throw bad(`Unable to process input image at '${path}': the data is not a valid ${c.mime_type} file.`);
        }
    }
    if (c.type === 'image') p.images.push(info);
    p.contents.push({ type: c.type, info });
}

function checkGeneration(g, p, bad) {
    if (g === undefined) return;
    if (!isObj(g)) throw bad("Invalid value at 'generation_config': expected an object.");
    for (const k of Object.keys(g)) if (!GENERATION_KEYS.has(k)) throw bad(`Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`);
    if (g.seed !== undefined && !Number.isInteger(g.seed)) throw bad(`Invalid value at 'generation_config.seed' (TYPE_INT32), ${JSON.stringify(g.seed)}`);
    for (const k of ['temperature', 'top_p']) if (g[k] !== undefined && typeof g[k] !== 'number') throw bad(`Invalid value at 'generation_config.${k}' (TYPE_FLOAT), ${JSON.stringify(g[k])}`);
    if (g.video_config !== undefined) {
        const v = g.video_config;
        if (!isObj(v)) throw bad("Invalid value at 'generation_config.video_config': expected an object.");
        for (const k of Object.keys(v)) if (k !== 'task') throw bad(`Invalid JSON payload received. Unknown name "${k}" at 'generation_config.video_config': Cannot find field.`);
        if (v.task !== undefined && !VIDEO_TASKS.includes(v.task))
            throw bad(`Invalid value at 'generation_config.video_config.task', "${v.task}". Expected one of: ${VIDEO_TASKS.join(', ')}.`);
        p.task = v.task ?? null;
    }
}

function checkFormat(rf, p, caps, bad) {
    if (rf === undefined) return;
    const list = Array.isArray(rf) ? rf : [rf];
    if (!list.length) throw bad("Invalid value at 'response_format': empty list.");
    list.forEach((f, i) => {
        const path = Array.isArray(rf) ? `response_format[${i}]` : 'response_format';
        if (!isObj(f)) throw bad(`Invalid value at '${path}': expected an object.`);
        if (f.type !== 'video') throw bad(`Invalid value at '${path}.type', ${JSON.stringify(f.type)}: this model produces 'video' only.`);
        if (p.format) throw bad(`'${path}': only one video response_format may be given.`);
        for (const k of Object.keys(f)) if (!VIDEO_FORMAT_KEYS.has(k)) throw bad(`Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.`);
        const fmt = { aspect_ratio: null, duration: null, seconds: null, resolution: null, delivery: null };
        if (f.aspect_ratio !== undefined) {
            if (!caps.aspectRatios.includes(f.aspect_ratio))
                throw bad(`Invalid value at '${path}.aspect_ratio', ${JSON.stringify(f.aspect_ratio)}. Supported aspect ratios: ${caps.aspectRatios.join(', ')}.`);
            fmt.aspect_ratio = f.aspect_ratio;
        }
        if (f.duration !== undefined) {
            const s = parseDuration(f.duration);
            if (s === null) throw bad(`Invalid value at '${path}.duration', ${JSON.stringify(f.duration)}: expected whole seconds such as "8s".`);
            if (!caps.durations) throw bad(`Model does not take '${path}.duration': it chooses the length itself.`);
            if (s < caps.durations.min || s > caps.durations.max)
                throw bad(`Invalid value at '${path}.duration', "${f.duration}": supported durations are ${caps.durations.min}s to ${caps.durations.max}s.`);
            fmt.duration = f.duration;
            fmt.seconds = s;
        }
        if (f.resolution !== undefined) {
            if (!caps.resolutions.includes(f.resolution))
                throw bad(`Invalid value at '${path}.resolution', ${JSON.stringify(f.resolution)}. Supported resolutions: ${caps.resolutions.join(', ')}.`);
            fmt.resolution = f.resolution;
        }
        if (f.delivery !== undefined) {
            if (f.delivery !== 'inline' && f.delivery !== 'uri') throw bad(`Invalid value at '${path}.delivery', ${JSON.stringify(f.delivery)}. Expected one of: inline, uri.`);
            fmt.delivery = f.delivery;
        }
        if (f.gcs_uri !== undefined) throw bad(`'${path}.gcs_uri' is only for Vertex AI; the Gemini API serves URI output itself.`);
        p.format = fmt;
    });
}
