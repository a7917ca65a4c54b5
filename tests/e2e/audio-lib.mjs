// Shared helpers for the audio end-to-end suites: the server under test over stdio or
// Streamable HTTP against the in-process fake OpenAI server with a fresh audio directory;
// test audio made here (WAV written sample by sample: tones and a voice-like buzz; MP3 by
// the fake's silent frames or by the server's own convert_audio); and readers of what the
// server wrote (the fake's MP3 frame walker and WAV header reader).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { mp3Info, wavInfo, audioInfo, makeSilentMp3, windowWords } from '../fake-openai/audio.mjs';
import { connect, tempMedia } from './lib.mjs';
import { connectHttp, startHttp } from './http-lib.mjs';

export { mp3Info, wavInfo, audioInfo, makeSilentMp3, windowWords };

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

/** A 16-bit PCM WAV: seconds of signal ('tone': 440 Hz, 554 Hz on the right; 'speech': a
 *  buzz gliding 100-220 Hz in 4 Hz syllables; 'silence'). Written in slices, so an hour
 *  costs no more memory than its file. */
export function writeWav(file, { seconds, rate = 16000, channels = 1, signal = 'tone' }) {
  const frames = Math.round(seconds * rate);
  const dataBytes = frames * channels * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, h);
  const slice = 65536;
  const buf = Buffer.alloc(slice * channels * 2);
  for (let i = 0; i < frames; i += slice) {
    const n = Math.min(slice, frames - i);
    for (let j = 0; j < n; j++) {
      const t = (i + j) / rate;
      for (let c = 0; c < channels; c++) {
        let v = 0;
        if (signal === 'tone') v = 0.4 * Math.sin(2 * Math.PI * (440 + 114 * c) * t);
        else if (signal === 'speech') {
          const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
          const phase = 2 * Math.PI * (160 * t - (60 / (2 * Math.PI * 0.7)) * Math.cos(2 * Math.PI * 0.7 * t));
          for (let k = 1; k <= 6; k++) v += Math.sin(k * phase) / k;
          v *= 0.25 * env * env;
        }
        buf.writeInt16LE(Math.round(v * 32767), (j * channels + c) * 2);
      }
    }
    fs.writeSync(fd, buf, 0, n * channels * 2);
  }
  fs.closeSync(fd);
  return fs.statSync(file).size;
}

/**
 * Starts the fake OpenAI server, a media root (its audio/ made) and the server under test
 * over transport ('stdio' or 'http'); runs fn(ctx) and tears everything down, failing on a
 * sanitizer report or an output-schema mismatch on the server's stderr.
 * ctx: {client, fake, audio (the directory), stderr(), transport}.
 */
export async function withAudio(fn, { transport = 'stdio', env: extra = {}, fake: fakeOpts = {} } = {}) {
  const fake = await startFakeOpenAI(fakeOpts);
  const media = tempMedia();
  const audio = path.join(media.dir, 'audio');
  fs.mkdirSync(audio, { recursive: true });
  const env = {
    SANZARU_MEDIA_PATH: media.dir,
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    SANZARU_MAX_RETRIES: '0',
    SANZARU_FSYNC: '0',
    LOG_LEVEL: 'INFO',
    ...extra,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  let client;
  let stderr;
  let stop;
  if (transport === 'http') {
    const srv = await startHttp({ env });
    const c = await connectHttp(srv.url);
    client = c.client;
    stderr = srv.stderr;
    stop = async () => {
      await c.close();
      await srv.stop();
    };
  } else {
    const s = await connect({ env });
    client = s.client;
    stderr = s.stderr;
    stop = async () => {
      const ended = new Promise((resolve) => {
        if (!s.transport.stderr || s.transport.stderr.readableEnded) resolve();
        else {
          s.transport.stderr.on('end', resolve);
          s.transport.stderr.on('close', resolve);
        }
      });
      await s.close();
      let timer;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, 10000)))]);
      clearTimeout(timer); // a pending timer would keep the test process alive

    };
  }
  let failed = null;
  try {
    await fn({ client, fake, audio, stderr, transport });
  } catch (e) {
    failed = e;
  }
  try {
    await stop();
  } catch (e) {
    failed = failed || e;
  }
  await fake.close();
  media.cleanup();
  if (failed) {
    failed.message += `\n--- server stderr ---\n${stderr().slice(-4000)}`;
    throw failed;
  }
  const err = stderr();
  assert.doesNotMatch(err, SANITIZER, `sanitizer report:\n${err.slice(-6000)}`);
  assert.doesNotMatch(err, /does not match its outputSchema/, err);
}

/** Calls a tool and expects success; returns the structured result (checked equal to the
 *  text block) and the whole reply as .reply. */
export async function call(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 300000 });
  assert.ok(!r.isError, `${name}(${JSON.stringify(args).slice(0, 200)}) failed: ${r.content?.[0]?.text}`);
  assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
  return Object.defineProperty({ ...r.structuredContent }, 'reply', { value: r });
}

/** Calls a tool and expects a tool error (isError) matching re; returns its text. */
export async function fails(client, name, args, re) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 300000 });
  assert.equal(r.isError, true, `${name}(${JSON.stringify(args).slice(0, 200)}) should fail, got ${r.content?.[0]?.text?.slice(0, 300)}`);
  if (re) assert.match(r.content[0].text, re, `${name}(${JSON.stringify(args).slice(0, 200)})`);
  return r.content[0].text;
}

/** Expects the call to be refused for its arguments: a tool error (the argument policy of
 *  SEP-1303) or a JSON-RPC -32602 error, its text matching re. */
export async function refused(client, name, args, re) {
  let text;
  try {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name}(${JSON.stringify(args)}) should be refused`);
    text = r.content[0].text;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.equal(e.code, -32602, `${name}: unexpected error ${e.message}`);
    text = e.message;
  }
  if (re) assert.match(text, re);
  return text;
}

/** Every entry under dir, recursively, hidden ones too, sorted ("sub/x.mp3"). */
export function tree(dir, prefix = '') {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out.push(prefix + e.name);
    if (e.isDirectory()) out.push(...tree(path.join(dir, e.name), `${prefix}${e.name}/`));
  }
  return out;
}

/** The fake's requests to one audio endpoint ('audio/transcriptions', 'audio/speech',
 *  'chat/completions'). */
export function sent(fake, p) {
  return fake.requestsMatching({ method: 'POST', path: p });
}

/** Reads and checks an MP3 the server wrote: {info, bytes}. */
export function readMp3(file) {
  const bytes = fs.readFileSync(file);
  const info = mp3Info(bytes);
  assert.ok(info, `${path.basename(file)} is not MP3`);
  return { info, bytes };
}

export const near = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} is not within ${tol} of ${b}`);
