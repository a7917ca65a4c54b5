// Tool errors say what kind they are (docs/tools.md, "Error kinds"): _meta
// {"sanzaru/errorKind": ...} on the isError result, set where the error is raised. Every
// configuration error (no OpenAI key for the audio and image tools, no video provider, no
// Gemini key for a Gemini model, OpenAI's retired Videos API, a media directory that cannot
// be opened) is "configuration", seen by the SDK client; a video API failure is "upstream"; and
// the agent CLI exits 3 on the kind, for the cases cli.test.mjs does not already hold
// (the retired API, the audio tools without a key or a directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { connect, tempMedia } from './lib.mjs';
import { runOne, withFake } from './cli-lib.mjs';

const KIND = 'sanzaru/errorKind';

async function kindOf(client, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.equal(r.isError, true, `${name} should fail: ${r.content?.[0]?.text}`);
  return { kind: r._meta?.[KIND], text: r.content[0].text };
}

test('MCP: every configuration error is kind "configuration"; an API failure is "upstream"', async () => {
  const fake = await startFakeOpenAI({ videosRetired: 404 });
  const media = tempMedia();
  fs.mkdirSync(path.join(media.dir, 'audio'), { recursive: true });
  fs.writeFileSync(path.join(media.dir, 'audio', 'a.mp3'), 'x');
  const base = { SANZARU_MEDIA_PATH: media.dir, OPENAI_BASE_URL: fake.url, SANZARU_MAX_RETRIES: '0' };
  const nokey = await connect({ env: { ...base, OPENAI_API_KEY: undefined, GEMINI_API_KEY: undefined } });
  const keyed = await connect({ env: { ...base, OPENAI_API_KEY: 'sk-test' } });
  const nodir = await connect({ env: { ...base, OPENAI_API_KEY: 'sk-test', AUDIO_PATH: path.join(media.dir, 'missing') } });
  try {
    const config = [
      [nokey, 'transcribe_audio', { file_path: 'a.mp3' }, /^OPENAI_API_KEY is not set$/],
      [nokey, 'chat_with_audio', { file_path: 'a.mp3' }, /^OPENAI_API_KEY is not set$/],
      [nokey, 'create_audio', { text_prompt: 'hi' }, /^OPENAI_API_KEY is not set$/],
      [nokey, 'generate_image', { prompt: 'p' }, /^OPENAI_API_KEY is not set$/],
      [nokey, 'create_video', { prompt: 'p' }, /^No video provider is configured/],
      [nokey, 'get_video_status', { video_id: 'video_1' }, /^No video provider is configured/],
      [keyed, 'create_video', { prompt: 'p', model: 'gemini-omni-1.1-flash' }, /^GEMINI_API_KEY is not set/],
      [keyed, 'create_video', { prompt: 'p' }, /^OpenAI retired the Videos API/],
      [keyed, 'list_videos', {}, /^OpenAI retired the Videos API/],
      [nodir, 'list_audio_files', {}, /AUDIO_PATH/],
    ];
    for (const [s, name, args, re] of config) {
      const { kind, text } = await kindOf(s.client, name, args);
      assert.match(text, re, name);
      assert.equal(kind, 'configuration', `${name}: ${text}`);
    }
    fake.faults.add({ method: 'POST', path: 'videos', status: 500 });
    const up = await kindOf(keyed.client, 'create_video', { prompt: 'p' });
    assert.match(up.text, /500/);
    assert.equal(up.kind, 'upstream', up.text);
  } finally {
    await nokey.close();
    await keyed.close();
    await nodir.close();
    await fake.close();
    media.cleanup();
  }
});

test('CLI: exit 3 follows the kind (the retired Videos API, the audio tools without a key or a directory)', async () => {
  await withFake(
    async (ctx) => {
      let { env } = await runOne(ctx, ['video', 'create', 'x'], 3);
      assert.equal(env.error.type, 'configuration');
      assert.match(env.error.message, /^OpenAI retired the Videos API/);
      ({ env } = await runOne(ctx, ['audio', 'create', 'hello'], 3, { env: { OPENAI_API_KEY: undefined } }));
      assert.deepEqual(env.error, { type: 'configuration', message: 'OPENAI_API_KEY is not set' });
      ({ env } = await runOne(ctx, ['audio', 'list'], 3, { env: { AUDIO_PATH: path.join(ctx.media.dir, 'missing') } }));
      assert.equal(env.error.type, 'configuration');
      // An API failure is not a configuration problem: exit 1.
      ctx.fake.faults.add({ method: 'POST', path: 'audio/speech', status: 500 });
      ({ env } = await runOne(ctx, ['audio', 'create', 'hello'], 1));
      assert.equal(env.error.type, 'runtime');
    },
    { fake: { videosRetired: 404 } },
  );
});
