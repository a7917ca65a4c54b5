// The fake's audio: reading MP3 and WAV well enough to measure what was uploaded, making
// MP3 and WAV to send back, and the three audio endpoints sanzaru calls
// (POST /audio/transcriptions, POST /audio/speech, POST /chat/completions with
// input_audio). node: built-ins only. See README.md ("Audio").
//
// The fake makes no sound of its own: speech is MPEG-2 layer III frames whose side
// information says "no data" (every decoder plays them as silence, exactly 576 samples
// each at 24 kHz, the rate and channel count of OpenAI's speech), or 16-bit PCM
// silence. What it returns is decided by what it measured: a transcript names the
// uploaded duration, and the windows of a long transcription (`<stem>_w<i>.mp3`) get
// one word per second of the time they cover ("s75 s76 ... s164"), so a join that
// drops or repeats words shows in the text.

// --- reading ---------------------------------------------------------------------------

const MPEG_RATES = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
const BITRATES = {
    // [version 1 | 2 / 2.5][layer] in kbps, index 1..14
    v1l1: [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    v1l2: [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    v1l3: [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    v2l1: [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    v2l23: [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

/** One MPEG audio frame header at buf[i], or null. */
export function mpegFrame(buf, i) {
    if (i + 4 > buf.length || buf[i] !== 0xff || (buf[i + 1] & 0xe0) !== 0xe0) return null;
    const version = (buf[i + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const layer = (buf[i + 1] >> 1) & 3; // 3: I, 2: II, 1: III
    const bri = buf[i + 2] >> 4;
    const sri = (buf[i + 2] >> 2) & 3;
    const padding = (buf[i + 2] >> 1) & 1;
    if (version === 1 || layer === 0 || bri === 0 || bri === 15 || sri === 3) return null;
    const rate = MPEG_RATES[version][sri];
    const table = version === 3 ? ['', 'v1l3', 'v1l2', 'v1l1'][layer] : layer === 3 ? 'v2l1' : 'v2l23';
    const kbps = BITRATES[table][bri - 1];
    let samples;
    let size;
    if (layer === 3) {
        samples = 384;
        size = (Math.floor((12 * kbps * 1000) / rate) + padding) * 4;
    } else {
        samples = layer === 1 && version !== 3 ? 576 : 1152;
        size = Math.floor(((samples / 8) * kbps * 1000) / rate) + padding;
    }
    const channels = (buf[i + 3] >> 6) === 3 ? 1 : 2;
    return { version, layer, rate, kbps, samples, size, channels };
}

function id3Length(buf) {
    if (buf.length < 10 || buf.toString('latin1', 0, 3) !== 'ID3') return 0;
    const size = ((buf[6] & 0x7f) << 21) | ((buf[7] & 0x7f) << 14) | ((buf[8] & 0x7f) << 7) | (buf[9] & 0x7f);
    return 10 + size + (buf[5] & 0x10 ? 10 : 0);
}

/** Walks an MP3's frames: {sampleRate, channels, frames, duration, bytes} or null when the
 *  buffer is not a run of MPEG audio frames. A Xing/Info frame (LAME's header) is not
 *  audio and is not counted; its encoder delay and padding are taken off, as decoders do. */
export function mp3Info(buf) {
    let i = id3Length(buf);
    let frames = 0;
    let samples = 0;
    let first = null;
    let trim = 0;
    while (i + 4 <= buf.length) {
        const f = mpegFrame(buf, i);
        if (!f) {
            if (frames === 0 && i < 4096 + id3Length(buf)) {
                i++; // junk before the first frame
                continue;
            }
            if (buf.length - i < 128) break; // an ID3v1 tag or a short tail
            return null;
        }
        if (!first) {
            first = f;
            const sideInfo = f.version === 3 ? (f.channels === 1 ? 17 : 32) : f.channels === 1 ? 9 : 17;
            const tag = buf.toString('latin1', i + 4 + sideInfo, i + 8 + sideInfo);
            if (tag === 'Xing' || tag === 'Info') {
                // With every optional field present (frames, bytes, TOC, quality), the LAME
                // extension follows at 120 (its encoder string, "LAME…" or libav's "Lavf"),
                // with the encoder delay and padding, 12 bits each, at 141.
                const x = i + 4 + sideInfo;
                const flags = x + 8 <= buf.length ? buf.readUInt32BE(x + 4) : 0;
                if ((flags & 0x0f) === 0x0f && x + 144 <= i + f.size && x + 144 <= buf.length)
                    trim = (buf[x + 141] << 4) + (buf[x + 142] >> 4) + (((buf[x + 142] & 0x0f) << 8) | buf[x + 143]);
                i += f.size;
                continue;
            }
        }
        frames++;
        samples += f.samples;
        i += f.size;
    }
    if (!first || frames === 0) return null;
    samples = Math.max(0, samples - trim);
    return { sampleRate: first.rate, channels: first.channels, frames, duration: samples / first.rate, bytes: buf.length };
}

/** A RIFF/WAVE file's {sampleRate, channels, bitsPerSample, duration} or null. */
export function wavInfo(buf) {
    if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') return null;
    let i = 12;
    let fmt = null;
    while (i + 8 <= buf.length) {
        const id = buf.toString('latin1', i, i + 4);
        const size = buf.readUInt32LE(i + 4);
        if (id === 'fmt ' && i + 24 <= buf.length)
            fmt = { channels: buf.readUInt16LE(i + 10), sampleRate: buf.readUInt32LE(i + 12), blockAlign: buf.readUInt16LE(i + 20), bitsPerSample: buf.readUInt16LE(i + 22) };
        if (id === 'data' && fmt) {
            const bytes = Math.min(size, buf.length - i - 8);
            return { ...fmt, duration: bytes / fmt.blockAlign / fmt.sampleRate };
        }
        i += 8 + size + (size & 1);
    }
    return null;
}

/** What an upload is, by its bytes: {format, duration, sampleRate, channels} (duration
 *  null for the containers the fake does not measure), or null when it is not audio. */
export function audioInfo(buf) {
    const wav = wavInfo(buf);
    if (wav) return { format: 'wav', duration: wav.duration, sampleRate: wav.sampleRate, channels: wav.channels };
    const head = buf.toString('latin1', 0, 12);
    if (head.startsWith('fLaC')) return { format: 'flac', duration: null };
    if (head.startsWith('OggS')) return { format: 'ogg', duration: null };
    if (head.slice(4, 8) === 'ftyp') return { format: 'mp4', duration: null };
    if (buf.length >= 4 && buf.readUInt32BE(0) === 0x1a45dfa3) return { format: 'webm', duration: null };
    const mp3 = mp3Info(buf);
    if (mp3) return { format: 'mp3', duration: mp3.duration, sampleRate: mp3.sampleRate, channels: mp3.channels };
    return null;
}

// --- making ------------------------------------------------------------------------------

/** Silent MPEG-2 layer III at 24 kHz mono, 32 kbps: 96-byte frames of 576 samples each
 *  (a header, nine bytes of side information saying "no data", zeros). */
export function makeSilentMp3(seconds) {
    const frames = Math.max(1, Math.round((seconds * 24000) / 576));
    const frame = Buffer.alloc(96);
    frame[0] = 0xff;
    frame[1] = 0xf3; // MPEG-2, layer III, no CRC
    frame[2] = 0x44; // 32 kbps, 24 kHz, no padding
    frame[3] = 0xc0; // mono
    return Buffer.concat(Array.from({ length: frames }, () => frame));
}

/** 16-bit PCM silence at 24 kHz mono. */
export function makeSilentWav(seconds) {
    const n = Math.max(1, Math.round(seconds * 24000));
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + n * 2, 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(1, 22);
    h.writeUInt32LE(24000, 24);
    h.writeUInt32LE(48000, 28);
    h.writeUInt16LE(2, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(n * 2, 40);
    return Buffer.concat([h, Buffer.alloc(n * 2)]);
}

// --- the endpoints ---------------------------------------------------------------------------

export const TRANSCRIBE_MODELS = ['whisper-1', 'gpt-transcribe', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'gpt-4o-mini-transcribe-2025-12-15', 'gpt-4o-transcribe-diarize'];
export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'];
// The extensions the API takes (by the upload's file name).
export const UPLOAD_EXTENSIONS = ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm'];
export const UPLOAD_LIMIT = 26214400; // 25 MiB, the API's "Maximum content size limit"
export const SPEECH_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];
// Characters of speech per second the fake's voice takes.
export const SPEECH_CHARS_PER_SECOND = 15;

export const AUDIO_DEFAULTS = {
    // A RegExp or string tested against the upload's file name: matching transcription
    // uploads fail with 500 (every attempt), e.g. /_w3\.mp3$/ for the fourth window.
    failUploads: null,
    // The same for speech requests whose input contains this string.
    failSpeech: null,
};

/** The transcript of the seconds [start, end): one word each. */
export function windowWords(start, end) {
    const words = [];
    for (let t = start; t < end; t++) words.push(`s${t}`);
    return words.join(' ');
}

function srtTime(t, sep) {
    const ms = Math.round(t * 1000);
    const p = (n, w = 2) => String(n).padStart(w, '0');
    return `${p(Math.floor(ms / 3600000))}:${p(Math.floor(ms / 60000) % 60)}:${p(Math.floor(ms / 1000) % 60)}${sep}${p(ms % 1000, 3)}`;
}

/**
 * Installs the audio endpoints on a fake. `ctx` gives what they need from the server:
 * {bad(message, param, code), ApiError, config() (the live config), nowSec()}.
 * Returns {transcription(rec, body), speech(rec, body), chat(rec, body)}.
 */
export function audioEndpoints(ctx) {
    const { bad, ApiError } = ctx;
    const audioConfig = () => ({ ...AUDIO_DEFAULTS, ...(ctx.config().audio || {}) });
    const matches = (pattern, s) => pattern !== null && pattern !== undefined && (pattern instanceof RegExp ? pattern.test(s) : s.includes(pattern));

    function transcription(rec, body) {
        if (body.kind !== 'multipart') throw new ApiError(415, 'Expected a multipart/form-data body.', { code: 'unsupported_media_type' });
        const allowed = new Set(['file', 'model', 'language', 'prompt', 'response_format', 'temperature', 'timestamp_granularities[]', 'include[]', 'chunking_strategy', 'stream']);
        let file = null;
        const fields = {};
        const grans = [];
        for (const p of body.parts) {
            if (!allowed.has(p.name)) throw bad(`Unknown parameter: '${p.name}'.`, p.name, 'unknown_parameter');
            if (p.name === 'file') {
                if (file) throw bad("Duplicate parameter: 'file'.", 'file', 'duplicate_parameter');
                if (p.filename === null) throw bad("Invalid 'file': expected a file upload.", 'file', 'invalid_type');
                file = p;
            } else if (p.name === 'timestamp_granularities[]') {
                grans.push(p.data.toString('utf8'));
            } else {
                if (fields[p.name] !== undefined) throw bad(`Duplicate parameter: '${p.name}'.`, p.name, 'duplicate_parameter');
                fields[p.name] = p.data.toString('utf8');
            }
        }
        if (!file) throw bad("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
        if (fields.model === undefined) throw bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
        const model = fields.model;
        const format = fields.response_format ?? 'json';
        if (!RESPONSE_FORMATS.includes(format))
            throw bad(`Invalid value: '${format}'. Supported values are: ${RESPONSE_FORMATS.map((x) => `'${x}'`).join(', ')}.`, 'response_format', 'invalid_value');
        for (const g of grans)
            if (g !== 'word' && g !== 'segment') throw bad(`Invalid value: '${g}'. Supported values are: 'word' and 'segment'.`, 'timestamp_granularities', 'invalid_value');
        if (grans.length && format !== 'verbose_json')
            throw bad('timestamp_granularities requires response_format=verbose_json.', 'timestamp_granularities', 'invalid_value');
        const whisper = model === 'whisper-1';
        if (['srt', 'vtt', 'verbose_json'].includes(format) && !whisper)
            throw bad(`response_format '${format}' is not compatible with model '${model}'. Use 'json' or 'text'.`, 'response_format', 'unsupported_value');
        if (format === 'diarized_json' && model !== 'gpt-4o-transcribe-diarize')
            throw bad(`response_format 'diarized_json' is only supported by gpt-4o-transcribe-diarize.`, 'response_format', 'unsupported_value');
        const ext = (file.filename.match(/\.([^.]+)$/) || [])[1]?.toLowerCase();
        if (!ext || !UPLOAD_EXTENSIONS.includes(ext))
            throw bad(`Invalid file format. Supported formats: ${JSON.stringify(UPLOAD_EXTENSIONS)}`, 'file', 'invalid_value');
        if (file.data.length > UPLOAD_LIMIT)
            throw new ApiError(413, `Maximum content size limit (${UPLOAD_LIMIT}) exceeded (${file.data.length} bytes read)`, { code: 'content_size_limit_exceeded' });
        const info = audioInfo(file.data);
        rec.upload = { filename: file.filename, contentType: file.contentType, bytes: file.data.length, info, fields, granularities: grans };
        if (!info || (['mp3', 'mpga'].includes(ext) && info.format !== 'mp3') || (ext === 'wav' && info.format !== 'wav'))
            throw bad('Audio file might be corrupted or unsupported', 'file', 'invalid_value');
        if (matches(audioConfig().failUploads, file.filename))
            throw new ApiError(500, 'The server had an error while processing your request (injected window failure).', { type: 'server_error' });

        const duration = info.duration;
        const win = /_w(\d+)\.mp3$/.exec(file.filename);
        let text;
        if (win && duration !== null) {
            const start = Number(win[1]) * 75;
            text = windowWords(start, start + Math.round(duration));
        } else {
            text = duration === null ? 'A recording the fake could not measure.' : `A recording of ${duration.toFixed(1)} seconds.`;
        }
        if (fields.prompt && !win) text += ` (prompted: ${fields.prompt.length} characters)`;
        const dur = duration ?? 0;
        if (format === 'text') return { buffer: Buffer.from(text), contentType: 'text/plain; charset=utf-8' };
        if (format === 'srt')
            return { buffer: Buffer.from(`1\n${srtTime(0, ',')} --> ${srtTime(dur, ',')}\n${text}\n\n`), contentType: 'text/plain; charset=utf-8' };
        if (format === 'vtt')
            return { buffer: Buffer.from(`WEBVTT\n\n${srtTime(0, '.')} --> ${srtTime(dur, '.')}\n${text}\n\n`), contentType: 'text/plain; charset=utf-8' };
        if (format === 'verbose_json') {
            const out = {
                task: 'transcribe',
                language: 'english',
                duration: dur,
                text,
                segments: [{ id: 0, seek: 0, start: 0, end: dur, text, tokens: [1, 2, 3], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01 }],
                usage: { type: 'duration', seconds: Math.ceil(dur) },
            };
            if (grans.includes('word')) out.words = text.split(' ').map((word, i, all) => ({ word, start: (dur * i) / all.length, end: (dur * (i + 1)) / all.length }));
            if (!grans.includes('segment') && grans.length) delete out.segments;
            return { json: out };
        }
        if (format === 'diarized_json')
            return { json: { task: 'transcribe', duration: dur, text, segments: [{ type: 'transcript.text.segment', id: 'seg_0', start: 0, end: dur, text, speaker: 'A' }], usage: { type: 'duration', seconds: Math.ceil(dur) } } };
        const words = text.split(' ').length;
        return {
            json: {
                text,
                usage: whisper
                    ? { type: 'duration', seconds: Math.ceil(dur) }
                    : { type: 'tokens', input_tokens: Math.ceil(dur * 10), input_token_details: { text_tokens: 0, audio_tokens: Math.ceil(dur * 10) }, output_tokens: words, total_tokens: Math.ceil(dur * 10) + words },
            },
        };
    }

    function speech(rec, body) {
        if (body.kind !== 'json' || body.json === null || typeof body.json !== 'object' || Array.isArray(body.json))
            throw bad('The request body must be a JSON object.');
        const j = body.json;
        const allowed = new Set(['model', 'input', 'voice', 'instructions', 'response_format', 'speed', 'stream_format']);
        for (const k of Object.keys(j)) if (!allowed.has(k)) throw bad(`Unknown parameter: '${k}'.`, k, 'unknown_parameter');
        for (const k of ['model', 'input', 'voice'])
            if (j[k] === undefined) throw bad(`Missing required parameter: '${k}'.`, k, 'missing_required_parameter');
        if (typeof j.model !== 'string' || !j.model) throw bad("Invalid type for 'model': expected a string.", 'model', 'invalid_type');
        if (typeof j.input !== 'string') throw bad("Invalid type for 'input': expected a string.", 'input', 'invalid_type');
        const chars = [...j.input].length;
        if (chars > 4096) throw bad(`Invalid 'input': string too long. Expected a string with maximum length 4096, but got a string with length ${chars} instead.`, 'input', 'string_above_max_length');
        if (!(typeof j.voice === 'string' || (j.voice && typeof j.voice.id === 'string'))) throw bad("Invalid type for 'voice'.", 'voice', 'invalid_type');
        if (j.instructions !== undefined) {
            if (typeof j.instructions !== 'string' || [...j.instructions].length > 4096) throw bad("Invalid 'instructions'.", 'instructions', 'invalid_value');
            if (j.model === 'tts-1' || j.model === 'tts-1-hd') throw bad('Instructions are not supported by tts-1 and tts-1-hd.', 'instructions', 'unsupported_value');
        }
        const format = j.response_format ?? 'mp3';
        if (!SPEECH_FORMATS.includes(format)) throw bad(`Invalid value: '${format}'.`, 'response_format', 'invalid_value');
        if (j.speed !== undefined && !(typeof j.speed === 'number' && j.speed >= 0.25 && j.speed <= 4))
            throw bad(`Invalid 'speed': expected a number between 0.25 and 4.0.`, 'speed', 'invalid_value');
        if (matches(audioConfig().failSpeech, j.input))
            throw new ApiError(500, 'The server had an error while processing your request (injected speech failure).', { type: 'server_error' });
        const seconds = Math.max(0.5, chars / SPEECH_CHARS_PER_SECOND / (j.speed ?? 1));
        rec.speech = { chars, seconds, format };
        if (format === 'mp3') return { buffer: makeSilentMp3(seconds), contentType: 'audio/mpeg' };
        if (format === 'wav') return { buffer: makeSilentWav(seconds), contentType: 'audio/wav' };
        throw bad(`response_format '${format}' is not served by the fake.`, 'response_format', 'unsupported_value');
    }

    function chat(rec, body) {
        if (body.kind !== 'json' || body.json === null || typeof body.json !== 'object' || Array.isArray(body.json))
            throw bad('The request body must be a JSON object.');
        const j = body.json;
        if (typeof j.model !== 'string' || !j.model) throw bad("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
        if (!Array.isArray(j.messages) || j.messages.length === 0) throw bad("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
        const heard = [];
        let system = null;
        let question = null;
        j.messages.forEach((m, i) => {
            if (!m || typeof m !== 'object' || !['system', 'developer', 'user', 'assistant'].includes(m.role))
                throw bad(`Invalid 'messages[${i}].role'.`, `messages[${i}].role`, 'invalid_value');
            if (typeof m.content === 'string') {
                if (m.role === 'system' || m.role === 'developer') system = m.content;
                else if (m.role === 'user') question = m.content;
                return;
            }
            if (!Array.isArray(m.content)) throw bad(`Invalid 'messages[${i}].content'.`, `messages[${i}].content`, 'invalid_type');
            m.content.forEach((part, k) => {
                const where = `messages[${i}].content[${k}]`;
                if (part?.type === 'text') {
                    if (typeof part.text !== 'string') throw bad(`Invalid '${where}.text'.`, `${where}.text`, 'invalid_type');
                    question = part.text;
                } else if (part?.type === 'input_audio') {
                    if (m.role !== 'user') throw bad(`'${where}': input_audio is only allowed in user messages.`, where, 'invalid_value');
                    const a = part.input_audio;
                    if (!a || typeof a.data !== 'string' || !['mp3', 'wav'].includes(a.format))
                        throw bad(`Invalid '${where}.input_audio': expected {data, format: 'mp3' | 'wav'}.`, `${where}.input_audio`, 'invalid_value');
                    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.data) || a.data.length % 4 !== 0)
                        throw bad(`Invalid '${where}.input_audio.data': not base64.`, `${where}.input_audio.data`, 'invalid_value');
                    const bytes = Buffer.from(a.data, 'base64');
                    const info = audioInfo(bytes);
                    if (!info || info.format !== a.format)
                        throw bad(`The audio data of '${where}' is not valid ${a.format}.`, `${where}.input_audio.data`, 'invalid_value');
                    heard.push({ format: a.format, bytes: bytes.length, duration: info.duration });
                } else {
                    throw bad(`Invalid '${where}.type'.`, `${where}.type`, 'invalid_value');
                }
            });
        });
        if (heard.length && !j.model.includes('audio'))
            throw bad(`This model does not support audio input: '${j.model}'.`, 'model', 'unsupported_value');
        rec.chat = { model: j.model, system, question, audio: heard };
        const said = heard.map((h) => `${h.duration.toFixed(1)} seconds of ${h.format} audio`).join(' and ');
        const content = `I heard ${said || 'no audio'}.` + (question ? ` You asked: ${question}` : '') + (system ? ` (system: ${system.length} characters)` : '');
        const promptTokens = 20 + heard.reduce((n, h) => n + Math.ceil(h.duration * 10), 0);
        return {
            json: {
                id: `chatcmpl-${rec.seq}`,
                object: 'chat.completion',
                created: ctx.nowSec(),
                model: j.model,
                choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
                usage: { prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12, prompt_tokens_details: { cached_tokens: 0, audio_tokens: promptTokens - 20 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 } },
            },
        };
    }

    return { transcription, speech, chat };
}
