// The long audio tools as MCP tasks (docs/tasks.md), with the official clients against the
// real server and the fake OpenAI's audio endpoints: tools/list names exactly the tools that
// take tasks; a 20-minute windowed transcription runs as a task to its joined text, with
// the windows as progress tagged with the task (2025-11-25, the SDK 1.32.2's experimental
// tasks API) or as the task's statusMessage (2026-07-28, the v2 client 2.4.0); create_audio
// of a long text as a task in both eras, and its overwrite question asked mid-task;
// cancelling a convert_audio task stops the encoder and leaves no file, in both eras.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { serverBin, serverEnv } from './lib.mjs';
import { startHttp } from './http-lib.mjs';
import { SANITIZER, TASKS, modern, sleep, withTasks, world } from './tasks-lib.mjs';
import { mp3Info, sent, windowWords, writeWav } from './audio-lib.mjs';

const RELATED = 'io.modelcontextprotocol/related-task';
const MINUTES_20 = 1200;
// Three parts of at most 4000 characters each (create_audio cuts after ". ").
const LONG_TEXT = 'This sentence is exactly fifty characters long ok. '.repeat(180).trim();

/** The tasks world (fake OpenAI, media root) with an audio directory. */
async function audioWorld(fakeOptions = {}) {
  const w = await world(fakeOptions);
  w.audio = path.join(w.media.dir, 'audio');
  fs.mkdirSync(w.audio, { recursive: true });
  Object.assign(w.env, { SANZARU_MAX_RETRIES: '0', SANZARU_FSYNC: '0' });
  return w;
}

async function legacyClient(env, capabilities = {}) {
  const transport = new LegacyStdio({ command: serverBin, env: serverEnv(env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new LegacyClient({ name: 'sanzaru-e2e-audio-tasks', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

function modernClient() {
  return new ModernClient(
    { name: 'sanzaru-e2e-audio-tasks', version: '1.0.0' },
    { capabilities: { extensions: { [TASKS]: {} } }, versionNegotiation: { mode: 'auto' } },
  );
}

async function drain(stream) {
  const messages = [];
  for await (const m of stream) messages.push(m);
  return messages;
}

async function until(pred, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('tools/list: execution.taskSupport on exactly the long tools (2025-11-25); none in 2026-07-28', async () => {
  const w = await audioWorld();
  const { client, stderr } = await legacyClient(w.env);
  const srv = await startHttp({ env: w.env });
  try {
    const tools = (await client.listTools()).tools;
    const withTask = tools.filter((t) => t.execution !== undefined);
    assert.deepEqual(withTask.map((t) => t.name).sort(), [
      'chat_with_audio', 'compress_audio', 'convert_audio', 'create_audio', 'create_image', 'create_video',
      'download_video', 'edit_image', 'generate_image', 'remix_video', 'transcribe_audio', 'transcribe_with_enhancement',
    ]);
    for (const t of withTask) assert.deepEqual(t.execution, { taskSupport: 'optional' }, t.name);
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('list_audio_files') && names.includes('get_latest_audio'), 'the quick reads are there, without tasks');
    // SEP-2663 took execution off the 2026-07-28 rows: the extension decides instead.
    const m = await modern(srv.url, 'tools/list', {});
    assert.equal(m.result.tools.length, tools.length);
    assert.ok(m.result.tools.every((t) => t.execution === undefined));
  } finally {
    await client.close();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(stderr() + srv.stderr(), SANITIZER);
});

test('2025-11-25: a 20-minute transcription as a task, its windows as progress tagged with the task; create_audio as a task', async () => {
  const w = await audioWorld();
  writeWav(path.join(w.audio, 'talk.wav'), { seconds: MINUTES_20, rate: 8000, signal: 'speech' });
  const { client, stderr } = await legacyClient({ ...w.env, SANZARU_TRANSCRIBE_MAX_CONCURRENCY: '2' });
  try {
    await client.listTools(); // the SDK learns which tools take tasks
    const progress = [];
    const messages = await drain(
      client.experimental.tasks.callToolStream({ name: 'transcribe_audio', arguments: { file_path: 'talk.wav' } }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 300000,
      }),
    );
    assert.equal(messages[0].type, 'taskCreated');
    const taskId = messages[0].task.taskId;
    const last = messages.at(-1);
    assert.equal(last.type, 'result', JSON.stringify(last).slice(0, 500));
    const r = last.result.structuredContent;
    assert.equal(r.chunked, true);
    assert.equal(r.windows.length, 16);
    assert.equal(r.text, windowWords(0, MINUTES_20), 'the 16 windows joined exactly');
    assert.deepEqual(r.failed_windows, []);
    assert.equal(last.result._meta[RELATED].taskId, taskId);
    assert.equal(sent(w.fake, 'audio/transcriptions').length, 16);

    // The windows done, of 16, each notification tagged with the task.
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    for (const p of progress) {
      assert.equal(p.total, 16);
      assert.equal(p._meta?.[RELATED]?.taskId, taskId, 'tagged with its task');
    }
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
    const again = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    assert.deepEqual(again.structuredContent, r);
    assert.deepEqual(fs.readdirSync(w.audio), ['talk.wav'], 'no scratch window left');

    // create_audio of a long text: three paid requests, one MP3, the parts as progress.
    const speech = [];
    const made = await drain(
      client.experimental.tasks.callToolStream({ name: 'create_audio', arguments: { text_prompt: LONG_TEXT, output_filename: 'book.mp3' } }, undefined, {
        onprogress: (p) => speech.push(p),
      }),
    );
    assert.equal(made[0].type, 'taskCreated');
    const out = made.at(-1);
    assert.equal(out.type, 'result', JSON.stringify(out).slice(0, 500));
    assert.deepEqual([out.result.structuredContent.output_file, out.result.structuredContent.requests], ['book.mp3', 3]);
    assert.ok(out.result.content.some((c) => c.type === 'resource_link' && c.uri === 'sanzaru://audio/book.mp3'));
    assert.ok(mp3Info(fs.readFileSync(path.join(w.audio, 'book.mp3'))), 'an MP3 was saved');
    assert.ok(speech.every((p) => p.total === 3 && p._meta?.[RELATED]?.taskId === made[0].task.taskId), JSON.stringify(speech));
    const listed = (await client.experimental.tasks.listTasks()).tasks.map((t) => t.status);
    assert.deepEqual(listed, ['completed', 'completed']);
  } finally {
    await client.close();
    await w.close();
  }
  assert.doesNotMatch(stderr(), SANITIZER);
});

test('2026-07-28: the v2 client runs a windowed transcription and create_audio as tasks; progress is the statusMessage', async () => {
  const w = await audioWorld();
  writeWav(path.join(w.audio, 'talk.wav'), { seconds: MINUTES_20, rate: 8000, signal: 'speech' });
  // Each window answered after 100 ms: the task is seen working between windows.
  w.fake.faults.add({ method: 'POST', path: 'audio/transcriptions', delay_ms: 100, count: 16 });
  const srv = await startHttp({ env: { ...w.env, SANZARU_TRANSCRIBE_MAX_CONCURRENCY: '2' } });
  const client = modernClient();
  try {
    await client.connect(new ModernHttp(new URL(srv.url)));
    const seen = withTasks(client);
    const r = await client.callTool({ name: 'transcribe_audio', arguments: { file_path: 'talk.wav' } }, undefined, { timeout: 300000 });
    assert.equal(seen.created.length, 1, 'the call became a task');
    assert.equal(seen.created[0].status, 'working');
    assert.ok(!r.isError, r.content?.[0]?.text);
    assert.equal(r.structuredContent.text, windowWords(0, MINUTES_20));
    assert.equal(r.structuredContent.windows.length, 16);
    const messages = seen.polls.map((t) => t.statusMessage ?? '');
    assert.ok(
      messages.some((m) => /^working \((\d+)%\)$/.test(m) && Number(/\d+/.exec(m)[0]) > 0),
      `the windows done as statusMessage: ${JSON.stringify(messages)}`,
    );
    assert.equal(seen.polls.at(-1).status, 'completed');

    const speech = await client.callTool({ name: 'create_audio', arguments: { text_prompt: LONG_TEXT, output_filename: 'book.mp3' } });
    assert.equal(seen.created.length, 2, 'create_audio became a task too');
    assert.ok(!speech.isError, speech.content?.[0]?.text);
    assert.equal(speech.structuredContent.requests, 3);
    assert.ok(mp3Info(fs.readFileSync(path.join(w.audio, 'book.mp3'))));
  } finally {
    await client.close();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(srv.stderr(), SANITIZER);
});

test('2025-11-25: the overwrite question of a create_audio task is asked tagged with the task, which waits input_required', async () => {
  const w = await audioWorld();
  fs.writeFileSync(path.join(w.audio, 'book.mp3'), 'an older file');
  const { client, stderr } = await legacyClient(w.env, { elicitation: {} });
  const asked = [];
  try {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      const taskId = req.params._meta?.[RELATED]?.taskId;
      asked.push({ message: req.params.message, taskId, status: (await client.experimental.tasks.getTask(taskId)).status });
      return { action: 'accept', content: { replace: true } };
    });
    await client.listTools();
    const messages = await drain(
      client.experimental.tasks.callToolStream({ name: 'create_audio', arguments: { text_prompt: 'Short and new.', output_filename: 'book.mp3' } }),
    );
    const taskId = messages[0].task.taskId;
    assert.equal(asked.length, 1);
    assert.match(asked[0].message, /book\.mp3. already exists in the audio folder\. Replace it\?/);
    assert.equal(asked[0].taskId, taskId, 'elicitation/create names the task');
    assert.equal(asked[0].status, 'input_required');
    assert.equal(messages.at(-1).type, 'result', JSON.stringify(messages.at(-1)));
    assert.equal(messages.at(-1).result.structuredContent.output_file, 'book.mp3');
    assert.ok(mp3Info(fs.readFileSync(path.join(w.audio, 'book.mp3'))), 'replaced by the new speech');
  } finally {
    await client.close();
    await w.close();
  }
  assert.doesNotMatch(stderr(), SANITIZER);
});

test('cancel: a convert_audio task stops its encoder and leaves no file, in both eras', async () => {
  const w = await audioWorld();
  // 20 minutes at 16 kHz: about four seconds of encoding here, long enough to cancel midway.
  writeWav(path.join(w.audio, 'long.wav'), { seconds: MINUTES_20, rate: 16000, signal: 'tone' });
  const { client, stderr } = await legacyClient(w.env);
  const srv = await startHttp({ env: w.env });
  try {
    await client.listTools();
    // 2025-11-25: the SDK cancels the task as soon as it exists.
    const stream = client.experimental.tasks.callToolStream({ name: 'convert_audio', arguments: { input_path: 'long.wav', output_format: 'mp3' } });
    const first = await stream.next();
    assert.equal(first.value.type, 'taskCreated');
    const taskId = first.value.task.taskId;
    await sleep(300);
    const cancelled = await client.experimental.tasks.cancelTask(taskId);
    assert.equal(cancelled.status, 'cancelled');
    const rest = await drain(stream);
    assert.equal(rest.at(-1).type, 'error');
    assert.equal((await client.experimental.tasks.getTask(taskId)).status, 'cancelled');

    // 2026-07-28: the same over HTTP with raw requests.
    const m = await modern(srv.url, 'tools/call', { name: 'convert_audio', arguments: { input_path: 'long.wav', output_format: 'mp3' } });
    assert.equal(m.result.resultType, 'task', JSON.stringify(m));
    await sleep(300);
    const ack = await modern(srv.url, 'tasks/cancel', { taskId: m.result.taskId });
    assert.equal(ack.result.resultType, 'complete');
    assert.equal((await modern(srv.url, 'tasks/get', { taskId: m.result.taskId })).result.status, 'cancelled');

    // Nothing appeared, nor a temporary; the server goes on serving.
    await sleep(300);
    assert.deepEqual(fs.readdirSync(w.audio), ['long.wav']);
    writeWav(path.join(w.audio, 'short.wav'), { seconds: 2 });
    const r = await client.callTool({ name: 'convert_audio', arguments: { input_path: 'short.wav', output_format: 'mp3' } });
    assert.equal(r.structuredContent.output_file, 'short.mp3');
    assert.deepEqual(fs.readdirSync(w.audio).sort(), ['long.wav', 'short.mp3', 'short.wav']);
  } finally {
    await client.close();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(stderr() + srv.stderr(), SANITIZER);
});
