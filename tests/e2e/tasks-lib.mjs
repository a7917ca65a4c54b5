// Helpers for the MCP tasks suites (tasks*.test.mjs): a world of the real server's upstreams
// (the fake OpenAI, optionally the fake Gemini) with fast task polling, the tasks extension
// driven through the official v2 client, and raw 2026-07-28 requests for the runs that kill
// and restart the server.
import fs from 'node:fs';
import path from 'node:path';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { ACCEPT_BOTH } from './http-lib.mjs';
import { tempMedia } from './lib.mjs';

export const TASKS = 'io.modelcontextprotocol/tasks';
export const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

/** A StandardSchema that takes any value (the v2 client wants one for extension methods). */
export const anyResult = { '~standard': { version: 1, vendor: 'sanzaru-e2e', validate: (value) => ({ value }) } };

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The fake OpenAI (options merged over ours: videos queued for one poll, then in progress
 * for three, responses likewise) and a media root. env: what the server needs, with the
 * server's own task polling every 50 ms and up (SANZARU_TASK_POLL_MS).
 */
export async function world(fakeOptions = {}) {
  const fake = await startFakeOpenAI({
    videos: { queuedPolls: 1, inProgressPolls: 3 },
    responses: { queuedPolls: 1, inProgressPolls: 1 },
    ...fakeOptions,
  });
  const media = tempMedia();
  const videos = path.join(media.dir, 'videos');
  fs.mkdirSync(videos, { recursive: true });
  fs.mkdirSync(path.join(media.dir, 'images'), { recursive: true });
  const env = {
    SANZARU_MEDIA_PATH: media.dir,
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    SANZARU_TASK_POLL_MS: '50',
    LOG_LEVEL: 'INFO',
  };
  return {
    fake,
    media,
    videos,
    env,
    close: async () => {
      await fake.close();
      media.cleanup();
    },
  };
}

/**
 * The tasks extension (SEP-2663) on top of the official v2 client, which has none
 * (@modelcontextprotocol/client 2.4.0 refuses a result of type "task"): a CreateTaskResult
 * answering a request is held back, the task is polled with tasks/get through the client
 * itself (its envelope, its Mcp-Name header) at the pace the server suggests, and the pending
 * call then gets the task's result, or its error, as SEP-2663 says a client may do
 * transparently. Returns what it saw: the CreateTaskResults and every tasks/get answer.
 */
export function withTasks(client) {
  const transport = client.transport;
  const deliver = transport.onmessage;
  const seen = { created: [], polls: [], cancel: null };
  transport.onmessage = (msg, extra) => {
    if (msg && msg.result && msg.result.resultType === 'task') {
      seen.created.push(msg.result);
      drive(msg, extra).catch((e) => deliver({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: String(e) } }, extra));
      return;
    }
    deliver(msg, extra);
  };
  async function drive(msg, extra) {
    const { taskId } = msg.result;
    let wait = msg.result.pollIntervalMs ?? 100;
    for (;;) {
      if (seen.cancel === taskId) {
        seen.cancel = null;
        seen.cancelAck = await client.request({ method: 'tasks/cancel', params: { taskId } }, anyResult);
      }
      await sleep(Math.min(wait, 500));
      const t = await client.request({ method: 'tasks/get', params: { taskId } }, anyResult);
      seen.polls.push(t);
      wait = t.pollIntervalMs ?? wait;
      if (t.status === 'completed') return deliver({ jsonrpc: '2.0', id: msg.id, result: { ...t.result, resultType: 'complete' } }, extra);
      if (t.status === 'failed') return deliver({ jsonrpc: '2.0', id: msg.id, error: t.error }, extra);
      if (t.status === 'cancelled') return deliver({ jsonrpc: '2.0', id: msg.id, error: { code: -32800, message: `task ${taskId} cancelled` } }, extra);
    }
  }
  return seen;
}

let nextId = 1;

/**
 * One raw 2026-07-28 request over HTTP (the headers the transport checks, the _meta
 * envelope with the tasks extension unless caps say otherwise); resolves with the JSON-RPC
 * message that answers it, from a JSON body or the SSE stream.
 */
export async function modern(url, method, params = {}, { token, caps = { extensions: { [TASKS]: {} } } } = {}) {
  const id = nextId++;
  const body = {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': caps },
    },
  };
  const headers = { 'content-type': 'application/json', accept: ACCEPT_BOTH, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  const name = method === 'tools/call' ? params.name : method.startsWith('tasks/') ? params.taskId : undefined;
  if (name !== undefined) headers['mcp-name'] = name;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if ((res.headers.get('content-type') || '').includes('text/event-stream')) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('data:') || line.length <= 5) continue;
      const m = JSON.parse(line.slice(5));
      if (m.id === id) return m;
    }
    throw new Error(`no answer to ${method} on the stream: ${text}`);
  }
  return JSON.parse(text);
}

/** tasks/get until the task is no longer working (or pred says done); the last answer. */
export async function pollTask(url, taskId, { token, until = (t) => t.status !== 'working', max = 200 } = {}) {
  let t;
  for (let i = 0; i < max; i++) {
    const m = await modern(url, 'tasks/get', { taskId }, { token });
    if (m.error) throw new Error(`tasks/get ${taskId}: ${JSON.stringify(m.error)}`);
    t = m.result;
    if (until(t)) return t;
    await sleep(50);
  }
  throw new Error(`task ${taskId} still ${t?.status} (${t?.statusMessage})`);
}
