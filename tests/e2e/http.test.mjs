// End to end over Streamable HTTP with the official SDK client (StreamableHTTPClientTransport):
// sessions, progress over SSE, cancellation, DELETE, server-to-client requests, resumption
// with Last-Event-ID, and stateless mode. The per-rule status tests are in http-rules.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, ElicitRequestSchema, CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { connectHttp, fixtureBin, openSession, post, request, serverBin, sleep, startHttp, testServerBin } from './http-lib.mjs';

test('the real server: initialise, list tools, ping, then DELETE the session', async () => {
  const srv = await startHttp({ bin: serverBin });
  try {
    const c = await connectHttp(srv.url);
    assert.match(c.transport.sessionId, /^[0-9a-f]{32}$/, '128-bit hex session id');
    const { tools } = await c.client.listTools();
    assert.ok(tools.length > 0);
    for (const t of tools) assert.equal(typeof t.name, 'string');
    assert.deepEqual(await c.client.ping(), {});
    // Quick requests are answered with one JSON body.
    const list = c.posts.find((p) => p.method === 'tools/list');
    assert.equal(list.status, 200);
    assert.match(list.contentType, /^application\/json/);
    const sid = c.transport.sessionId;
    await c.transport.terminateSession();
    assert.equal(c.transport.sessionId, undefined);
    await c.close();
    // The session is gone for everyone.
    const r = await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { session: sid });
    assert.equal(r.status, 404);
  } finally {
    await srv.stop();
  }
});

test('a call reports progress over its SSE stream, then its result', async () => {
  const srv = await startHttp({ bin: testServerBin });
  try {
    const c = await connectHttp(srv.url);
    const seen = [];
    const result = await c.client.request(
      { method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 400, steps: 4 } } },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p) },
    );
    assert.deepEqual(result.structuredContent, { slept_ms: 400, steps: 4 });
    assert.deepEqual(
      seen.map((p) => p.progress),
      [1, 2, 3, 4],
    );
    assert.ok(seen.every((p) => p.total === 4));
    const call = c.posts.find((p) => p.method === 'tools/call');
    assert.equal(call.status, 200);
    assert.match(call.contentType, /^text\/event-stream/);
    const body = await call.done;
    // priming event first, then progress events, then the response, each with an id
    assert.match(body, /^id: \d+-0\nretry: \d+\ndata: \n\n/);
    assert.equal((body.match(/notifications\/progress/g) || []).length, 4);
    assert.match(body, /"result":\{[^\n]*"slept_ms":400/);
    await c.close();
  } finally {
    await srv.stop();
  }
});

test('the real server downloads a video over HTTP: byte progress arrives on the SSE stream before the result', async () => {
  const fake = await startFakeOpenAI({ videoBytes: 4 * 1024 * 1024 });
  // Stall the body after 1 MB for 300 ms, so the download is seen half-way.
  fake.faults.add({ method: 'GET', path: 'videos/*/content', stall_after_bytes: 1024 * 1024, stall_ms: 300 });
  const video = fake.addVideo({});
  const srv = await startHttp({ bin: serverBin, env: { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-test' } });
  try {
    const c = await connectHttp(srv.url);
    const seen = [];
    const r = await c.client.request(
      { method: 'tools/call', params: { name: 'download_video', arguments: { video_id: video.id } } },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p) },
    );
    assert.equal(r.isError, undefined, JSON.stringify(r));
    assert.equal(r.structuredContent.size_bytes, fake.assets.video.length);
    assert.equal(r.structuredContent.sha256, fake.assets.video.sha256);
    assert.ok(seen.length >= 1, 'the SDK saw progress');
    assert.ok(seen.some((p) => p.progress < p.total), 'progress before the end');
    const call = c.posts.find((p) => p.method === 'tools/call');
    assert.match(call.contentType, /^text\/event-stream/);
    const events = (await call.done)
      .split('\n\n')
      .filter((b) => b.includes('data: {'))
      .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)));
    const last = events.at(-1);
    assert.equal(last.id, events.find((e) => e.result)?.id, 'the response ends the stream');
    const progress = events.filter((e) => e.method === 'notifications/progress').map((e) => e.params);
    assert.ok(progress.length >= 2, `progress events on the wire: ${progress.length}`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].progress > progress[i - 1].progress);
    assert.ok(progress.every((p) => p.total === fake.assets.video.length));
    await c.close();
  } finally {
    await srv.stop();
    await fake.close();
  }
});

test('cancelling a call stops it on the server; the session carries on', async () => {
  const srv = await startHttp({ bin: testServerBin });
  try {
    const c = await connectHttp(srv.url);
    const ac = new AbortController();
    let progressed;
    const first = new Promise((r) => (progressed = r));
    const p = c.client.request(
      { method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 60000, steps: 600 } } },
      CallToolResultSchema,
      { signal: ac.signal, onprogress: () => progressed() },
    );
    await first;
    ac.abort('user pressed stop');
    await assert.rejects(p);
    const call = c.posts.find((x) => x.method === 'tools/call');
    const countProgress = () => (call.text.match(/notifications\/progress/g) || []).length;
    // The cancellation went out as notifications/cancelled and was accepted.
    let cancel;
    for (let i = 0; i < 100 && !cancel; i++) {
      cancel = c.posts.find((x) => x.method === 'notifications/cancelled');
      if (!cancel) await sleep(20);
    }
    await cancel.ready;
    assert.equal(cancel.status, 202);
    // The stream stays open (as the SDK expects) but carries nothing more: the work stopped.
    const before = countProgress();
    await sleep(600); // six of sleepy's 100 ms steps
    assert.ok(countProgress() <= before + 1, `progress went on after cancel: ${before} -> ${countProgress()}`);
    assert.doesNotMatch(call.text, /"result"/);
    assert.deepEqual(await c.client.ping(), {});
    await c.close();
  } finally {
    await srv.stop();
  }
});

test('DELETE cancels the calls in flight and ends their streams', async () => {
  const srv = await startHttp({ bin: testServerBin });
  try {
    const session = await openSession(srv.url);
    const call = await post(
      srv.url,
      {
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name: 'sleepy', arguments: { ms: 60000, steps: 600 }, _meta: { progressToken: 't' } },
      },
      { session, version: '2025-11-25' },
    );
    assert.equal(call.status, 200);
    assert.match(call.headers['content-type'], /^text\/event-stream/);
    const priming = await call.nextEvent();
    assert.match(priming.id, /^\d+-0$/);
    const progress = await call.nextEvent();
    assert.equal(progress.data.method, 'notifications/progress');
    const del = await request(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
    assert.equal(del.status, 200);
    // The call's stream ends without a response: the call was cancelled, not finished.
    for (;;) {
      const ev = await call.nextEvent();
      if (ev === null) break;
      assert.notEqual(ev.data?.id, 5, 'no response after DELETE');
    }
    const again = await post(srv.url, { jsonrpc: '2.0', id: 6, method: 'ping' }, { session });
    assert.equal(again.status, 404);
  } finally {
    await srv.stop();
  }
});

test('server-to-client requests (elicitation, sampling) go out on the SSE stream; answers come back by POST', async () => {
  const srv = await startHttp({ bin: fixtureBin });
  try {
    const c = await connectHttp(srv.url, { capabilities: { elicitation: {}, sampling: {} } });
    let elicited;
    c.client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicited = req.params;
      return { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } };
    });
    c.client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      content: { type: 'text', text: `echo: ${req.params.messages[0].content.text}` },
      model: 'test-model',
    }));
    const r1 = await c.client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
    assert.equal(elicited.message, 'Who are you?');
    assert.match(r1.content[0].text, /action=accept, content=\{"username":"ada","email":"ada@example.com"\}/);
    const r2 = await c.client.callTool({ name: 'test_sampling', arguments: { prompt: 'hi' } });
    assert.equal(r2.content[0].text, 'LLM response: echo: hi');
    // The client's answers were POSTed as JSON-RPC responses and accepted with 202.
    // (the SDK sends its answer without waiting, so the second may still be on its way)
    for (let i = 0; i < 100 && c.posts.filter((p) => p.method === undefined).length < 2; i++) await sleep(20);
    const answers = c.posts.filter((p) => p.method === undefined);
    assert.equal(answers.length, 2);
    await Promise.all(answers.map((p) => p.ready));
    assert.ok(answers.every((p) => p.status === 202));
    await c.close();
  } finally {
    await srv.stop();
  }
});

test('a dropped SSE stream resumes with GET and Last-Event-ID, losing nothing', async () => {
  const srv = await startHttp({ bin: testServerBin });
  try {
    const session = await openSession(srv.url);
    const call = await post(
      srv.url,
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'sleepy', arguments: { ms: 1000, steps: 10 }, _meta: { progressToken: 'r' } },
      },
      { session, version: '2025-11-25' },
    );
    await call.nextEvent(); // priming
    const e1 = await call.nextEvent();
    assert.equal(e1.data.params.progress, 1);
    call.destroy(); // the network drops; the call goes on
    await sleep(350);
    const resumed = await request(srv.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'last-event-id': e1.id, 'mcp-protocol-version': '2025-11-25' },
    });
    assert.equal(resumed.status, 200);
    const progress = [];
    let response;
    for (;;) {
      const ev = await resumed.nextEvent();
      if (ev === null) break;
      if (ev.data?.method === 'notifications/progress') progress.push(ev.data.params.progress);
      if (ev.data?.id === 9) response = ev.data;
    }
    // Everything after event 1 arrives exactly once, in order, then the response ends the stream.
    assert.deepEqual(progress, [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(response.result.structuredContent, { slept_ms: 1000, steps: 10 });
  } finally {
    await srv.stop();
  }
});

test('the standalone GET stream: one per session, with a priming event', async () => {
  const srv = await startHttp({ bin: testServerBin });
  try {
    const session = await openSession(srv.url);
    const h = { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    const g1 = await request(srv.url, { method: 'GET', headers: h });
    assert.equal(g1.status, 200);
    assert.match(g1.headers['content-type'], /^text\/event-stream/);
    const prime = await g1.nextEvent();
    assert.equal(prime.id, '0-0');
    assert.equal(prime.retry, '1000');
    const g2 = await request(srv.url, { method: 'GET', headers: h });
    assert.equal(g2.status, 409);
    await g2.text();
    // Coming back with Last-Event-ID takes the stream over.
    const g3 = await request(srv.url, { method: 'GET', headers: { ...h, 'last-event-id': prime.id } });
    assert.equal(g3.status, 200);
    assert.equal((await g3.nextEvent()).id, '0-0');
    assert.equal(await g1.nextEvent(), null, 'the older connection is ended');
    g3.destroy();
  } finally {
    await srv.stop();
  }
});

test('messages that belong to no request go to the GET stream, kept until one is open', async () => {
  const srv = await startHttp({ bin: fixtureBin });
  try {
    const session = await openSession(srv.url);
    const h = { session, version: '2025-11-25' };
    const call = (id, text) =>
      post(srv.url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'fixture_session_log', arguments: { text } } }, h);
    // Before any GET stream is open: the log waits in the session's stream.
    const r1 = await call(1, 'early');
    assert.match(r1.headers['content-type'], /^application\/json/);
    const j1 = await r1.json();
    assert.equal(j1.id, 1);
    assert.equal(j1.result.content[0].text, 'logged');
    const g = await request(srv.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
    });
    assert.equal(g.status, 200);
    assert.equal((await g.nextEvent()).id, '0-0');
    const early = await g.nextEvent();
    assert.equal(early.id, '0-1');
    assert.equal(early.data.method, 'notifications/message');
    assert.equal(early.data.params.data, 'early');
    // With the stream open, the next one arrives live, and not on the POST's reply.
    const r2 = await call(2, 'live');
    assert.equal((await r2.json()).id, 2);
    const live = await g.nextEvent();
    assert.equal(live.id, '0-2');
    assert.equal(live.data.params.data, 'live');
    g.destroy();
  } finally {
    await srv.stop();
  }
});

test('--stateless: no session ids, every POST stands alone, GET and DELETE are 405', async () => {
  const srv = await startHttp({ bin: testServerBin, extra: ['--stateless'] });
  try {
    const c = await connectHttp(srv.url);
    assert.equal(c.transport.sessionId, undefined);
    const { tools } = await c.client.listTools();
    assert.ok(tools.some((t) => t.name === 'sleepy'));
    const seen = [];
    const result = await c.client.request(
      { method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 200, steps: 2 } } },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p.progress) },
    );
    assert.deepEqual(result.structuredContent, { slept_ms: 200, steps: 2 });
    assert.deepEqual(seen, [1, 2]);
    await c.close();
    // A request needs no initialize and no session in stateless mode.
    const r = await post(srv.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { version: '2025-11-25' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['mcp-session-id'], undefined);
    assert.ok((await r.json()).result.tools.length > 0);
    const g = await request(srv.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    assert.equal(g.status, 405);
    assert.match(g.headers.allow, /POST/);
    const d = await request(srv.url, { method: 'DELETE' });
    assert.equal(d.status, 405);
  } finally {
    await srv.stop();
  }
});

test('SIGTERM with sessions, streams and a call in flight: clean exit 0', async () => {
  const srv = await startHttp({ bin: testServerBin });
  const session = await openSession(srv.url);
  const call = await post(
    srv.url,
    { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 60000 } } },
    { session, version: '2025-11-25' },
  );
  assert.equal(call.status, 200);
  const g = await request(srv.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': session },
  });
  assert.equal(g.status, 200);
  assert.deepEqual(await srv.stop(), { code: 0, signal: null });
  assert.equal(await call.nextEvent().then(() => call.nextEvent()), null);
});
