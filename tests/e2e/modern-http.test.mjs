// MCP 2026-07-28 over Streamable HTTP at the wire, with node:http against the real binary
// (and the test server for a slow call): how each POST is classified (docs/http.md, "Which
// era a POST belongs to"), the statuses of modern refusals, header validation, streams
// without event ids, a subscriptions/listen stream told about a new media file, closing a
// stream as cancellation, and listen streams under the door's connection caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { encodePng } from '../fake-openai/media.mjs';
import { openSession, post, serverBin, sleep, startHttp, testServerBin } from './http-lib.mjs';

const V = '2026-07-28';
const META = { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {} };

/** A modern request with its headers (override or drop any with headers: {name: undefined}). */
function modern(url, id, method, params = {}, headers = {}) {
  const h = { 'mcp-protocol-version': V, 'mcp-method': method };
  const name = params.name ?? params.uri;
  if (name !== undefined) h['mcp-name'] = name;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete h[k.toLowerCase()];
    else h[k.toLowerCase()] = v;
  }
  return post(url, { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...META, ...(params._meta || {}) } } }, { headers: h });
}

/** The JSON-RPC response of a POST, whether answered as JSON or on an SSE stream. */
async function reply(r) {
  if (!/text\/event-stream/.test(r.headers['content-type'] ?? '')) return r.json();
  for (;;) {
    const ev = await r.nextEvent();
    if (ev === null) throw new Error('the stream ended without a response');
    if (ev.data && ev.data.id !== undefined && ev.data.method === undefined) return ev.data;
  }
}

function within(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

test('each POST finds its era: modern without a session, legacy with one, and the ambiguous cases', async () => {
  const srv = await startHttp({ bin: serverBin });
  try {
    // modern: no session, the result says what it is, no Mcp-Session-Id comes back
    const list = await modern(srv.url, 1, 'tools/list');
    assert.equal(list.status, 200);
    assert.equal(list.headers['mcp-session-id'], undefined);
    const body = await list.json();
    assert.equal(body.result.resultType, 'complete');
    assert.equal(body.result.cacheScope, 'public');
    assert.equal(body.result._meta['io.modelcontextprotocol/serverInfo'].name, 'sanzaru');

    // a modern header without the envelope: the envelope is missing (-32602, 400)
    const bare = await post(srv.url, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { version: V, headers: { 'mcp-method': 'tools/list' } });
    assert.equal(bare.status, 400);
    assert.equal((await bare.json()).error.code, -32602);

    // neither envelope nor session nor modern header: legacy, which needs a session
    const lost = await post(srv.url, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    assert.equal(lost.status, 400);
    assert.match((await lost.json()).error.message, /Mcp-Session-Id header is required/);

    // server/discover is modern by its method alone
    const disc = await post(srv.url, { jsonrpc: '2.0', id: 4, method: 'server/discover', params: {} });
    assert.equal(disc.status, 400);
    assert.equal((await disc.json()).error.code, -32602);

    // legacy: initialize opens a session, whose requests stay as they were
    const sid = await openSession(srv.url);
    assert.match(sid, /^[0-9a-f]{32}$/);
    const leg = await post(srv.url, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, { session: sid, version: '2025-11-25' });
    assert.equal(leg.status, 200);
    assert.equal((await leg.json()).result.resultType, undefined, 'legacy results carry no resultType');

    // the modern envelope on a request with a live session id: served as modern
    const both = await modern(srv.url, 6, 'tools/list', {}, { 'mcp-session-id': sid });
    assert.equal(both.status, 200);
    assert.equal((await both.json()).result.resultType, 'complete');

    // an unknown MCP-Protocol-Version without any envelope: refused as before for legacy
    const odd = await post(srv.url, { jsonrpc: '2.0', id: 7, method: 'tools/list' }, { session: sid, version: '1999-01-01' });
    assert.equal(odd.status, 400);
  } finally {
    await srv.stop();
  }
});

test('modern refusals: statuses and codes of the 2026-07-28 transport', async () => {
  const srv = await startHttp({ bin: serverBin });
  try {
    const cases = [
      // [what, response promise, status, code]
      ['unknown method', modern(srv.url, 1, 'no/such'), 404, -32601],
      ['removed method', modern(srv.url, 2, 'ping'), 404, -32601],
      ['unsupported version', modern(srv.url, 3, 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }, { 'mcp-protocol-version': '2099-01-01' }), 400, -32022],
      ['header and _meta disagree', modern(srv.url, 4, 'tools/list', {}, { 'mcp-protocol-version': '2025-11-25' }), 400, -32020],
      ['Mcp-Method missing', modern(srv.url, 5, 'tools/list', {}, { 'mcp-method': undefined }), 400, -32020],
      ['Mcp-Method in other case', modern(srv.url, 6, 'tools/list', {}, { 'mcp-method': 'TOOLS/LIST' }), 400, -32020],
      ['Mcp-Name missing', modern(srv.url, 7, 'tools/call', { name: 'list_local_videos', arguments: {} }, { 'mcp-name': undefined }), 400, -32020],
      ['Mcp-Name wrong', modern(srv.url, 8, 'tools/call', { name: 'list_local_videos', arguments: {} }, { 'mcp-name': 'other' }), 400, -32020],
      ['resource not found', modern(srv.url, 9, 'resources/read', { uri: 'sanzaru://videos/none.mp4' }), 200, -32602],
      ['unknown tool', modern(srv.url, 10, 'tools/call', { name: 'nope', arguments: {} }), 200, -32602],
    ];
    for (const [what, p, status, code] of cases) {
      const r = await p;
      const body = await reply(r);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.equal(body.error?.code, code, what);
      assert.equal(body.id !== null, true, `${what}: the error carries the request id`);
    }
    // a Base64-encoded Mcp-Name and whitespace around it are accepted
    const enc = await modern(srv.url, 11, 'tools/call', { name: 'list_local_videos', arguments: {} }, {
      'mcp-name': `=?base64?${Buffer.from('list_local_videos').toString('base64')}?=`,
    });
    assert.equal(enc.status, 200);
    assert.equal((await reply(enc)).result.resultType, 'complete');
  } finally {
    await srv.stop();
  }
});

test('a listen stream: acknowledged first, told about a new media file, no event ids; closing a stream cancels', async () => {
  const srv = await startHttp({ bin: serverBin });
  const images = path.join(srv.stderr().match(/image root: (\S+)/)?.[1] ?? '', '');
  try {
    fs.writeFileSync(path.join(images, 'wide.png'), encodePng(96, 48));
    const uri = 'sanzaru://images/wide_1280x720.png';
    const listen = await modern(srv.url, 'sub', 'subscriptions/listen', {
      notifications: { resourcesListChanged: true, resourceSubscriptions: [uri] },
    });
    assert.equal(listen.status, 200);
    assert.match(listen.headers['content-type'], /text\/event-stream/);
    const ack = await listen.nextEvent();
    assert.equal(ack.id, undefined, 'no event id: modern streams are not resumable');
    assert.equal(ack.data.method, 'notifications/subscriptions/acknowledged');
    assert.equal(ack.data.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub');
    assert.deepEqual(ack.data.params.notifications, { resourcesListChanged: true, resourceSubscriptions: [uri] });

    const made = await modern(srv.url, 2, 'tools/call', { name: 'prepare_reference_image', arguments: { input_filename: 'wide.png', target_size: '1280x720' } });
    const result = await reply(made);
    assert.equal(result.result.structuredContent.output_filename, 'wide_1280x720.png', JSON.stringify(result));
    const seen = [await listen.nextEvent(), await listen.nextEvent()].map((e) => e.data);
    assert.deepEqual(seen.map((m) => m.method).sort(), ['notifications/resources/list_changed', 'notifications/resources/updated']);
    for (const m of seen) assert.equal(m.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub');
    assert.equal(seen.find((m) => m.method === 'notifications/resources/updated').params.uri, uri);
    listen.destroy();
  } finally {
    await srv.stop();
  }
});

test('closing a modern request\'s stream cancels its call', async () => {
  const srv = await startHttp({ bin: testServerBin, env: { LOG_LEVEL: 'DEBUG' } });
  try {
    const slow = await modern(srv.url, 'slow', 'tools/call', { name: 'sleepy', arguments: { ms: 30000, steps: 300 }, _meta: { progressToken: 't' } });
    assert.match(slow.headers['content-type'], /text\/event-stream/);
    const first = await slow.nextEvent();
    assert.equal(first.data.method, 'notifications/progress');
    slow.destroy();
    await within(
      (async () => {
        while (!/tool sleepy failed: cancelled/.test(srv.stderr())) await sleep(20);
      })(),
      5000,
      'the call was cancelled',
    );
  } finally {
    await srv.stop();
  }
});

test('listen streams are not idle connections: the door evicts an idle socket, not them', async () => {
  const srv = await startHttp({
    bin: serverBin,
    env: { SANZARU_HTTP_MAX_CONNECTIONS: '10', SANZARU_HTTP_MAX_CLIENT_CONNECTIONS: '3' },
  });
  const streams = [];
  let idle;
  try {
    for (let i = 0; i < 2; i++) {
      const s = await modern(srv.url, `l${i}`, 'subscriptions/listen', { notifications: { resourcesListChanged: true } });
      assert.equal((await s.nextEvent()).data.method, 'notifications/subscriptions/acknowledged');
      streams.push(s);
    }
    idle = await new Promise((resolve, reject) => {
      const sock = net.connect({ port: srv.port, host: '127.0.0.1' });
      sock.gone = new Promise((r) => sock.on('close', r));
      sock.on('error', () => {});
      sock.once('connect', () => resolve(sock));
      sock.once('error', reject);
    });
    await sleep(50);
    // the address holds three connections: the next one makes room by closing the idle one
    const r = await within(modern(srv.url, 9, 'tools/list'), 5000, 'a fourth connection');
    assert.equal(r.status, 200);
    await r.text();
    await within(idle.gone, 5000, 'the idle socket closed');
    for (const s of streams) assert.equal(s.ended, false, 'the listen streams stay open');
  } finally {
    for (const s of streams) s.destroy();
    idle?.destroy();
    await srv.stop();
  }
});
