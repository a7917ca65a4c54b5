// MCP tasks survive the server (docs/tasks.md): the real server over HTTP with a bearer
// token, killed with SIGKILL in the middle of a task and started again on the same media
// root (the same state database). A create_video task whose video was still being made is
// picked up where it was (the server polls the video again) and finishes with the finished
// Video; a download_video task, whose work was local, reports failed with the reason and
// left no file; so does a windowed transcription (an audio task has no upstream job to
// poll again); the tasks belong to the token (another token finds nothing); and a task
// whose TTL ended is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { writeWav } from './audio-lib.mjs';
import { startHttp } from './http-lib.mjs';
import { SANITIZER, modern, pollTask, sleep, world } from './tasks-lib.mjs';

const TOKEN = 'task-owner-token-0123456789';

/** The real server on w's media root (the same database each time), with a token. */
function start(w, extra = {}) {
  return startHttp({ env: { ...w.env, SANZARU_HTTP_TOKEN: TOKEN, ...extra } });
}

async function kill9(srv) {
  srv.child.kill('SIGKILL');
  const st = await srv.exited;
  assert.equal(st.signal, 'SIGKILL');
}

test('kill -9 mid-task, restart: the video task resumes and finishes; the download task failed, saying why, and left no file', async () => {
  const w = await world({ videos: { queuedPolls: 1, inProgressPolls: 100000 } });
  let srv = await start(w);
  let log = '';
  try {
    // A video that stays in progress until the fake is told otherwise.
    const created = await modern(srv.url, 'tools/call', { name: 'create_video', arguments: { prompt: 'A comet' } }, { token: TOKEN });
    assert.equal(created.result.resultType, 'task', JSON.stringify(created));
    const videoTask = created.result.taskId;
    const working = await pollTask(srv.url, videoTask, { token: TOKEN, until: (t) => /in_progress/.test(t.statusMessage ?? '') });
    assert.equal(working.status, 'working');
    const videoId = w.fake.requestsMatching({ method: 'POST', path: 'videos' })[0].created;

    // A download that stalls halfway.
    const ready = w.fake.addVideo({ status: 'completed' });
    w.fake.faults.add({ path: 'videos/*/content', stall_ms: 60000, stall_after_bytes: 1024 * 1024, count: 1 });
    const dl = await modern(srv.url, 'tools/call', { name: 'download_video', arguments: { video_id: ready.id, filename: 'clip.mp4' } }, { token: TOKEN });
    const dlTask = dl.result.taskId;
    await pollTask(srv.url, dlTask, { token: TOKEN, until: (t) => /\(\d+%\)/.test(t.statusMessage ?? '') });

    log += srv.stderr();
    await kill9(srv);
    const pollsBefore = w.fake.requestsMatching({ method: 'GET', path: `videos/${videoId}` }).length;

    srv = await start(w);
    // The video task: picked up again, the video polled again, and finished with it.
    const resumed = await modern(srv.url, 'tasks/get', { taskId: videoTask }, { token: TOKEN });
    assert.equal(resumed.result.status, 'working', JSON.stringify(resumed));
    await pollTask(srv.url, videoTask, { token: TOKEN, until: () => w.fake.requestsMatching({ method: 'GET', path: `videos/${videoId}` }).length > pollsBefore });
    w.fake.completeVideo(videoId);
    const done = await pollTask(srv.url, videoTask, { token: TOKEN });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.result.structuredContent.id, videoId);
    assert.equal(done.result.structuredContent.status, 'completed');
    assert.match(srv.stderr(), new RegExp(`task ${videoTask}: create_video resumed after a restart`));

    // The download task: its work died with the process; it says so, and nothing is left.
    const lost = await modern(srv.url, 'tasks/get', { taskId: dlTask }, { token: TOKEN });
    assert.equal(lost.result.status, 'failed');
    assert.match(lost.result.statusMessage, /^The server stopped while this task was running, and download_video cannot pick its work up again/);
    assert.equal(lost.result.error.code, -32603);
    assert.deepEqual(fs.readdirSync(w.videos), [], 'no file and no temporary from the killed download');

    // The tasks are the token's: another token (after another restart) finds none.
    log += srv.stderr();
    await srv.stop();
    srv = await start(w, { SANZARU_HTTP_TOKEN: 'another-token-9876543210' });
    const foreign = await modern(srv.url, 'tasks/get', { taskId: videoTask }, { token: 'another-token-9876543210' });
    assert.equal(foreign.error.code, -32602);
    assert.match(foreign.error.message, /Task not found/);
  } finally {
    log += srv.stderr();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(log, SANITIZER);
});

test('kill -9 mid-task, restart: a windowed transcription task (local work, no upstream job) failed, saying why, and left nothing', async () => {
  const w = await world();
  const audio = path.join(w.media.dir, 'audio');
  fs.mkdirSync(audio, { recursive: true });
  writeWav(path.join(audio, 'talk.wav'), { seconds: 1200, rate: 8000, signal: 'speech' });
  // Every window's upload is held for a minute: the task is mid-way when the server dies.
  w.fake.faults.add({ method: 'POST', path: 'audio/transcriptions', delay_ms: 60000 });
  let srv = await start(w);
  let log = '';
  try {
    const created = await modern(srv.url, 'tools/call', { name: 'transcribe_audio', arguments: { file_path: 'talk.wav' } }, { token: TOKEN });
    assert.equal(created.result.resultType, 'task', JSON.stringify(created));
    const taskId = created.result.taskId;
    await pollTask(srv.url, taskId, { token: TOKEN, until: () => w.fake.requestsMatching({ method: 'POST', path: 'audio/transcriptions' }).length >= 1 });
    assert.equal((await modern(srv.url, 'tasks/get', { taskId }, { token: TOKEN })).result.status, 'working');

    log += srv.stderr();
    await kill9(srv);
    srv = await start(w);
    const lost = await modern(srv.url, 'tasks/get', { taskId }, { token: TOKEN });
    assert.equal(lost.result.status, 'failed', JSON.stringify(lost));
    assert.match(lost.result.statusMessage, /^The server stopped while this task was running, and transcribe_audio cannot pick its work up again/);
    assert.equal(lost.result.error.code, -32603);
    assert.deepEqual(fs.readdirSync(audio), ['talk.wav'], 'no window scratch file is left');
  } finally {
    log += srv.stderr();
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(log, SANITIZER);
});

test('TTL: a task is kept for its TTL from creation, then forgotten', async () => {
  const w = await world({ videos: { queuedPolls: 1, inProgressPolls: 0 } });
  const srv = await start(w, { SANZARU_TASK_TTL_MS: '1500' });
  try {
    const created = await modern(srv.url, 'tools/call', { name: 'create_video', arguments: { prompt: 'brief' } }, { token: TOKEN });
    const taskId = created.result.taskId;
    assert.equal(created.result.ttlMs, 1500);
    const done = await pollTask(srv.url, taskId, { token: TOKEN });
    assert.equal(done.status, 'completed');
    assert.equal(done.ttlMs, 1500);
    const left = 1500 - (Date.now() - Date.parse(done.createdAt));
    if (left > 0) await sleep(left + 100);
    const gone = await modern(srv.url, 'tasks/get', { taskId }, { token: TOKEN });
    assert.equal(gone.error.code, -32602);
  } finally {
    await srv.stop();
    await w.close();
  }
  assert.doesNotMatch(srv.stderr(), SANITIZER);
});
