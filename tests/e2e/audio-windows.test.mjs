// The windowed transcription of long recordings (v0.10.0's path, AUDIO.md): a 20-minute
// recording is cut on the pool into 90-second windows every 75 seconds, each uploaded as
// MP3 with bounded concurrency and joined on its overlap. The fake answers each window
// with one word per second of the time it covers ("s75 s76 ... s164"), so the joined text
// is exact when every window is cut where it should be and every overlap is removed once.
//
// One window failing: the call succeeds with the text of the others and names the gap
// (windows[i].error, failed_windows); the text then jumps from the end of the window
// before it to the start of the window after it. Every window failing fails the call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withAudio, writeWav, call, fails, sent, windowWords, near } from './audio-lib.mjs';

const MINUTES_20 = 1200;

/** The windows AUDIO.md plans for a recording of d seconds. */
function plan(d) {
  const out = [];
  for (let i = 0, start = 0; ; i++, start += 75) {
    const end = Math.min(start + 90, d);
    out.push({ index: i, start_s: start, end_s: end });
    if (end >= d) break;
  }
  return out;
}

test('a 20-minute recording in 16 windows, joined exactly', async () => {
  await withAudio(
    async ({ client, fake, audio }) => {
      writeWav(path.join(audio, 'talk.wav'), { seconds: MINUTES_20, rate: 8000, signal: 'speech' });
      const progress = [];
      const reply = await client.callTool(
        { name: 'transcribe_audio', arguments: { file_path: 'talk.wav', prompt: 'A talk.', response_format: 'verbose_json', timestamp_granularities: ['word'] } },
        undefined,
        { timeout: 300000, onprogress: (p) => progress.push(p) },
      );
      assert.ok(!reply.isError, reply.content?.[0]?.text);
      const r = reply.structuredContent;
      // Progress counts the windows done, of 16. (The SDK handles a notification a
      // microtask late: one that arrives with the response in the same read is dropped,
      // so the last one, 16 of 16, is not always seen.)
      assert.ok(progress.length >= 2, `progress: ${JSON.stringify(progress)}`);
      for (const p of progress) assert.equal(p.total, 16);
      assert.ok(progress.at(-1).progress >= 8, JSON.stringify(progress));
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
      assert.equal(r.chunked, true);
      assert.equal(r.duration, MINUTES_20);
      assert.deepEqual([r.language, r.segments, r.words, r.usage, r.logprobs], [null, null, null, null, null]);
      const want = plan(MINUTES_20);
      assert.equal(want.length, 16);
      assert.deepEqual(
        r.windows.map((w) => ({ index: w.index, start_s: w.start_s, end_s: w.end_s })),
        want,
      );
      for (const w of r.windows) assert.equal(w.text, windowWords(w.start_s, w.end_s));
      assert.deepEqual(r.failed_windows, []);
      assert.equal(r.text, windowWords(0, MINUTES_20));

      const uploads = sent(fake, 'audio/transcriptions');
      assert.equal(uploads.length, 16);
      const byName = new Map(uploads.map((u) => [u.upload.filename, u]));
      for (const w of want) {
        const u = byName.get(`talk_w${w.index}.mp3`);
        assert.ok(u, `window ${w.index} was sent`);
        // Each as its own MP3 (text, no timestamps, the prompt kept), far inside 25 MB.
        assert.deepEqual(u.fields, { model: 'gpt-4o-mini-transcribe', response_format: 'text', prompt: 'A talk.' });
        assert.deepEqual(u.upload.granularities, []);
        assert.equal(u.upload.info.format, 'mp3');
        near(u.upload.info.duration, w.end_s - w.start_s, 0.001, `window ${w.index}`);
        assert.ok(u.upload.bytes < 2 * 1048576);
      }
      // No scratch file is left behind.
      assert.deepEqual(fs.readdirSync(audio), ['talk.wav']);
    },
    { env: { SANZARU_TRANSCRIBE_MAX_CONCURRENCY: '3' } },
  );
});

test('one window failing leaves a named gap; every window failing fails the call', async () => {
  await withAudio(
    async ({ client, fake, audio }) => {
      writeWav(path.join(audio, 'talk.wav'), { seconds: MINUTES_20, rate: 8000, signal: 'speech' });
      fake.configure({ audio: { failUploads: /_w3\.mp3$/ } });
      const r = await call(client, 'transcribe_audio', { file_path: 'talk.wav' });
      assert.equal(r.chunked, true);
      assert.deepEqual(r.failed_windows, [3]);
      const w3 = r.windows[3];
      assert.deepEqual([w3.start_s, w3.end_s, w3.text], [225, 315, '']);
      assert.match(w3.error, /^OpenAI API error 500/);
      for (const w of r.windows) if (w.index !== 3) assert.equal(w.error, undefined);
      // Window 2 ends at 240 s and window 4 starts at 300 s: the minute between is missing,
      // and nothing is repeated.
      assert.equal(r.text, `${windowWords(0, 240)} ${windowWords(300, MINUTES_20)}`);
      // Retried as every request is (SANZARU_MAX_RETRIES=2 here), then given up.
      assert.equal(sent(fake, 'audio/transcriptions').filter((u) => u.upload.filename === 'talk_w3.mp3').length, 3);

      fake.configure({ audio: { failUploads: /_w\d+\.mp3$/ } });
      await fails(client, 'transcribe_audio', { file_path: 'talk.wav' }, /^Every one of the 16 windows of talk\.wav failed; the first: OpenAI API error 500/);
      // The server goes on serving.
      fake.configure({ audio: { failUploads: null } });
      writeWav(path.join(audio, 'short.wav'), { seconds: 2 });
      assert.equal((await call(client, 'transcribe_audio', { file_path: 'short.wav' })).text, 'A recording of 2.0 seconds.');
    },
    { env: { SANZARU_MAX_RETRIES: '2' } },
  );
});
