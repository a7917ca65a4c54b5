// The agent CLI's audio commands against the fake OpenAI server's audio endpoints: each a
// call of its audio tool in process, files named in the audio directory (or, with -o, in
// the directory that stands in for it), the windows of a long transcription as progress.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { mp3Info, sent, writeWav } from './audio-lib.mjs';
import { runOne, withFake } from './cli-lib.mjs';

async function withAudioDir(fn) {
  await withFake(async (ctx) => {
    const audio = path.join(ctx.media.dir, 'audio');
    fs.mkdirSync(audio, { recursive: true });
    await fn({ ...ctx, audio, env: { ...ctx.env, SANZARU_FSYNC: '0' } });
  });
}

test('audio list, latest, convert, transcribe, enhance, chat', async () => {
  await withAudioDir(async (ctx) => {
    writeWav(path.join(ctx.audio, 'voice.wav'), { seconds: 3, rate: 22050, signal: 'speech' });
    writeWav(path.join(ctx.audio, 'tone.wav'), { seconds: 1, rate: 8000 });
    const past = new Date(Date.now() - 60000);
    fs.utimesSync(path.join(ctx.audio, 'tone.wav'), past, past);

    const list = (await runOne(ctx, ['audio', 'list', '--sort-by', 'name', '--reverse'])).env;
    assert.equal(list.command, 'audio.list');
    assert.deepEqual(list.result.data.map((f) => f.file_name), ['voice.wav', 'tone.wav']);
    const latest = (await runOne(ctx, ['audio', 'latest'])).env;
    assert.equal(latest.result.file_name, 'voice.wav');

    const conv = (await runOne(ctx, ['audio', 'convert', 'voice.wav', '--output-format', 'mp3'])).env;
    assert.equal(conv.result.output_file, 'voice.mp3');
    assert.equal(conv.result.path, path.join(ctx.audio, 'voice.mp3'));
    const info = mp3Info(fs.readFileSync(conv.result.path));
    assert.ok(Math.abs(info.duration - 3) < 0.1, JSON.stringify(info));

    const tr = (await runOne(ctx, ['audio', 'transcribe', 'voice.wav', '--response-format', 'json', '--prompt', 'Names: Ada.'])).env;
    assert.equal(tr.command, 'audio.transcribe');
    assert.equal(typeof tr.result.text, 'string');
    const up = sent(ctx.fake, 'audio/transcriptions').at(-1);
    assert.equal(up.fields.response_format, 'json');
    assert.equal(up.fields.prompt, 'Names: Ada.');

    const en = (await runOne(ctx, ['audio', 'enhance', 'voice.wav', '--enhancement-type', 'storytelling'])).env;
    assert.equal(typeof en.result.text, 'string');

    const chat = (await runOne(ctx, ['audio', 'chat', 'voice.mp3', '--user-prompt', 'Who speaks?'])).env;
    assert.equal(typeof chat.result.text, 'string');
    assert.equal(sent(ctx.fake, 'chat/completions').length, 1);

    // Refused by the tool's table: the enum's own sentence, as flags.
    const bad = (await runOne(ctx, ['audio', 'convert', 'voice.wav', '--output-format', 'ogg'], 2)).env;
    assert.match(bad.error.message, /^--output-format must be one of "mp3", "wav"/);
    const o = (await runOne(ctx, ['audio', 'convert', 'voice.wav', '--output-format', 'wav', '-o', 'x.wav'], 2)).env;
    assert.match(o.error.message, /-o does not apply to audio\.convert: it names its output itself/);
  });
});

test('audio create and compress: -o names the file, its directory stands in for the audio directory', async () => {
  await withAudioDir(async (ctx) => {
    const spoken = (await runOne(ctx, ['audio', 'create', 'Hello there, this is a test.', '--speed', '1.25', '--voice', 'nova', '-o', 'hello.mp3'])).env;
    assert.equal(spoken.command, 'audio.create');
    assert.equal(spoken.result.output_file, 'hello.mp3');
    assert.equal(spoken.result.path, path.join(ctx.media.dir, 'hello.mp3'));
    assert.ok(fs.statSync(spoken.result.path).size > 0);
    const body = sent(ctx.fake, 'audio/speech').at(-1).json;
    assert.equal(body.speed, 1.25);
    assert.equal(body.voice, 'nova');

    // compress reads its input through the same root as it writes: the -o directory.
    const out = path.join(ctx.media.dir, 'out');
    fs.mkdirSync(out);
    writeWav(path.join(out, 'long.wav'), { seconds: 20, rate: 44100, channels: 2, signal: 'speech' });
    const small = (await runOne(ctx, ['audio', 'compress', 'long.wav', '--max-mb', '1', '-o', 'out/small.mp3'])).env;
    assert.equal(small.result.output_file, 'small.mp3');
    assert.equal(small.result.path, path.join(out, 'small.mp3'));
    assert.ok(fs.statSync(small.result.path).size <= 1024 * 1024);
    assert.deepEqual(fs.readdirSync(out).sort(), ['long.wav', 'small.mp3']);
  });
});

test('a long transcription reports its windows as progress (phase run)', async () => {
  await withAudioDir(async (ctx) => {
    writeWav(path.join(ctx.audio, 'talk.wav'), { seconds: 600, rate: 8000, signal: 'speech' });
    const r = await runOne(ctx, ['audio', 'transcribe', 'talk.wav']);
    assert.equal(r.env.result.chunked, true);
    const steps = r.progress.filter((p) => p.phase === 'run');
    assert.ok(steps.length >= 1, r.stderr);
    for (const p of steps) {
      assert.equal(p.id, 'talk.wav');
      assert.ok(p.percent >= 0 && p.percent <= 100);
      assert.equal(p.bytes, undefined, 'steps, not bytes');
    }
  });
});
