// MCP tasks end to end (docs/tasks.md), with the official clients against the real server
// and the fake upstreams: the 2026-07-28 extension driven by @modelcontextprotocol/client
// 2.4.0 (a create_video task to its finished Video; the server, not the client, polls the
// video: one upstream poll per step however often the client asks), 2025-11-25's tasks
// through the experimental tasks API of @modelcontextprotocol/sdk 1.32.2 (the same, with
// the upstream progress in progress notifications, tasks/list, tasks/result), cancelling
// (the job cancelled upstream: POST /responses/{id}/cancel, Gemini's interaction cancel; a
// download that leaves no file), and tasks that belong to whoever created them (another
// session, another process, another era's client see nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as LegacyStdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyHttp } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, TaskStatusNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startFakeGemini } from '../fake-gemini/server.mjs';
import { serverBin, serverEnv } from './lib.mjs';
import { startHttp } from './http-lib.mjs';
import { SANITIZER, TASKS, anyResult, modern, sleep, withTasks, world } from './tasks-lib.mjs';

function modernClient() {
  return new ModernClient(
    { name: 'sanzaru-e2e-tasks', version: '1.0.0' },
    { capabilities: { extensions: { [TASKS]: {} } }, versionNegotiation: { mode: 'auto' } },
  );
}

function legacyStdio(env) {
  const transport = new LegacyStdio({ command: serverBin, env: serverEnv(env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  return { transport, stderr: () => stderr };
}

async function legacyClient(transport) {
  const client = new LegacyClient({ name: 'sanzaru-e2e-tasks-legacy', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  await client.listTools(); // the SDK learns which tools take tasks (execution.taskSupport)
  return client;
}

/** Runs the SDK's callToolStream to its end; every message it yielded. */
async function drain(stream) {
  const messages = [];
  for await (const m of stream) messages.push(m);
  return messages;
}

/** Waits until pred() holds (a condition the server brings about on its own). */
async function until(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const videoPolls = (fake) => fake.requestsMatching({ method: 'GET', path: 'videos/*' }).length;

test('2026-07-28: the v2 client runs create_video as a task to its finished Video; the server polls the video, once per step', async () => {
  const w = await world({ videos: { queuedPolls: 1, inProgressPolls: 10 } });
  const srv = await startHttp({ env: w.env });
  const client = modernClient();
  try {
    await client.connect(new ModernHttp(new URL(srv.url)));
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    assert.deepEqual(client.getServerCapabilities().extensions?.[TASKS], {}, 'server/discover advertises the extension');
    const seen = withTasks(client);
    const r = await client.callTool({ name: 'create_video', arguments: { prompt: 'A lighthouse at dusk', seconds: '4' } });

    // The call became a task at once; the final result is the finished Video.
    assert.equal(seen.created.length, 1);
    const created = seen.created[0];
    assert.equal(created.status, 'working');
    assert.match(created.taskId, /^[0-9a-f]{32}$/);
    assert.equal(created.ttlMs, 3600000);
    assert.ok(Number.isInteger(created.pollIntervalMs) && created.pollIntervalMs > 0);
    assert.ok(!('ttl' in created) && !('pollInterval' in created), 'no 2025-11-25 field names');
    assert.ok(!r.isError, r.content?.[0]?.text);
    assert.equal(r.structuredContent.status, 'completed');
    assert.equal(r.structuredContent.progress, 100);
    assert.equal(JSON.parse(r.content[0].text).id, r.structuredContent.id);
    assert.equal(w.fake.videoView(r.structuredContent.id).status, 'completed');

    // While it ran, tasks/get said working, with the video's own progress as statusMessage.
    assert.ok(seen.polls.length >= 1);
    assert.ok(seen.polls.length >= 2, 'the task was seen working before it ended');
    assert.ok(seen.polls.slice(0, -1).every((t) => t.status === 'working'));
    assert.ok(
      seen.polls.slice(0, -1).some((t) => t.pollIntervalMs >= 50 && t.pollIntervalMs <= 200),
      'once the video is known the suggested pace is the server\'s own upstream pace (50 ms and up, SANZARU_TASK_POLL_MS)',
    );
    assert.ok(
      seen.polls.some((t) => /^(queued|in_progress) \(\d+%\)$/.test(t.statusMessage ?? '')),
      `statusMessage carries the upstream progress: ${JSON.stringify(seen.polls.map((t) => t.statusMessage))}`,
    );
    // The video was polled by the server exactly as often as it had steps (queued, ten
    // times in progress, completed), however often the client asked for the task.
    assert.equal(videoPolls(w.fake), 12);
    const calls = seen.polls.length;
    await client.request({ method: 'tasks/get', params: { taskId: created.taskId } }, anyResult);
    assert.equal(videoPolls(w.fake), 12, 'a tasks/get of a finished task costs no upstream request');
    assert.equal(seen.polls.length, calls);

    // Without the extension the same call is an ordinary one: the queued Video at once.
    const plain = await modern(srv.url, 'tools/call', { name: 'create_video', arguments: { prompt: 'p' } }, { caps: {} });
    assert.equal(plain.result.resultType, 'complete');
    assert.equal(plain.result.structuredContent.status, 'queued');
    // The durable copy: the state database exists under the media root.
    assert.ok(fs.existsSync(`${w.media.dir}/.sanzaru/state.db`));
  } finally {
    await client.close();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(srv.stderr(), SANITIZER);
});

test('2025-11-25: the SDK\'s experimental tasks API runs create_video as a task, with upstream progress, tasks/list and tasks/result', async () => {
  const w = await world();
  const { transport, stderr } = legacyStdio(w.env);
  const statuses = [];
  let client;
  try {
    client = await legacyClient(transport);
    client.setNotificationHandler(TaskStatusNotificationSchema, (n) => statuses.push(n.params));
    assert.deepEqual(client.getServerCapabilities().tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const tools = Object.fromEntries((await client.listTools()).tools.map((t) => [t.name, t]));
    for (const name of ['create_video', 'remix_video', 'download_video', 'create_image', 'generate_image', 'edit_image'])
      assert.equal(tools[name].execution?.taskSupport, 'optional', name);
    for (const name of ['get_video_status', 'list_videos', 'delete_video', 'get_image_status', 'list_local_videos'])
      assert.equal(tools[name].execution, undefined, `${name} is a quick call: no task`);

    const progress = [];
    const messages = await drain(
      client.experimental.tasks.callToolStream({ name: 'create_video', arguments: { prompt: 'A red fox', seconds: '4' } }, undefined, {
        onprogress: (p) => progress.push(p),
      }),
    );
    assert.equal(messages[0].type, 'taskCreated');
    const taskId = messages[0].task.taskId;
    assert.equal(messages[0].task.ttl, 3600000);
    assert.ok(messages.some((m) => m.type === 'taskStatus' && m.task.status === 'working'));
    const last = messages.at(-1);
    assert.equal(last.type, 'result', JSON.stringify(last));
    assert.equal(last.result.structuredContent.status, 'completed');
    assert.equal(last.result._meta['io.modelcontextprotocol/related-task'].taskId, taskId);

    // Progress notifications carried the video's own progress, out of 100.
    assert.ok(progress.some((p) => p.progress > 0 && p.progress < 100), JSON.stringify(progress));
    assert.equal(progress.at(-1).progress, 100);
    assert.equal(progress.at(-1).total, 100);
    assert.equal(progress.at(-1).message, 'completed');
    assert.equal(progress.at(-1)._meta['io.modelcontextprotocol/related-task'].taskId, taskId, 'tagged with its task');
    assert.ok(statuses.some((s) => s.taskId === taskId && s.status === 'completed'), 'notifications/tasks/status');

    const listed = await client.experimental.tasks.listTasks();
    assert.deepEqual(
      listed.tasks.map((t) => [t.taskId, t.status]),
      [[taskId, 'completed']],
    );
    const again = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    assert.deepEqual(again.structuredContent, last.result.structuredContent);
    assert.equal(videoPolls(w.fake), 5);
  } finally {
    await client?.close();
    await w.close();
  }
  assert.doesNotMatch(stderr(), SANITIZER);
});

test('cancel: a create_image task cancels its job upstream (POST /responses/{id}/cancel) and polls no more', async () => {
  const w = await world({ responses: { queuedPolls: 1000, inProgressPolls: 0 } });
  const { transport, stderr } = legacyStdio(w.env);
  let client;
  try {
    client = await legacyClient(transport);
    const stream = client.experimental.tasks.callToolStream({ name: 'create_image', arguments: { prompt: 'A fox to cancel' } });
    const first = await stream.next();
    assert.equal(first.value.type, 'taskCreated');
    const taskId = first.value.task.taskId;
    const rest = drain(stream);
    await until(() => w.fake.requestsMatching({ method: 'GET', path: 'responses/*' }).length >= 1, 'the server to poll the job');

    const cancelled = await client.experimental.tasks.cancelTask(taskId);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.statusMessage, 'The task was cancelled by request.');
    await until(() => w.fake.requestsMatching({ method: 'POST', path: 'responses/*/cancel' }).length === 1, 'the upstream cancel');
    const responseId = w.fake.requestsMatching({ method: 'POST', path: 'responses' })[0].created;
    assert.equal(w.fake.responseView(responseId).status, 'cancelled');

    const messages = await rest;
    assert.equal(messages.at(-1).type, 'error');
    assert.match(messages.at(-1).error.message, /was cancelled/);
    assert.equal((await client.experimental.tasks.getTask(taskId)).status, 'cancelled');
    const polls = w.fake.requestsMatching({ method: 'GET', path: 'responses/*' }).length;
    await sleep(400);
    assert.equal(w.fake.requestsMatching({ method: 'GET', path: 'responses/*' }).length, polls, 'no poll after the cancel');
    await assert.rejects(client.experimental.tasks.cancelTask(taskId), /terminal status 'cancelled'/);
  } finally {
    await client?.close();
    await w.close();
  }
  assert.doesNotMatch(stderr(), SANITIZER);
});

test('cancel: a Gemini video task cancels the interaction upstream; a download task leaves no file', async () => {
  const w = await world();
  const gemini = await startFakeGemini({ apiKey: 'gk-test', queuedPolls: 1000 });
  const env = { ...w.env, GEMINI_API_KEY: 'gk-test', GEMINI_BASE_URL: gemini.url };
  const srv = await startHttp({ env });
  const client = modernClient();
  try {
    await client.connect(new ModernHttp(new URL(srv.url)));
    const seen = withTasks(client);
    const pending = client.callTool({ name: 'create_video', arguments: { prompt: 'A whale', model: 'gemini-omni-1.1-flash' } });
    await until(() => seen.polls.length >= 1, 'the first tasks/get');
    seen.cancel = seen.created[0].taskId;
    const why = await pending.then(
      (r) => `resolved ${JSON.stringify(r)}`,
      (e) => String(e),
    );
    assert.match(why, /cancelled/, JSON.stringify(seen));
    // (the client takes resultType off what it returns)
    assert.deepEqual(Object.keys(seen.cancelAck), ['_meta'], 'an empty acknowledgement');
    await until(() => gemini.requestsMatching({ method: 'POST', path: 'interactions/*/cancel' }).length === 1, "Gemini's cancel");
    const id = gemini.requestsMatching({ method: 'POST', path: 'interactions/*/cancel' })[0].path.split('/').at(-2);
    assert.equal(gemini.view(id).status, 'cancelled');

    // A download cancelled halfway: the transfer stops and nothing is left in the folder.
    const video = w.fake.addVideo({ status: 'completed' });
    w.fake.faults.add({ path: 'videos/*/content', stall_ms: 30000, stall_after_bytes: 1024 * 1024 });
    const dl = await modern(srv.url, 'tools/call', { name: 'download_video', arguments: { video_id: video.id, filename: 'half.mp4' } });
    const taskId = dl.result.taskId;
    assert.equal(dl.result.resultType, 'task');
    await until(() => w.fake.requestsMatching({ path: 'videos/*/content' }).length === 1, 'the download to start');
    await sleep(200);
    const ack = await modern(srv.url, 'tasks/cancel', { taskId });
    assert.equal(ack.result.resultType, 'complete');
    const t = await modern(srv.url, 'tasks/get', { taskId });
    assert.equal(t.result.status, 'cancelled');
    await sleep(300);
    assert.deepEqual(fs.readdirSync(w.videos), [], 'no file, no temporary');
  } finally {
    await client.close();
    await srv.stop();
    await gemini.close();
    await w.close();
  }
  assert.doesNotMatch(srv.stderr(), SANITIZER);
});

test('isolation: another session, another process, another era cannot see, await or cancel a task', async () => {
  const w = await world({ videos: { queuedPolls: 1000, inProgressPolls: 0 } });
  const srv = await startHttp({ env: w.env });
  const a = new LegacyClient({ name: 'a', version: '1' }, { capabilities: {} });
  const b = new LegacyClient({ name: 'b', version: '1' }, { capabilities: {} });
  const p1 = legacyStdio(w.env);
  const p2 = legacyStdio(w.env);
  let c1, c2;
  try {
    await a.connect(new LegacyHttp(new URL(srv.url)));
    await b.connect(new LegacyHttp(new URL(srv.url)));
    await a.listTools();
    const stream = a.experimental.tasks.callToolStream({ name: 'create_video', arguments: { prompt: 'mine' } });
    const taskId = (await stream.next()).value.task.taskId;
    await stream.return(undefined);

    // Session b: the id is unknown to it, whatever it tries; its list is empty.
    await assert.rejects(b.experimental.tasks.getTask(taskId), (e) => e.code === -32602);
    await assert.rejects(b.experimental.tasks.getTaskResult(taskId), (e) => e.code === -32602);
    await assert.rejects(b.experimental.tasks.cancelTask(taskId), (e) => e.code === -32602);
    assert.deepEqual((await b.experimental.tasks.listTasks()).tasks, []);
    // A modern client (no session) is someone else too.
    const m = await modern(srv.url, 'tasks/get', { taskId });
    assert.equal(m.error.code, -32602);
    // ...and a's own task is still its own, untouched.
    assert.equal((await a.experimental.tasks.getTask(taskId)).status, 'working');
    assert.deepEqual((await a.experimental.tasks.listTasks()).tasks.map((t) => t.taskId), [taskId]);
    const modernTask = (await modern(srv.url, 'tools/call', { name: 'create_video', arguments: { prompt: 'theirs' } })).result.taskId;
    await assert.rejects(a.experimental.tasks.getTask(modernTask), (e) => e.code === -32602);
    assert.equal((await modern(srv.url, 'tasks/get', { taskId: modernTask })).result.status, 'working');
    assert.equal((await a.experimental.tasks.cancelTask(taskId)).status, 'cancelled');

    // Two stdio servers on one media root (one state database): neither sees the other's.
    c1 = await legacyClient(p1.transport);
    c2 = await legacyClient(p2.transport);
    const s1 = c1.experimental.tasks.callToolStream({ name: 'create_video', arguments: { prompt: 'process one' } });
    const t1 = (await s1.next()).value.task.taskId;
    await s1.return(undefined);
    await assert.rejects(c2.experimental.tasks.getTask(t1), (e) => e.code === -32602);
    assert.deepEqual((await c2.experimental.tasks.listTasks()).tasks, []);
    assert.equal((await c1.experimental.tasks.getTask(t1)).status, 'working');
  } finally {
    await a.close();
    await b.close();
    await c1?.close();
    await c2?.close();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(srv.stderr(), SANITIZER);
  assert.doesNotMatch(p1.stderr() + p2.stderr(), SANITIZER);
});
