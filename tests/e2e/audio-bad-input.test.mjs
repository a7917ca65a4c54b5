// Bad input for the audio tools: files that are not audio, are truncated, are empty, are in
// no format we read, or last ten hours; and hostile names on every name parameter. Each
// is a clear tool error; nothing is written, nothing reaches OpenAI, nothing outside the
// audio directory is touched, and the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withAudio, writeWav, call, fails, refused, tree, makeSilentMp3 } from './audio-lib.mjs';
import { encodePng } from '../fake-openai/media.mjs';

/** A WAV header declaring seconds of 8 kHz mono, followed by `have` seconds of it (a
 *  truncated file); with full, the rest is there as silence in a sparse file, so a real
 *  ten-hour WAV costs no disk. */
function declaredWav(file, seconds, have, full = false) {
  writeWav(file, { seconds: have, rate: 8000 });
  const fd = fs.openSync(file, 'r+');
  const h = Buffer.alloc(4);
  h.writeUInt32LE(seconds * 16000, 0);
  fs.writeSync(fd, h, 0, 4, 40);
  h.writeUInt32LE(36 + seconds * 16000, 0);
  fs.writeSync(fd, h, 0, 4, 4);
  fs.closeSync(fd);
  if (full) fs.truncateSync(file, 44 + seconds * 16000);
}

test('files that are not usable audio: a sentence each, nothing written, nothing sent', async () => {
  await withAudio(async ({ client, fake, audio }) => {
    fs.writeFileSync(path.join(audio, 'empty.wav'), '');
    fs.writeFileSync(path.join(audio, 'text.mp3'), 'Dear diary, this is not an MP3 file at all.\n'.repeat(20));
    fs.writeFileSync(path.join(audio, 'image.wav'), encodePng(8, 8));
    fs.writeFileSync(path.join(audio, 'noise.ogg'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
    declaredWav(path.join(audio, 'truncated.wav'), 10, 2);
    declaredWav(path.join(audio, 'tenhours.wav'), 36000, 1, true);
    const mp3 = makeSilentMp3(4);
    fs.writeFileSync(path.join(audio, 'cut.mp3'), mp3.subarray(0, 37)); // not even one frame
    const before = tree(audio);

    const cases = [
      ['empty.wav', /empty \(0 bytes\), not audio/],
      ['text.mp3', /not audio in a format we read/],
      ['image.wav', /not audio in a format we read/],
      ['noise.ogg', /not audio|Ogg/],
      ['truncated.wav', /truncated: its header promises 10\.0 s of audio but only 2\.0 s are there/],
      ['tenhours.wav', /The audio lasts 36000 s, longer than the 14400 s this server accepts/],
    ];
    for (const [name, re] of cases) {
      await fails(client, 'convert_audio', { input_path: name, output_format: 'mp3' }, new RegExp(`^Failed to load audio file ${name.replace('.', '\\.')}: .*(${re.source})`, 'i'));
      await fails(client, 'compress_audio', { input_path: name, max_mb: 1 }, new RegExp(`^Failed to load audio file ${name.replace('.', '\\.')}: `));
      await fails(client, 'compress_audio', { input_path: name, output_filename: `copy-${name}` }, /^Failed to load audio file|output_filename must end/);
      await fails(client, 'transcribe_audio', { file_path: name }, new RegExp(`^Failed to read audio file '${name.replace('.', '\\.')}': `));
      await fails(client, 'transcribe_with_enhancement', { file_path: name }, /^Failed to read audio file/);
    }
    await fails(client, 'chat_with_audio', { file_path: 'text.mp3' }, /text\.mp3 is not mp3 audio \(its bytes are not audio\)/);
    await fails(client, 'chat_with_audio', { file_path: 'empty.wav' }, /empty\.wav is not wav audio/);
    // A file that holds one MP3 frame header and nothing more.
    await fails(client, 'convert_audio', { input_path: 'cut.mp3', output_format: 'wav' }, /^Failed to load audio file cut\.mp3: /);
    assert.deepEqual(tree(audio), before, 'nothing was written');
    assert.equal(fake.requests.length, 0, 'nothing was sent to OpenAI');
    // And the server keeps serving.
    writeWav(path.join(audio, 'good.wav'), { seconds: 1 });
    assert.equal((await call(client, 'convert_audio', { input_path: 'good.wav', output_format: 'mp3' })).output_file, 'good.mp3');
  });
});

test('hostile names on every name parameter', async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-outside-'));
  writeWav(path.join(outside, 'secret.wav'), { seconds: 1 });
  try {
    await withAudio(async ({ client, fake, audio }) => {
      writeWav(path.join(audio, 'ok.wav'), { seconds: 1 });
      fs.symlinkSync(path.join(outside, 'secret.wav'), path.join(audio, 'link.wav'));
      fs.symlinkSync(outside, path.join(audio, 'out'));
      fs.mkdirSync(path.join(audio, 'dir.wav'));
      execFileSync('mkfifo', [path.join(audio, 'fifo.wav')]);
      const outsideBefore = tree(outside);

      const names = [
        ['../secret.wav', /traversal|File not found/],
        [`${outside}/secret.wav`, /traversal|File not found/],
        ['out/secret.wav', /symbolic link|File not found/],
        ['link.wav', /symbolic link|File not found/],
        ['dir.wav', /not a regular file/],
        ['fifo.wav', /not a regular file/],
        ['talks/../../secret.wav', /traversal|File not found/],
        ['a\nb.wav', /control characters/],
        ['.hidden.wav', /hidden names/],
        ['a\\b.wav', /backslashes/],
        [`${'x'.repeat(300)}.wav`, /longer than 255 bytes/],
        ['talks//x.wav', /empty path component/],
        ['./ok.wav', /traversal|File not found/],
      ];
      let before = tree(audio);
      for (const [name, re] of names) {
        await fails(client, 'convert_audio', { input_path: name, output_format: 'mp3' }, re);
        await fails(client, 'compress_audio', { input_path: name }, re);
        await fails(client, 'transcribe_audio', { file_path: name }, re);
        await fails(client, 'transcribe_with_enhancement', { file_path: name }, re);
        await fails(client, 'chat_with_audio', { file_path: name }, re);
      }
      assert.deepEqual(tree(audio), before);
      // The same for the names of files to write.
      fs.symlinkSync(path.join(outside, 'secret.wav'), path.join(audio, 'link.mp3'));
      fs.mkdirSync(path.join(audio, 'dir.mp3'));
      execFileSync('mkfifo', [path.join(audio, 'fifo.mp3')]);
      const outputs = [
        ['../x.mp3', /traversal/],
        [`${outside}/x.mp3`, /traversal/],
        ['out/x.mp3', /symbolic link/],
        ['link.mp3', /already exists/],
        ['dir.mp3', /already exists/],
        ['fifo.mp3', /already exists/],
        ['a\nb.mp3', /control characters/],
        ['.hidden.mp3', /hidden names/],
        ['a\\b.mp3', /backslashes/],
        [`${'x'.repeat(300)}.mp3`, /longer than 255 bytes/],
        ['talks//x.mp3', /empty path component/],
        ['./x.mp3', /traversal/],
        ['nowhere/x.mp3', /Directory not found: nowhere/],
      ];
      for (const [out, re] of outputs) {
        await fails(client, 'compress_audio', { input_path: 'ok.wav', output_filename: out, max_mb: 1 }, re);
        await fails(client, 'create_audio', { text_prompt: 'hi', output_filename: out }, re);
      }
      for (const out of ['link.mp3', 'dir.mp3', 'fifo.mp3']) {
        await fails(client, 'compress_audio', { input_path: 'ok.wav', output_filename: out, max_mb: 1, overwrite: true }, /cannot be a symbolic link|not a regular file/);
        await fails(client, 'create_audio', { text_prompt: 'hi', output_filename: out, overwrite: true }, /cannot be a symbolic link|not a regular file/);
      }
      before = tree(audio);
      // Overwrite does not make a symlink or a directory writable.
      fs.symlinkSync(path.join(outside, 'secret.wav'), path.join(audio, 'ok.mp3'));
      await fails(client, 'convert_audio', { input_path: 'ok.wav', output_format: 'mp3', overwrite: true }, /^Output file cannot be a symbolic link: ok\.mp3$/);
      fs.unlinkSync(path.join(audio, 'ok.mp3'));
      await refused(client, 'convert_audio', { input_path: '', output_format: 'mp3' }, /input_path/);
      assert.deepEqual(tree(audio), before, 'nothing was written in the audio directory');
      assert.deepEqual(tree(outside), outsideBefore, 'nothing was written outside');
      assert.equal(fake.requests.length, 0);
      assert.equal((await call(client, 'list_audio_files')).data.map((f) => f.file_name).join(), 'ok.wav');
    });
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
