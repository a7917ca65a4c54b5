#!/usr/bin/env node
// The request Google's own SDK sends for a video job, as the reference for sanzaru's gemini
// provider: for the same parameters, the provider's create request must equal this one.
//
// sdkRequest(params) runs @google/genai (3.1.0) `interactions.create` against the fake (which
// also validates it) and returns what reached the wire: {method, path, query, headers, json}.
// The mapping from parameters to the SDK call is the documented one (README.md, "The video
// request"): the prompt as a plain string input, or text then image content blocks when there
// is a reference image; size/length as a `response_format` of type "video"; a remix as
// `previous_interaction_id`. As a program it prints that request as JSON:
//   node tests/fake-gemini/sdk-request.mjs --prompt "a cat" --image ref.png --aspect-ratio 9:16 --duration 8
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GoogleGenAI } from '@google/genai';
import { startFakeGemini, DEFAULT_MODEL } from './server.mjs';
import { probeImage, mimeOf } from '../fake-openai/media.mjs';

/** The headers worth comparing (the rest are the SDK's own: user-agent, x-goog-api-client, …). */
export const COMPARED_HEADERS = ['content-type', 'x-goog-api-key'];

/** The create body the documented mapping gives for these parameters (what the SDK is handed). */
export function createParams({
    prompt,
    model = DEFAULT_MODEL,
    image = null,
    aspectRatio,
    duration,
    resolution,
    delivery,
    previousInteractionId,
    background = true,
}) {
    if (typeof prompt !== 'string' || prompt === '') throw new TypeError('sdkRequest: prompt must be a non-empty string');
    const body = { model };
    if (image) {
        const data = Buffer.isBuffer(image.data) ? image.data.toString('base64') : image.data;
        const mime = image.mime_type ?? mimeOf(probeImage(Buffer.from(data, 'base64'))?.format);
        body.input = [
            { type: 'text', text: prompt },
            { type: 'image', mime_type: mime, data },
        ];
    } else {
        body.input = prompt;
    }
    if (background) body.background = true;
    if (previousInteractionId !== undefined) body.previous_interaction_id = previousInteractionId;
    const fmt = {};
    if (aspectRatio !== undefined) fmt.aspect_ratio = aspectRatio;
    if (duration !== undefined) fmt.duration = typeof duration === 'number' ? `${duration}s` : duration;
    if (resolution !== undefined) fmt.resolution = resolution;
    if (delivery !== undefined) fmt.delivery = delivery;
    if (Object.keys(fmt).length) body.response_format = { type: 'video', ...fmt };
    return body;
}

/**
 * Runs the SDK for `params` (see createParams; plus apiKey, apiVersion = 'v1beta') against
 * `fake` (or a private fake, closed afterwards) and returns the request it sent:
 * {method, path, query, headers: {content-type, x-goog-api-key}, json, status}.
 */
export async function sdkRequest(params, { fake } = {}) {
    const own = !fake;
    const f = fake || (await startFakeGemini());
    try {
        if (params.previousInteractionId !== undefined && !f.state.interactions.has(params.previousInteractionId))
            f.addInteraction({ id: params.previousInteractionId, model: params.model });
        const ai = new GoogleGenAI({
            apiKey: params.apiKey ?? 'sdk-request-key',
            httpOptions: { baseUrl: f.origin, apiVersion: params.apiVersion ?? 'v1beta' },
        });
        const before = f.requests.length;
        await ai.interactions.create(createParams(params), { maxRetries: 0 });
        const rec = f.requests.slice(before).find((r) => r.method === 'POST');
        const headers = {};
        for (const h of COMPARED_HEADERS) headers[h] = rec.headers[h];
        return { method: rec.method, path: rec.path, query: rec.query, headers, json: rec.json, status: rec.status };
    } finally {
        if (own) await f.close();
    }
}

async function main() {
    const { values } = parseArgs({
        options: {
            prompt: { type: 'string' },
            model: { type: 'string' },
            image: { type: 'string' },
            'aspect-ratio': { type: 'string' },
            duration: { type: 'string' },
            resolution: { type: 'string' },
            delivery: { type: 'string' },
            previous: { type: 'string' },
            'no-background': { type: 'boolean', default: false },
            'api-key': { type: 'string' },
        },
    });
    if (!values.prompt) throw new Error('--prompt is required');
    const params = {
        prompt: values.prompt,
        model: values.model,
        image: values.image ? { data: fs.readFileSync(values.image) } : null,
        aspectRatio: values['aspect-ratio'],
        duration: values.duration === undefined ? undefined : /^\d+$/.test(values.duration) ? Number(values.duration) : values.duration,
        resolution: values.resolution,
        delivery: values.delivery,
        previousInteractionId: values.previous,
        background: !values['no-background'],
        apiKey: values['api-key'],
    };
    for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
    process.stdout.write(JSON.stringify(await sdkRequest(params)) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
    main().catch((e) => {
        process.stderr.write(`sdk-request: ${e.message}\n`);
        process.exit(2);
    });
}
