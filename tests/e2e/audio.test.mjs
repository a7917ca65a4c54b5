// The eight audio tools end to end: the real server over stdio and over Streamable HTTP,
// driven by the official MCP client, against the fake OpenAI server, on audio made by the
// tests. What each tool writes is read back (MP3 frames, WAV headers) and what each sends
// OpenAI is read from the fake's records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withAudio, writeWav, call, fails, refused, tree, sent, readMp3, near, mp3Info, wavInfo, makeSilentMp3 } from './audio-lib.mjs';

const AUDIO_TOOLS = [
  'list_audio_files',
  'get_latest_audio',
  'convert_audio',
  'compress_audio',
  'transcribe_audio',
  'transcribe_with_enhancement',
  'chat_with_audio',
  'create_audio',
];

for (const transport of ['stdio', 'http']) {
  test(`every audio tool once, over ${transport}`, async () => {
    await withAudio(
      async ({ client, fake, audio }) => {
        const tools = (await client.listTools()).tools;
        for (const name of AUDIO_TOOLS) assert.ok(tools.find((t) => t.name === name), `${name} is listed`);
        writeWav(path.join(audio, 'voice.wav'), { seconds: 4, rate: 22050, signal: 'speech' });

        const list = await call(client, 'list_audio_files');
        assert.deepEqual(list.data.map((f) => f.file_name), ['voice.wav']);
        assert.equal((await call(client, 'get_latest_audio')).file_name, 'voice.wav');

        const conv = await call(client, 'convert_audio', { input_path: 'voice.wav', output_format: 'mp3' });
        assert.equal(conv.output_file, 'voice.mp3');
        const link = conv.reply.content.find((c) => c.type === 'resource_link');
        assert.equal(link.uri, 'sanzaru://audio/voice.mp3');
        assert.equal(link.mimeType, 'audio/mpeg');
        const { info } = readMp3(path.join(audio, 'voice.mp3'));
        near(info.duration, 4, 0.001, 'voice.mp3 lasts');
        assert.equal(info.channels, 2);

        const comp = await call(client, 'compress_audio', { input_path: 'voice.wav', max_mb: 1 });
        assert.equal(comp.compressed, false); // 176 KB is already under 1 MB

        const tr = await call(client, 'transcribe_audio', { file_path: 'voice.mp3' });
        assert.equal(tr.text, 'A recording of 4.0 seconds.');
        assert.equal(tr.chunked, false);
        const en = await call(client, 'transcribe_with_enhancement', { file_path: 'voice.wav', enhancement_type: 'professional' });
        assert.match(en.text, /^A recording of 4\.0 seconds\. \(prompted: \d+ characters\)$/);

        const chat = await call(client, 'chat_with_audio', { file_path: 'voice.mp3', user_prompt: 'Who speaks?' });
        assert.equal(chat.text, 'I heard 4.0 seconds of mp3 audio. You asked: Who speaks?');

        const sp = await call(client, 'create_audio', { text_prompt: 'Hello there, this is a test.', output_filename: 'hello.mp3' });
        assert.deepEqual(
          { ...sp, size_bytes: undefined },
          { output_file: 'hello.mp3', provider: 'openai', model: 'gpt-4o-mini-tts', characters: 28, requests: 1, size_bytes: undefined },
        );
        assert.equal(fs.statSync(path.join(audio, 'hello.mp3')).size, sp.size_bytes);

        // The files are resources too.
        const res = await client.readResource({ uri: 'sanzaru://audio/hello.mp3' });
        assert.equal(res.contents[0].mimeType, 'audio/mpeg');
        assert.deepEqual(Buffer.from(res.contents[0].blob, 'base64'), fs.readFileSync(path.join(audio, 'hello.mp3')));
        const listed = await client.listResources();
        assert.ok(listed.resources.find((r) => r.uri === 'sanzaru://audio/voice.wav'));
        assert.equal(sent(fake, 'audio/transcriptions').length, 2);
        assert.equal(sent(fake, 'chat/completions').length, 1);
        assert.equal(sent(fake, 'audio/speech').length, 1);
      },
      { transport },
    );
  });
}

test('list_audio_files: FileInfo, filters, sorting; get_latest_audio', async () => {
  await withAudio(async ({ client, audio }) => {
    await fails(client, 'get_latest_audio', {}, /^No supported audio files found$/);
    writeWav(path.join(audio, 'b-long.wav'), { seconds: 6, rate: 8000 });
    writeWav(path.join(audio, 'a-short.wav'), { seconds: 1, rate: 8000 });
    fs.writeFileSync(path.join(audio, 'c-silent.mp3'), makeSilentMp3(3));
    fs.writeFileSync(path.join(audio, 'd-broken.mp3'), 'this is no mp3');
    fs.writeFileSync(path.join(audio, 'notes.txt'), 'not listed');
    fs.writeFileSync(path.join(audio, '.hidden.wav'), 'skipped');
    fs.mkdirSync(path.join(audio, 'sub'));
    writeWav(path.join(audio, 'sub', 'deep.wav'), { seconds: 1 });
    const t0 = 1700000000;
    ['a-short.wav', 'b-long.wav', 'c-silent.mp3', 'd-broken.mp3'].forEach((f, i) =>
      fs.utimesSync(path.join(audio, f), t0 + i * 100, t0 + i * 100 + 0.25),
    );

    const all = (await call(client, 'list_audio_files')).data;
    assert.deepEqual(all.map((f) => f.file_name), ['a-short.wav', 'b-long.wav', 'c-silent.mp3', 'd-broken.mp3']);
    const b = all[1];
    assert.deepEqual(Object.keys(b), ['file_name', 'transcription_support', 'chat_support', 'modified_time', 'size_bytes', 'format', 'duration_seconds']);
    assert.deepEqual(b.transcription_support, ['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'gpt-4o-transcribe-diarize']);
    assert.equal(b.chat_support.length, 6);
    assert.equal(b.modified_time, t0 + 100.25);
    assert.equal(b.size_bytes, 44 + 6 * 8000 * 2);
    assert.equal(b.format, 'wav');
    assert.equal(b.duration_seconds, 6);
    near(all[2].duration_seconds, 3, 0.013, 'silent mp3');
    assert.equal(all[3].duration_seconds, null); // not decodable: null, still listed

    const names = async (args) => (await call(client, 'list_audio_files', args)).data.map((f) => f.file_name);
    assert.deepEqual(await names({ pattern: 'long|silent' }), ['b-long.wav', 'c-silent.mp3']);
    assert.deepEqual(await names({ pattern: '^[ab]-' }), ['a-short.wav', 'b-long.wav']);
    assert.deepEqual(await names({ pattern: '^\\d' }), []);
    assert.deepEqual(await names({ pattern: '\\d$' }), ['c-silent.mp3', 'd-broken.mp3']);
    assert.deepEqual(await names({ format: 'MP3' }), ['c-silent.mp3', 'd-broken.mp3']);
    assert.deepEqual(await names({ min_size_bytes: 13000, max_size_bytes: 17000 }), ['a-short.wav']);
    assert.deepEqual(await names({ max_size_bytes: 0 }), []);
    // Unknown durations pass duration bounds, as in the original.
    assert.deepEqual(await names({ min_duration_seconds: 2.5, max_duration_seconds: 5 }), ['c-silent.mp3', 'd-broken.mp3']);
    assert.deepEqual(await names({ min_modified_time: t0 + 100, max_modified_time: t0 + 200.25 }), ['b-long.wav', 'c-silent.mp3']);
    assert.deepEqual(await names({ sort_by: 'size' }), ['d-broken.mp3', 'c-silent.mp3', 'a-short.wav', 'b-long.wav']);
    assert.deepEqual(await names({ sort_by: 'duration', reverse: true }), ['b-long.wav', 'c-silent.mp3', 'a-short.wav', 'd-broken.mp3']);
    assert.deepEqual(await names({ sort_by: 'modified_time', reverse: true }), ['d-broken.mp3', 'c-silent.mp3', 'b-long.wav', 'a-short.wav']);
    assert.deepEqual(await names({ sort_by: 'format' }), ['a-short.wav', 'b-long.wav', 'c-silent.mp3', 'd-broken.mp3'].sort((x, y) => (x.slice(-3) < y.slice(-3) ? -1 : x.slice(-3) > y.slice(-3) ? 1 : 0)));
    await fails(client, 'list_audio_files', { pattern: '(unclosed' }, /Invalid pattern '\(unclosed'/);
    await fails(client, 'list_audio_files', { pattern: '(a)\\1' }, /back-references are not supported/);

    const latest = await call(client, 'get_latest_audio');
    assert.equal(latest.file_name, 'd-broken.mp3');
    assert.equal(latest.chat_support.length, 6);
  });
});

test('convert_audio: both directions, decoded back; names; subfolders', async () => {
  await withAudio(async ({ client, audio }) => {
    writeWav(path.join(audio, 'mono.wav'), { seconds: 2.5, rate: 44100, signal: 'speech' });
    fs.mkdirSync(path.join(audio, 'talks'));
    writeWav(path.join(audio, 'talks', 'deep.wav'), { seconds: 1, rate: 16000 });

    const a = await call(client, 'convert_audio', { input_path: 'mono.wav', output_format: 'mp3' });
    assert.deepEqual(a, { output_file: 'mono.mp3', format: 'mp3', duration_seconds: 2.5, sample_rate: 44100, channels: 2, size_bytes: a.size_bytes });
    const mp3 = readMp3(path.join(audio, 'mono.mp3'));
    assert.deepEqual([mp3.info.sampleRate, mp3.info.channels], [44100, 2]);
    near(mp3.info.duration, 2.5, 0.001, 'mono.mp3');
    near(mp3.bytes.length, (2.5 * 128000) / 8, 3000, 'a 128 kbps MP3 is');

    // Back to WAV: the MP3 is decoded and its length kept.
    fs.renameSync(path.join(audio, 'mono.mp3'), path.join(audio, 'round.mp3'));
    const w = await call(client, 'convert_audio', { input_path: 'round.mp3', output_format: 'wav' });
    assert.equal(w.output_file, 'round.wav');
    const wav = wavInfo(fs.readFileSync(path.join(audio, 'round.wav')));
    assert.deepEqual([wav.sampleRate, wav.channels, wav.bitsPerSample], [44100, 2, 16]);
    near(wav.duration, 2.5, 0.001, 'round.wav');

    // A taken name gets a free one; overwrite replaces; a subfolder's file lands on top.
    assert.equal((await call(client, 'convert_audio', { input_path: 'round.mp3', output_format: 'wav' })).output_file, 'round-1.wav');
    assert.equal((await call(client, 'convert_audio', { input_path: 'round.mp3', output_format: 'wav', overwrite: true })).output_file, 'round.wav');
    assert.equal((await call(client, 'convert_audio', { input_path: 'talks/deep.wav', output_format: 'mp3' })).output_file, 'deep.mp3');
    // In place: x.mp3 to mp3 never replaces the input unless asked.
    assert.equal((await call(client, 'convert_audio', { input_path: 'round.mp3', output_format: 'mp3' })).output_file, 'round-1.mp3');
    assert.deepEqual(tree(audio), ['deep.mp3', 'mono.wav', 'round-1.mp3', 'round-1.wav', 'round.mp3', 'round.wav', 'talks', 'talks/deep.wav']);

    await fails(client, 'convert_audio', { input_path: 'missing.wav', output_format: 'mp3' }, /^File not found: missing\.wav$/);
    await fails(client, 'convert_audio', { input_path: 'notes.txt', output_format: 'mp3' }, /^Unsupported file type: \.txt\. Use: FLAC, MP3/);
    await refused(client, 'convert_audio', { input_path: 'mono.wav', output_format: 'ogg' }, /'output_format' must be one of "mp3", "wav"/);
  });
});

test('compress_audio: aims at max_mb, checks it, says what it chose', async () => {
  await withAudio(async ({ client, audio }) => {
    // 3 minutes of 44.1 kHz stereo: 31.8 MB.
    const big = writeWav(path.join(audio, 'lecture.wav'), { seconds: 180, rate: 44100, channels: 2, signal: 'speech' });
    assert.ok(big > 30e6);
    const c = await call(client, 'compress_audio', { input_path: 'lecture.wav', max_mb: 1 });
    assert.equal(c.output_file, 'compressed_lecture.mp3');
    assert.equal(c.compressed, true);
    assert.ok(c.size_bytes <= 1048576, `${c.size_bytes} > 1 MiB`);
    assert.equal(fs.statSync(path.join(audio, c.output_file)).size, c.size_bytes);
    // 180 s in 1 MiB: 32 kbps mono 22.05 kHz is the best setting that fits.
    assert.deepEqual([c.bit_rate_kbps, c.sample_rate, c.channels], [32, 22050, 1]);
    near(c.duration_seconds, 180, 0.001);
    const { info } = readMp3(path.join(audio, c.output_file));
    assert.deepEqual([info.sampleRate, info.channels], [22050, 1]);
    near(info.duration, 180, 0.001, 'compressed lecture');

    // With the default 25 MB it keeps full quality (128 kbps stereo: 2.9 MB).
    const d = await call(client, 'compress_audio', { input_path: 'lecture.wav', output_filename: 'hq.mp3' });
    assert.deepEqual([d.output_file, d.bit_rate_kbps, d.sample_rate, d.channels], ['hq.mp3', 128, 44100, 2]);
    // Small enough already: the file itself, or a copy.
    const same = await call(client, 'compress_audio', { input_path: 'hq.mp3', max_mb: 5 });
    assert.deepEqual([same.output_file, same.compressed], ['hq.mp3', false]);
    const copy = await call(client, 'compress_audio', { input_path: 'hq.mp3', output_filename: 'hq-copy.mp3' });
    assert.deepEqual([copy.output_file, copy.compressed], ['hq-copy.mp3', false]);
    assert.deepEqual(fs.readFileSync(path.join(audio, 'hq-copy.mp3')), fs.readFileSync(path.join(audio, 'hq.mp3')));
    await fails(client, 'compress_audio', { input_path: 'hq.mp3', output_filename: 'hq-copy.mp3' }, /^File already exists: hq-copy\.mp3 \(pass overwrite: true/);
    await fails(client, 'compress_audio', { input_path: 'lecture.wav', max_mb: 1, output_filename: 'small.wav' }, /output_filename must end in \.mp3/);
    await fails(client, 'compress_audio', { input_path: 'lecture.wav', max_mb: 0 }, /^max_mb must be between 1 and 1000, got 0$/);
    await fails(client, 'compress_audio', { input_path: 'lecture.wav', max_mb: 1001 }, /^max_mb must be between 1 and 1000, got 1001$/);
    assert.deepEqual(tree(audio), ['compressed_lecture.mp3', 'hq-copy.mp3', 'hq.mp3', 'lecture.wav']);
  });
});

test('transcribe_audio: formats, options, what is sent; over 25 MB re-encoded, never sent to fail', async () => {
  await withAudio(
    async ({ client, fake, audio }) => {
      fs.writeFileSync(path.join(audio, 'memo.mp3'), makeSilentMp3(5));
      const plain = await call(client, 'transcribe_audio', { file_path: 'memo.mp3', prompt: 'Names: Ada.' });
      assert.deepEqual(plain, {
        text: 'A recording of 5.0 seconds. (prompted: 11 characters)',
        duration: null,
        language: null,
        segments: null,
        words: null,
        usage: null,
        logprobs: null,
        chunked: false,
        windows: null,
      });
      let rec = sent(fake, 'audio/transcriptions').at(-1);
      assert.deepEqual(rec.fields, { model: 'whisper-1', response_format: 'text', prompt: 'Names: Ada.' }); // SANZARU_TRANSCRIBE_MODEL
      assert.equal(rec.upload.filename, 'memo.mp3');
      assert.equal(rec.upload.contentType, 'audio/mpeg');
      assert.equal(rec.upload.bytes, fs.statSync(path.join(audio, 'memo.mp3')).size);

      const v = await call(client, 'transcribe_audio', { file_path: 'memo.mp3', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
      assert.equal(v.language, 'english');
      near(v.duration, 5, 0.013);
      assert.equal(v.words.length, 5);
      assert.equal(v.segments.length, 1);
      assert.deepEqual(v.usage, { type: 'duration', seconds: 5 });
      assert.deepEqual(sent(fake, 'audio/transcriptions').at(-1).upload.granularities, ['word', 'segment']);
      const j = await call(client, 'transcribe_audio', { file_path: 'memo.mp3', response_format: 'json', model: 'gpt-4o-transcribe' });
      assert.equal(j.usage.type, 'tokens');
      const srt = await call(client, 'transcribe_audio', { file_path: 'memo.mp3', response_format: 'srt' });
      assert.match(srt.text, /^1\n00:00:00,000 --> 00:00:0[45],\d{3}\n/);
      // The API's own refusal reaches the user with its status and words.
      await fails(client, 'transcribe_audio', { file_path: 'memo.mp3', response_format: 'verbose_json', model: 'gpt-4o-transcribe' }, /OpenAI API error 400 .*not compatible with model/);
      await fails(client, 'transcribe_audio', { file_path: 'memo.mp3', timestamp_granularities: ['char'] }, /timestamp_granularities\[0\]/);

      // 5 minutes of 44.1 kHz stereo WAV: 52.9 MB, under 480 s. Encoded to MP3 on the
      // pool and sent as one file; the original would have sent 52.9 MB to fail.
      writeWav(path.join(audio, 'long take.wav'), { seconds: 300, rate: 44100, channels: 2, signal: 'speech' });
      const big = await call(client, 'transcribe_audio', { file_path: 'long take.wav', response_format: 'verbose_json' });
      assert.equal(big.chunked, false);
      near(big.duration, 300, 0.001);
      rec = sent(fake, 'audio/transcriptions').at(-1);
      assert.equal(rec.upload.filename, 'long take.mp3');
      assert.ok(rec.upload.bytes < 25 * 1048576 && rec.upload.bytes > 4e6, String(rec.upload.bytes));
      assert.equal(rec.status, 200);
      assert.ok(!fs.readdirSync(audio).some((n) => n.startsWith('.')), 'no scratch file left');
    },
    { env: { SANZARU_TRANSCRIBE_MODEL: 'whisper-1' } },
  );
});

test('transcribe_with_enhancement: the style prompt, text format, no timestamps', async () => {
  await withAudio(async ({ client, fake, audio }) => {
    fs.writeFileSync(path.join(audio, 'a.mp3'), makeSilentMp3(2));
    const prompts = new Set();
    for (const enhancement_type of ['detailed', 'storytelling', 'professional', 'analytical']) {
      const r = await call(client, 'transcribe_with_enhancement', { file_path: 'a.mp3', enhancement_type });
      assert.match(r.text, /^A recording of 2\.0 seconds\. \(prompted: \d+ characters\)$/);
      const rec = sent(fake, 'audio/transcriptions').at(-1);
      assert.equal(rec.fields.response_format, 'text');
      assert.equal(rec.fields.model, 'gpt-4o-mini-transcribe');
      assert.match(rec.fields.prompt, /^The following is a/);
      assert.deepEqual(rec.upload.granularities, []);
      prompts.add(rec.fields.prompt);
    }
    assert.equal(prompts.size, 4);
  });
});

test('chat_with_audio: the file inline, the prompts as messages', async () => {
  await withAudio(
    async ({ client, fake, audio }) => {
      writeWav(path.join(audio, 'call.wav'), { seconds: 1.5, rate: 24000 });
      const r = await call(client, 'chat_with_audio', { file_path: 'call.wav', system_prompt: 'Be brief.', user_prompt: 'Mood?' });
      assert.equal(r.text, 'I heard 1.5 seconds of wav audio. You asked: Mood? (system: 9 characters)');
      const rec = sent(fake, 'chat/completions').at(-1);
      assert.equal(rec.json.model, 'gpt-4o-mini-audio-preview'); // SANZARU_AUDIO_CHAT_MODEL
      assert.deepEqual(rec.json.messages[0], { role: 'system', content: 'Be brief.' });
      assert.equal(rec.json.messages[1].content[0].input_audio.format, 'wav');
      assert.deepEqual(Buffer.from(rec.json.messages[1].content[0].input_audio.data, 'base64'), fs.readFileSync(path.join(audio, 'call.wav')));
      // Empty prompts are no messages.
      await call(client, 'chat_with_audio', { file_path: 'call.wav', system_prompt: '', model: 'gpt-4o-audio-preview' });
      assert.deepEqual(sent(fake, 'chat/completions').at(-1).json.messages.map((m) => m.role), ['user']);
      assert.equal(sent(fake, 'chat/completions').at(-1).json.messages[0].content.length, 1);

      writeWav(path.join(audio, 'x.flac'), { seconds: 0.5 });
      await fails(client, 'chat_with_audio', { file_path: 'x.flac' }, /^Expected mp3 or wav extension, but got \.flac$/);
      fs.writeFileSync(path.join(audio, 'fake.mp3'), fs.readFileSync(path.join(audio, 'call.wav')));
      await fails(client, 'chat_with_audio', { file_path: 'fake.mp3' }, /fake\.mp3 is not mp3 audio \(its bytes are wav\)/);
      writeWav(path.join(audio, 'huge.wav'), { seconds: 160, rate: 44100, channels: 2 });
      await fails(client, 'chat_with_audio', { file_path: 'huge.wav' }, /huge\.wav is 26\.9 MB; chat_with_audio .* at most 25 MB: compress_audio/);
      await fails(client, 'chat_with_audio', { file_path: '../call.wav' }, /^File not found: \.\.\/call\.wav$/);
      assert.equal(sent(fake, 'chat/completions').length, 2);
    },
    { env: { SANZARU_AUDIO_CHAT_MODEL: 'gpt-4o-mini-audio-preview' } },
  );
});

test('create_audio: one request, many joined without gaps, names, refusals', async () => {
  await withAudio(async ({ client, fake, audio }) => {
    const one = await call(client, 'create_audio', { text_prompt: 'x'.repeat(300), voice: 'nova', speed: 2, instructions: 'Calm.' });
    assert.match(one.output_file, /^speech_\d{13}\.mp3$/);
    assert.equal(one.requests, 1);
    const body = sent(fake, 'audio/speech').at(-1).json;
    assert.deepEqual(body, { model: 'gpt-4o-mini-tts', input: 'x'.repeat(300), voice: 'nova', speed: 2, response_format: 'mp3', instructions: 'Calm.' });
    // One chunk is the speech as it came: 300 characters at 15 a second, twice as fast.
    near(readMp3(path.join(audio, one.output_file)).info.duration, 10, 0.03, 'one chunk');

    // 9,000 characters in sentences: three requests, each under 4000, cut after ". ",
    // joined into one MP3 as long as the three together.
    const sentence = 'This sentence is exactly fifty characters long ok. ';
    const text = sentence.repeat(180).trim();
    const many = await call(client, 'create_audio', { text_prompt: text, output_filename: 'book.mp3', voice: '' });
    assert.deepEqual([many.requests, many.characters], [3, text.length]);
    // The three requests run at once, so they may arrive in any order: the two cut
    // after ". " (whole sentences, so either order reads the same), then the last.
    const inputs = sent(fake, 'audio/speech').slice(-3).map((r) => r.json.input);
    const cut = inputs.filter((i) => i.endsWith('. '));
    assert.equal(cut.length, 2);
    assert.equal([...cut, ...inputs.filter((i) => !i.endsWith('. '))].join(''), text);
    for (const i of inputs) assert.ok(i.length <= 4000);
    assert.deepEqual(sent(fake, 'audio/speech').slice(-3).map((r) => r.json.voice), ['alloy', 'alloy', 'alloy']);
    const total = sent(fake, 'audio/speech').slice(-3).reduce((s, r) => s + r.speech.seconds, 0);
    const { info } = readMp3(path.join(audio, 'book.mp3'));
    assert.deepEqual([info.sampleRate, info.channels], [24000, 1]);
    near(info.duration, total, 0.08, 'the joined speech');

    await fails(client, 'create_audio', { text_prompt: 'again', output_filename: 'book.mp3' }, /^File already exists: book\.mp3/);
    const before = sent(fake, 'audio/speech').length;
    const again = await call(client, 'create_audio', { text_prompt: 'again', output_filename: 'book.mp3', overwrite: true });
    assert.equal(again.output_file, 'book.mp3');
    assert.equal(sent(fake, 'audio/speech').length, before + 1);
    await fails(client, 'create_audio', { text_prompt: 'x', output_filename: 'out.wav' }, /Unsupported file type: \.wav\. Use: MP3/);
    await fails(client, 'create_audio', { text_prompt: 'x', speed: 0.1 }, /^speed must be between 0\.25 and 4\.0 for provider='openai', got 0\.1$/);
    await fails(client, 'create_audio', { text_prompt: 'x', speed: 5 }, /got 5\.0$/);
    await fails(client, 'create_audio', { text_prompt: 'x', voice_settings: { stability: 0.5 } }, /^voice_settings is an ElevenLabs-only option; provider='openai' does not accept it$/);
    await fails(client, 'create_audio', { text_prompt: 'x', provider: 'elevenlabs' }, /not supported by this server/);
    await fails(client, 'create_audio', { text_prompt: 'x', output_filename: 'nodir/x.mp3' }, /^Directory not found: nodir/);
    assert.equal(sent(fake, 'audio/speech').length, before + 1); // refused before any request

    // A failing part fails the whole call and writes nothing.
    fake.configure({ audio: { failSpeech: 'SECOND' } });
    const parts = `${'First part. '.repeat(340)}SECOND ${'Third part. '.repeat(340)}`;
    await fails(client, 'create_audio', { text_prompt: parts, output_filename: 'broken.mp3' }, /^Failed to write audio file 'broken\.mp3': part 2 of 3 failed: OpenAI API error 500/);
    // A 200 that is not MP3 is refused before it is published.
    fake.configure({ audio: { failSpeech: null } });
    fake.faults.add({ path: 'audio/speech', status: 200, body: '<html>maintenance</html>' });
    await fails(client, 'create_audio', { text_prompt: 'x', output_filename: 'html.mp3' }, /not MP3 \(it starts with '<html>maintenance<\/html>'\)/);
    assert.deepEqual(tree(audio), ['book.mp3', one.output_file]);
  });
});

test('cancelling a conversion and a long transcription: nothing written, nothing left, the server serves on', async () => {
  await withAudio(async ({ client, fake, audio }) => {
    // Ten minutes of 44.1 kHz stereo: seconds of work, cancelled after a moment.
    writeWav(path.join(audio, 'long.wav'), { seconds: 600, rate: 44100, channels: 2, signal: 'speech' });
    const cancelled = async (name, args) => {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 400);
      await assert.rejects(client.callTool({ name, arguments: args }, undefined, { signal: ac.signal, timeout: 300000 }), /abort/i);
      clearTimeout(t);
    };
    await cancelled('convert_audio', { input_path: 'long.wav', output_format: 'mp3' });
    await cancelled('transcribe_audio', { file_path: 'long.wav' });
    await cancelled('compress_audio', { input_path: 'long.wav', max_mb: 2 });
    // The work stops: nothing appears, also a moment later, and no scratch file remains.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(tree(audio), ['long.wav']);
    assert.ok(sent(fake, 'audio/transcriptions').length <= 4, 'at most the first windows were sent');
    writeWav(path.join(audio, 'short.wav'), { seconds: 1 });
    assert.equal((await call(client, 'convert_audio', { input_path: 'short.wav', output_format: 'mp3' })).output_file, 'short.mp3');
  });
});

test('the audio tools without an API key', async () => {
  await withAudio(
    async ({ client, audio }) => {
      fs.writeFileSync(path.join(audio, 'a.mp3'), makeSilentMp3(1));
      for (const [name, args] of [
        ['transcribe_audio', { file_path: 'a.mp3' }],
        ['transcribe_with_enhancement', { file_path: 'a.mp3' }],
        ['chat_with_audio', { file_path: 'a.mp3' }],
        ['create_audio', { text_prompt: 'x' }],
      ])
        await fails(client, name, args, /^OPENAI_API_KEY is not set$/);
      // The local tools work without one.
      assert.equal((await call(client, 'list_audio_files')).data.length, 1);
    },
    { env: { OPENAI_API_KEY: undefined } },
  );
});

test('AUDIO_PATH wins over SANZARU_MEDIA_PATH; a missing one is named in every audio tool', async () => {
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-audio-path-'));
  try {
    fs.writeFileSync(path.join(own, 'mine.mp3'), makeSilentMp3(1));
    await withAudio(
      async ({ client, audio }) => {
        fs.writeFileSync(path.join(audio, 'not-here.mp3'), makeSilentMp3(1));
        assert.deepEqual((await call(client, 'list_audio_files')).data.map((f) => f.file_name), ['mine.mp3']);
        await call(client, 'convert_audio', { input_path: 'mine.mp3', output_format: 'wav' });
        assert.ok(fs.existsSync(path.join(own, 'mine.wav')));
        assert.ok(!fs.existsSync(path.join(audio, 'mine.wav')));
      },
      { env: { AUDIO_PATH: own } },
    );
    const gone = path.join(own, 'missing');
    await withAudio(
      async ({ client }) => {
        const want = new RegExp(`^AUDIO_PATH: Audio files directory does not exist: ${gone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
        for (const [name, args] of [
          ['list_audio_files', {}],
          ['get_latest_audio', {}],
          ['convert_audio', { input_path: 'a.wav', output_format: 'mp3' }],
          ['compress_audio', { input_path: 'a.wav' }],
          ['transcribe_audio', { file_path: 'a.wav' }],
          ['transcribe_with_enhancement', { file_path: 'a.wav' }],
          ['chat_with_audio', { file_path: 'a.wav' }],
          ['create_audio', { text_prompt: 'x' }],
        ])
          await fails(client, name, args, want);
        // The other tools are unaffected.
        assert.deepEqual((await call(client, 'list_local_videos')).data, []);
      },
      { env: { AUDIO_PATH: gone } },
    );
  } finally {
    fs.rmSync(own, { recursive: true, force: true });
  }
});
