// Self-tests of the fake's audio endpoints, driven by OpenAI's own Node SDK (openai 7.59.0):
// what the SDK sends the fake takes, and what the fake answers the SDK reads as the real
// API's answer (a transcription object or text, speech bytes, a chat completion). Also
// the fake's MP3 and WAV reading and making, which every audio test relies on.
// Run: node --test tests/fake-openai/
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { startFakeOpenAI } from './server.mjs';
import { mp3Info, wavInfo, audioInfo, makeSilentMp3, makeSilentWav, mpegFrame, windowWords, UPLOAD_LIMIT } from './audio.mjs';

const KEY = 'sk-audio-test';

describe('fake audio: reading and making', () => {
    test('silent MP3 is MPEG-2 layer III at 24 kHz mono, 576 samples a frame', () => {
        const mp3 = makeSilentMp3(2.0);
        const f = mpegFrame(mp3, 0);
        assert.deepEqual([f.version, f.layer, f.rate, f.kbps, f.samples, f.size, f.channels], [2, 1, 24000, 32, 576, 96, 1]);
        const info = mp3Info(mp3);
        assert.equal(info.frames, Math.round((2.0 * 24000) / 576));
        assert.ok(Math.abs(info.duration - 2.0) < 0.013, String(info.duration));
        assert.equal(info.sampleRate, 24000);
        assert.equal(info.channels, 1);
    });

    test('a LAME Info frame is not audio; its delay and padding come off', () => {
        const body = makeSilentMp3(1.0);
        // LAME writes its tag into a frame big enough for it: 160 kbps, 480 bytes.
        const info = Buffer.alloc(480);
        Buffer.from([0xff, 0xf3, 0xe4, 0xc0]).copy(info);
        assert.equal(mpegFrame(info, 0).size, 480);
        info.write('Info', 4 + 9, 'latin1'); // after MPEG-2 mono side information
        info.writeUInt32BE(0x0f, 4 + 9 + 4); // frames, bytes, TOC and quality present
        info.write('Lavf', 4 + 9 + 120, 'latin1'); // libav's encoder string (LAME's says LAME)
        const delay = 576;
        const padding = 300;
        const at = 4 + 9 + 141;
        info[at] = delay >> 4;
        info[at + 1] = ((delay & 0x0f) << 4) | (padding >> 8);
        info[at + 2] = padding & 0xff;
        const plain = mp3Info(body);
        const tagged = mp3Info(Buffer.concat([info, body]));
        assert.equal(tagged.frames, plain.frames);
        assert.ok(Math.abs(plain.duration - tagged.duration - (delay + padding) / 24000) < 1e-9);
        // An ID3v2 tag in front is skipped.
        const id3 = Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 10, ...Buffer.alloc(10)]);
        assert.equal(mp3Info(Buffer.concat([id3, body])).frames, plain.frames);
    });

    test('WAV, other containers and not audio', () => {
        const wav = wavInfo(makeSilentWav(1.5));
        assert.deepEqual([wav.sampleRate, wav.channels, wav.bitsPerSample], [24000, 1, 16]);
        assert.ok(Math.abs(wav.duration - 1.5) < 1e-9);
        assert.equal(audioInfo(Buffer.from('fLaC\0\0\0\x22')).format, 'flac');
        assert.equal(audioInfo(Buffer.from('OggS\0\x02')).format, 'ogg');
        assert.equal(audioInfo(Buffer.from('\0\0\0\x20ftypM4A ')).format, 'mp4');
        assert.equal(audioInfo(Buffer.from('<!DOCTYPE html><html>not audio at all, no frames here</html>')), null);
        assert.equal(audioInfo(Buffer.alloc(0)), null);
        assert.equal(windowWords(3, 6), 's3 s4 s5');
    });
});

describe('fake audio endpoints through the OpenAI SDK', () => {
    let fake;
    let client;
    before(async () => {
        fake = await startFakeOpenAI({ apiKey: KEY });
        client = new OpenAI({ apiKey: KEY, baseURL: fake.url, maxRetries: 0 });
    });
    after(async () => fake.close());
    beforeEach(() => fake.reset());

    test('transcription: json by default, with usage; the upload is measured', async () => {
        const r = await client.audio.transcriptions.create({ file: await toFile(makeSilentMp3(3), 'meeting.mp3', { type: 'audio/mpeg' }), model: 'gpt-4o-mini-transcribe' });
        assert.equal(r.text, 'A recording of 3.0 seconds.');
        assert.equal(r.usage.type, 'tokens');
        const rec = fake.requests.at(-1);
        assert.equal(rec.path, '/v1/audio/transcriptions');
        assert.equal(rec.upload.filename, 'meeting.mp3');
        assert.equal(rec.upload.info.format, 'mp3');
        assert.equal(rec.fields.model, 'gpt-4o-mini-transcribe');
    });

    test('transcription formats: text, srt, vtt, verbose_json with words, diarized_json', async () => {
        const file = async (name = 'a.wav') => toFile(makeSilentWav(2), name, { type: 'audio/wav' });
        const text = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe', response_format: 'text', prompt: 'Names: Ada.' });
        assert.equal(text, 'A recording of 2.0 seconds. (prompted: 11 characters)');
        const srt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'srt' });
        assert.match(srt, /^1\n00:00:00,000 --> 00:00:02,000\nA recording of 2\.0 seconds\.\n/);
        const vtt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'vtt' });
        assert.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> 00:00:02\.000\n/);
        const v = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
        assert.equal(v.language, 'english');
        assert.equal(v.duration, 2);
        assert.equal(v.words.length, 5);
        assert.equal(v.segments[0].end, 2);
        assert.deepEqual(fake.requests.at(-1).upload.granularities, ['word', 'segment']);
        const d = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe-diarize', response_format: 'diarized_json' });
        assert.equal(d.segments[0].speaker, 'A');
    });

    test('a window of a long recording gets one word per second of its time', async () => {
        const r = await client.audio.transcriptions.create({ file: await toFile(makeSilentMp3(90), 'talk_w2.mp3'), model: 'gpt-4o-mini-transcribe', response_format: 'text' });
        assert.equal(r, windowWords(150, 240));
        const last = await client.audio.transcriptions.create({ file: await toFile(makeSilentMp3(20), 'talk_w3.mp3'), model: 'gpt-4o-mini-transcribe', response_format: 'text' });
        assert.equal(last, windowWords(225, 245));
    });

    test('transcription refusals: size, format, bytes, model and format, injected failures', async () => {
        const fail = async (params, status, param) => {
            await assert.rejects(client.audio.transcriptions.create(params), (e) => {
                assert.equal(e.status, status, e.message);
                if (param !== undefined) assert.equal(e.param, param);
                return true;
            });
        };
        const big = Buffer.concat([makeSilentWav(1), Buffer.alloc(UPLOAD_LIMIT)]);
        await fail({ file: await toFile(big, 'big.wav'), model: 'whisper-1' }, 413);
        await fail({ file: await toFile(makeSilentMp3(1), 'a.txt'), model: 'whisper-1' }, 400, 'file');
        await fail({ file: await toFile(makeSilentWav(1), 'a.mp3'), model: 'whisper-1' }, 400, 'file');
        await fail({ file: await toFile(Buffer.from('not audio'), 'a.wav'), model: 'whisper-1' }, 400, 'file');
        await fail({ file: await toFile(makeSilentMp3(1), 'a.mp3'), model: 'gpt-4o-transcribe', response_format: 'verbose_json' }, 400, 'response_format');
        await fail({ file: await toFile(makeSilentMp3(1), 'a.mp3'), model: 'whisper-1', timestamp_granularities: ['word'] }, 400, 'timestamp_granularities');
        await fail({ file: await toFile(makeSilentMp3(1), 'a.mp3') }, 400, 'model');
        fake.configure({ audio: { failUploads: /_w1\.mp3$/ } });
        await fail({ file: await toFile(makeSilentMp3(1), 'x_w1.mp3'), model: 'whisper-1' }, 500);
        const ok = await client.audio.transcriptions.create({ file: await toFile(makeSilentMp3(1), 'x_w0.mp3'), model: 'whisper-1', response_format: 'text' });
        assert.equal(ok, 's0');
    });

    test('speech: MP3 (or WAV) whose length follows the text and speed', async () => {
        const res = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'coral', input: 'x'.repeat(150), instructions: 'Calm.' });
        assert.equal(res.headers.get('content-type'), 'audio/mpeg');
        const mp3 = Buffer.from(await res.arrayBuffer());
        const info = mp3Info(mp3);
        assert.ok(Math.abs(info.duration - 10) < 0.03, String(info.duration));
        const rec = fake.requests.at(-1);
        assert.equal(rec.headers.accept, 'application/octet-stream');
        assert.deepEqual(rec.speech, { chars: 150, seconds: 10, format: 'mp3' });
        const fast = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x'.repeat(150), speed: 2, response_format: 'wav' });
        const wav = wavInfo(Buffer.from(await fast.arrayBuffer()));
        assert.ok(Math.abs(wav.duration - 5) < 1e-6);
    });

    test('speech refusals', async () => {
        const fail = async (params, param) =>
            assert.rejects(client.audio.speech.create(params), (e) => e.status === 400 && e.param === param);
        await fail({ model: 'tts-1', voice: 'alloy', input: 'é'.repeat(4097) }, 'input');
        await fail({ model: 'tts-1', voice: 'alloy', input: 'hi', instructions: 'Calm.' }, 'instructions');
        await fail({ model: 'tts-1', voice: 'alloy', input: 'hi', speed: 5 }, 'speed');
        await fail({ model: 'tts-1', input: 'hi' }, 'voice');
        await fail({ model: 'tts-1', voice: 'alloy', input: 'hi', volume: 3 }, 'volume');
        // 4096 characters (not bytes) is fine.
        const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'é'.repeat(4096) });
        assert.ok(mp3Info(Buffer.from(await res.arrayBuffer())));
    });

    test('chat completion with input_audio: the fake hears what was sent', async () => {
        const data = makeSilentWav(1.5).toString('base64');
        const r = await client.chat.completions.create({
            model: 'gpt-4o-audio-preview',
            messages: [
                { role: 'system', content: 'Be brief.' },
                { role: 'user', content: [{ type: 'input_audio', input_audio: { data, format: 'wav' } }, { type: 'text', text: 'What is it?' }] },
            ],
        });
        assert.equal(r.object, 'chat.completion');
        assert.equal(r.choices[0].message.content, 'I heard 1.5 seconds of wav audio. You asked: What is it? (system: 9 characters)');
        assert.deepEqual(fake.requests.at(-1).chat.audio, [{ format: 'wav', bytes: makeSilentWav(1.5).length, duration: 1.5 }]);
        const fail = async (params, param) =>
            assert.rejects(client.chat.completions.create(params), (e) => e.status === 400 && (param === undefined || e.param === param));
        const audio = (d, format) => ({ role: 'user', content: [{ type: 'input_audio', input_audio: { data: d, format } }] });
        await fail({ model: 'gpt-4o-audio-preview', messages: [audio(data, 'mp3')] });
        await fail({ model: 'gpt-4o', messages: [audio(data, 'wav')] }, 'model');
        await fail({ model: 'gpt-4o-audio-preview', messages: [audio('***', 'wav')] });
        await fail({ model: 'gpt-4o-audio-preview', messages: [] }, 'messages');
    });
});
