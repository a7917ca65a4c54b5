// The protocol engine end to end over stdio: the official SDK client for the
// happy paths, raw lines for everything a well-behaved client never sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, rawServer, serverBin, testServerBin, serverEnv } from './lib.mjs';

test('the SDK client initialises, pings and lists tools', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    assert.equal(s.client.getServerVersion().name, 'sanzaru');
    assert.match(s.client.getInstructions(), /create_video/);
    const caps = s.client.getServerCapabilities();
    for (const c of ['tools', 'resources', 'prompts', 'logging', 'completions']) assert.ok(caps[c], c);
    assert.deepEqual(await s.client.ping(), {});
    const { tools } = await s.client.listTools();
    const sleepy = tools.find((t) => t.name === 'sleepy');
    assert.ok(sleepy, 'sleepy listed');
    assert.equal(sleepy.inputSchema.additionalProperties, false);
    assert.equal(sleepy.annotations.readOnlyHint, true);
    assert.ok(sleepy.outputSchema);
  } finally {
    await s.close();
  }
});

test('a tool result carries structuredContent and the same JSON as text', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const r = await s.client.callTool({ name: 'echo', arguments: { text: 'héllo', count: 2 } });
    assert.deepEqual(r.structuredContent, { text: 'héllo', count: 2 });
    assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent);
    assert.equal(r.isError, undefined);
    const f = await s.client.callTool({ name: 'sleepy', arguments: { ms: 1, fail: true } });
    assert.equal(f.isError, true);
    assert.match(f.content[0].text, /failed on purpose/);
  } finally {
    await s.close();
  }
});

test('bad arguments are tool results (isError) naming the field; an unknown tool is -32602', async () => {
  const s = await connect({ bin: testServerBin });
  const cases = [
    [{}, /'text' is required/],
    [{ text: null }, /'text' is required/],
    [{ text: 'x', mode: 'z' }, /'mode' must be one of "a", "b", not "z"/],
    [{ text: 'x', count: 'two' }, /'count' must be an integer, not "two"/],
    [{ text: 'x', count: 9 }, /'count' must be at most 5/],
    [{ text: 'x', count: '9' }, /'count' must be at most 5/],
    [{ text: 'x', extra: 1 }, /unknown argument 'extra'; this tool takes 'text', 'mode', 'count', 'tags'$/],
    [{ text: 'x', tag: ['a'] }, /unknown argument 'tag'; did you mean 'tags'\?$/],
    [{ Text: 'x' }, /unknown argument 'Text'; did you mean 'text'\?$/],
    [{ text: 'x', tags: ['a', 3] }, /'tags\[1\]' must be a string, not an integer/],
    [{ text: 'x', tags: 'a' }, /'tags' must be an array of strings, not "a"/],
    [{ text: '' }, /'text' must not be empty/],
    [{ text: 'a\u0000b' }, /'text' must not contain NUL/],
  ];
  try {
    for (const [args, re] of cases) {
      const r = await s.client.callTool({ name: 'echo', arguments: args });
      assert.equal(r.isError, true, JSON.stringify(args));
      assert.equal(r.structuredContent, undefined);
      assert.match(r.content[0].text, /^Invalid arguments for tool echo: /);
      assert.match(r.content[0].text, re, JSON.stringify(args));
    }
    await assert.rejects(s.client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
      assert.equal(e.code, -32602);
      assert.match(e.message, /Unknown tool: no_such_tool/);
      return true;
    });
  } finally {
    await s.close();
  }
});

test('arguments as the Python original takes them: null is absent, "5" is 5, arrays as JSON text', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const { tools } = await s.client.listTools();
    const echo = tools.find((t) => t.name === 'echo').inputSchema;
    assert.deepEqual(echo.required, ['text']);
    assert.deepEqual(echo.properties.text, { type: 'string', minLength: 1 });
    assert.deepEqual(echo.properties.count, { anyOf: [{ type: 'integer', minimum: 1, maximum: 5 }, { type: 'null' }], default: null });
    assert.deepEqual(echo.properties.mode, { anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'null' }], default: null });
    const nulls = { text: 'x', mode: null, count: null, tags: null };
    assert.deepEqual((await s.client.callTool({ name: 'echo', arguments: nulls })).structuredContent, nulls);
    const r = await s.client.callTool({ name: 'sleepy', arguments: { ms: '20', steps: '2', fail: null } });
    assert.deepEqual(r.structuredContent, { slept_ms: 20, steps: 2 });
    const t = await s.client.callTool({ name: 'echo', arguments: { text: 'x', tags: '["a","b"]' } });
    assert.deepEqual(t.structuredContent.tags, ['a', 'b'], 'the decoded array reaches the tool');
  } finally {
    await s.close();
  }
});

test('progress notifications arrive, strictly increasing, before the result', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const seen = [];
    const r = await s.client.callTool({ name: 'sleepy', arguments: { ms: 400, steps: 4 } }, undefined, {
      onprogress: (p) => seen.push(p),
    });
    assert.deepEqual(r.structuredContent, { slept_ms: 400, steps: 4 });
    assert.ok(seen.length >= 2, `got ${seen.length} progress notifications`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].progress > seen[i - 1].progress);
    assert.equal(seen[0].total, 4);
  } finally {
    await s.close();
  }
  // The SDK dispatches notifications a tick late and may drop the last one when
  // the result arrives in the same read, so check the exact stream raw.
  const srv = rawServer();
  try {
    await srv.initialize();
    srv.sendJson({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 400, steps: 4 }, _meta: { progressToken: 'tok' } } });
    await srv.next((m) => m.id === 1);
    const progress = srv.pending().filter((m) => m.method === 'notifications/progress');
    assert.ok(progress.length >= 2);
    for (const p of progress) assert.equal(p.params.progressToken, 'tok');
    assert.deepEqual(progress.at(-1).params, { progressToken: 'tok', progress: 4, total: 4, message: 'sleeping' });
  } finally {
    srv.child.kill();
  }
});

test('many calls run at once on one loop', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const started = Date.now();
    const calls = Array.from({ length: 20 }, () => s.client.callTool({ name: 'sleepy', arguments: { ms: 500 } }));
    const results = await Promise.all(calls);
    assert.equal(results.length, 20);
    // Sequentially this would take 10 s; concurrently about 0.5 s. The bound is loose on purpose.
    assert.ok(Date.now() - started < 5000, 'calls overlapped');
  } finally {
    await s.close();
  }
});

test('logging/setLevel filters notifications/message', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const logs = [];
    const { LoggingMessageNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
    s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    await s.client.callTool({ name: 'notify', arguments: { text: 'one' } });
    await s.client.setLoggingLevel('error');
    await s.client.callTool({ name: 'notify', arguments: { text: 'two' } });
    await s.client.ping();
    assert.deepEqual(logs.map((l) => l.data), ['one']);
    assert.equal(logs[0].level, 'info');
    await assert.rejects(s.client.request({ method: 'logging/setLevel', params: { level: 'loud' } }, (await import('@modelcontextprotocol/sdk/types.js')).EmptyResultSchema), /level/);
  } finally {
    await s.close();
  }
});

test('a cancelled call stops and gets no response; the server carries on', async () => {
  const srv = rawServer();
  try {
    await srv.initialize();
    srv.sendJson({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 30000 } } });
    await new Promise((r) => setTimeout(r, 100));
    srv.sendJson({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'test' } });
    srv.sendJson({ jsonrpc: '2.0', id: 8, method: 'ping' });
    assert.deepEqual((await srv.next((m) => m.id === 8)).result, {});
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(srv.pending().filter((m) => m.id === 7).length, 0, 'no response for a cancelled request');
    // The same id may be used again once the first call is gone.
    srv.sendJson({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 1 } } });
    assert.deepEqual((await srv.next((m) => m.id === 7)).result.structuredContent, { slept_ms: 1, steps: 1 });
  } finally {
    srv.child.kill();
  }
});

test('the SDK cancels through an AbortSignal', async () => {
  const s = await connect({ bin: testServerBin });
  try {
    const ac = new AbortController();
    const p = s.client.callTool({ name: 'sleepy', arguments: { ms: 30000 } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort('user pressed stop'), 100);
    await assert.rejects(p);
    assert.deepEqual(await s.client.ping(), {});
  } finally {
    await s.close();
  }
});

test('malformed input gets JSON-RPC errors and never kills the server', async () => {
  const srv = rawServer();
  try {
    srv.send('this is not json');
    let m = await srv.next();
    assert.equal(m.id, null);
    assert.equal(m.error.code, -32700);
    srv.send('[{"jsonrpc":"2.0","id":1,"method":"ping"}]');
    m = await srv.next();
    assert.equal(m.error.code, -32600);
    assert.match(m.error.message, /batch/);
    for (const bad of ['42', '"str"', 'null', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}']) {
      srv.send(bad);
      m = await srv.next();
      assert.equal(m.error.code, -32600, bad);
      assert.equal(m.id, null, bad);
    }
    srv.send('{"jsonrpc":"1.0","id":5,"method":"ping"}');
    m = await srv.next();
    assert.deepEqual([m.id, m.error.code], [5, -32600]);
    srv.send('{"jsonrpc":"2.0","id":6}');
    m = await srv.next();
    assert.deepEqual([m.id, m.error.code], [6, -32600]);
    srv.send('{"jsonrpc":"2.0","id":9,"method":"ping","params":[1]}');
    m = await srv.next();
    assert.deepEqual([m.id, m.error.code], [9, -32600]);
    // Binary garbage, including NUL bytes and invalid UTF-8.
    srv.child.stdin.write(Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x80, 0x0a]));
    m = await srv.next();
    assert.equal(m.error.code, -32700);
    // Blank lines are ignored; the stream is still in sync.
    srv.send('\n\n   ');
    srv.sendJson({ jsonrpc: '2.0', id: 10, method: 'ping' });
    assert.deepEqual((await srv.next((x) => x.id === 10)).result, {});
  } finally {
    srv.child.kill();
  }
});

test('lifecycle: ping before initialize works, other requests are refused', async () => {
  const srv = rawServer();
  try {
    srv.sendJson({ jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.deepEqual((await srv.next()).result, {});
    srv.sendJson({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const refused = await srv.next();
    assert.equal(refused.error.code, -32600);
    assert.match(refused.error.message, /not initialized/);
    const init = await srv.initialize('1999-01-01');
    assert.equal(init.result.protocolVersion, '2025-11-25', 'unknown version answered with our newest');
    srv.sendJson({ jsonrpc: '2.0', id: 3, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {} } });
    assert.equal((await srv.next((m) => m.id === 3)).error.code, -32600);
    srv.sendJson({ jsonrpc: '2.0', id: 4, method: 'no/such/method' });
    assert.equal((await srv.next((m) => m.id === 4)).error.code, -32601);
    srv.sendJson({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: { cursor: 'garbage' } });
    assert.equal((await srv.next((m) => m.id === 5)).error.code, -32602);
    // A duplicate id while the first is in flight is refused; the first still completes.
    srv.sendJson({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 200 } } });
    srv.sendJson({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 1 } } });
    const dup = await srv.next((m) => m.id === 6);
    assert.equal(dup.error.code, -32600);
    const first = await srv.next((m) => m.id === 6);
    assert.equal(first.result.structuredContent.slept_ms, 200);
  } finally {
    srv.child.kill();
  }
});

for (const version of ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05']) {
  test(`negotiates protocol version ${version}`, async () => {
    const srv = rawServer();
    try {
      assert.equal((await srv.initialize(version)).result.protocolVersion, version);
    } finally {
      srv.child.kill();
    }
  });
}

test('a line over the limit is refused and the stream resynchronises', async () => {
  const srv = rawServer();
  try {
    await srv.initialize();
    const huge = '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + 'x'.repeat(17 * 1024 * 1024) + '"}}';
    srv.send(huge);
    srv.sendJson({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const err = await srv.next((m) => m.error);
    assert.equal(err.error.code, -32600);
    assert.match(err.error.message, /too large/);
    assert.deepEqual((await srv.next((m) => m.id === 2)).result, {});
  } finally {
    srv.child.kill();
  }
});

test('stdin closing lets calls in flight finish, then exits 0', async () => {
  const srv = rawServer();
  await srv.initialize();
  srv.sendJson({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 300 } } });
  srv.child.stdin.end();
  const reply = await srv.next((m) => m.id === 1);
  assert.equal(reply.result.structuredContent.slept_ms, 300);
  assert.deepEqual(await srv.exited, { code: 0, signal: null });
});

test('stdin closing mid-call cancels it after the grace period and exits 0', async () => {
  const srv = rawServer({ env: { SANZARU_SHUTDOWN_GRACE_MS: '200' } });
  await srv.initialize();
  srv.sendJson({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 60000 } } });
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  srv.child.stdin.end();
  assert.deepEqual(await srv.exited, { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 5000, 'exited promptly');
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} cancels calls and exits 0`, async () => {
    const srv = rawServer({ env: { LOG_LEVEL: 'INFO' } });
    await srv.initialize();
    srv.sendJson({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 60000 } } });
    await new Promise((r) => setTimeout(r, 100));
    srv.child.kill(sig);
    assert.deepEqual(await srv.exited, { code: 0, signal: null });
    assert.match(srv.stderr(), new RegExp(`received ${sig}`));
  });
}

test('command line: version, help, and one-line refusals with exit 2', () => {
  const run = (...args) => spawnSync(serverBin, args, { env: serverEnv(), encoding: 'utf8', input: '' });
  let r = run('--version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^sanzaru \d+\.\d+\.\d+\n$/);
  r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--transport stdio\|http/);
  for (const [args, re] of [
    [['--bogus'], /unknown option '--bogus'/],
    [['--port', 'abc'], /--port must be a number/],
    [['--port', '70000'], /--port must be a number/],
    [['--transport', 'carrier-pigeon'], /--transport must be stdio or http/],
    [['--log-level', 'loud'], /--log-level must be/],
    [['--host'], /needs a value/],
  ]) {
    r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  }
  r = spawnSync(serverBin, [], { env: serverEnv({ SANZARU_MAX_RETRIES: 'two' }), encoding: 'utf8', input: '' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /SANZARU_MAX_RETRIES must be an integer/);
});

test('start-up banner names version, transport and media directories on stderr only', () => {
  const audio = fs.mkdtempSync(path.join(os.tmpdir(), 'sanzaru-banner-audio-'));
  const r = spawnSync(serverBin, [], { env: serverEnv({ LOG_LEVEL: 'INFO', AUDIO_PATH: audio }), encoding: 'utf8', input: '' });
  fs.rmSync(audio, { recursive: true, force: true });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '', 'nothing but protocol on stdout');
  assert.match(r.stderr, /sanzaru \d+\.\d+\.\d+ on stdio; videos: [^;\n]+; images: [^;\n]+; audio: [^;\n]+\n/);
  assert.ok(r.stderr.includes(`; audio: ${audio}`), 'names the audio directory');
});
