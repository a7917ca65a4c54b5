// Every rule of the Streamable HTTP transport as a curl-level request against the real
// server: status codes (202, 400, 401, 403, 404, 405, 406, 413, 415, 503), session expiry,
// DELETE, and the refusal to listen on a non-loopback address without a token. Each error
// body is a JSON-RPC error with id null.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { ACCEPT_BOTH, openSession, post, request, serverBin, sleep, startHttp } from './http-lib.mjs';
import { serverEnv } from './lib.mjs';

const PING = { jsonrpc: '2.0', id: 1, method: 'ping' };
const V = '2025-11-25';

async function assertError(r, status, pattern) {
  assert.equal(r.status, status);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = await r.json();
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.equal(typeof body.error.code, 'number');
  if (pattern) assert.match(body.error.message, pattern);
  return body;
}

// One server for the rules that need no special configuration.
let srv;
test.before(async () => {
  srv = await startHttp({ bin: serverBin });
});
test.after(async () => {
  await srv.stop();
});

test('406: a POST must accept JSON and SSE; a GET must accept SSE', async () => {
  const session = await openSession(srv.url);
  await assertError(await post(srv.url, PING, { session, headers: { accept: 'application/json' } }), 406, /Not Acceptable/);
  await assertError(await post(srv.url, PING, { session, headers: { accept: 'text/event-stream' } }), 406);
  const g = await request(srv.url, { method: 'GET', headers: { accept: 'application/json', 'mcp-session-id': session } });
  await assertError(g, 406);
  const ok = await post(srv.url, PING, { session });
  assert.equal(ok.status, 200);
  assert.deepEqual((await ok.json()).result, {});
});

test('415: a POST body must be application/json', async () => {
  const session = await openSession(srv.url);
  await assertError(await post(srv.url, PING, { session, headers: { 'content-type': 'text/plain' } }), 415);
});

test('202: a notification or a response gets 202 and no body', async () => {
  const session = await openSession(srv.url);
  const n = await post(srv.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session, version: V });
  assert.equal(n.status, 202);
  assert.equal(await n.text(), '');
  const r = await post(srv.url, { jsonrpc: '2.0', id: 'srv-1', result: {} }, { session, version: V });
  assert.equal(r.status, 202);
  assert.equal(await r.text(), '');
});

test('400: no session id, unsupported protocol version, malformed JSON, a batch', async () => {
  await assertError(await post(srv.url, PING), 400, /Mcp-Session-Id/);
  await assertError(await request(srv.url, { method: 'GET', headers: { accept: 'text/event-stream' } }), 400);
  await assertError(await request(srv.url, { method: 'DELETE' }), 400);
  await assertError(await post(srv.url, '{"jsonrpc":'), 400);
  const session = await openSession(srv.url);
  await assertError(await post(srv.url, PING, { session, version: '1999-01-01' }), 400, /MCP-Protocol-Version/);
  // Every supported version is accepted, not only the negotiated one.
  for (const v of ['2025-11-25', '2025-06-18', '2025-03-26']) {
    const ok = await post(srv.url, PING, { session, version: v });
    assert.equal(ok.status, 200, v);
    await ok.text();
  }
  const bad = await post(srv.url, '{"jsonrpc":', { session, version: V });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, -32700);
  const batch = await post(srv.url, [PING, PING], { session, version: V });
  assert.equal(batch.status, 400);
  assert.equal((await batch.json()).error.code, -32600);
});

test('404: an unknown session id, and any path but /mcp', async () => {
  const ghost = 'f'.repeat(32);
  await assertError(await post(srv.url, PING, { session: ghost }), 404, /Session not found/);
  await assertError(await post(srv.url, PING, { session: 'short' }), 404);
  await assertError(
    await request(srv.url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': ghost } }),
    404,
  );
  await assertError(await request(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': ghost } }), 404);
  const other = srv.url.replace(/\/mcp$/, '/other');
  await assertError(await post(other, PING), 404, /\/mcp/);
});

test('405: other methods, with Allow', async () => {
  const r = await request(srv.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  await assertError(r, 405);
  assert.match(r.headers.allow, /GET, POST, DELETE/);
});

test('403 Origin: a foreign Origin is refused; localhost origins are allowed with CORS headers', async () => {
  await assertError(await post(srv.url, PING, { headers: { origin: 'http://evil.example.com' } }), 403, /Origin/);
  await assertError(await post(srv.url, PING, { headers: { origin: 'null' } }), 403);
  await assertError(await post(srv.url, PING, { headers: { origin: 'http://localhost.evil.com' } }), 403);
  const origin = 'http://localhost:5173';
  const session = await openSession(srv.url, { headers: { origin } });
  const ok = await post(srv.url, PING, { session, headers: { origin } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], origin);
  assert.match(ok.headers['access-control-expose-headers'], /Mcp-Session-Id/);
  const pre = await request(srv.url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'mcp-session-id' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], origin);
  assert.match(pre.headers['access-control-allow-headers'], /Mcp-Session-Id/);
});

test('403 Origin: SANZARU_ALLOWED_ORIGINS adds origins', async () => {
  const s2 = await startHttp({ bin: serverBin, env: { SANZARU_ALLOWED_ORIGINS: 'https://app.example.com' } });
  try {
    const session = await openSession(s2.url, { headers: { origin: 'https://app.example.com' } });
    assert.match(session, /^[0-9a-f]{32}$/);
    await assertError(await post(s2.url, PING, { headers: { origin: 'https://other.example.com' } }), 403);
  } finally {
    await s2.stop();
  }
});

test('403 Host: bound to loopback, a non-loopback Host is refused (DNS rebinding)', async () => {
  const evil = await post(srv.url, PING, { headers: { host: `evil.example.com:${srv.port}` } });
  await assertError(evil, 403, /Host/);
  await assertError(await post(srv.url, PING, { headers: { host: `10.0.0.1:${srv.port}` } }), 403);
  // the names of this machine are fine
  for (const host of [`localhost:${srv.port}`, `127.0.0.1:${srv.port}`, `[::1]:${srv.port}`]) {
    const session = await openSession(srv.url, { headers: { host } });
    assert.match(session, /^[0-9a-f]{32}$/, host);
  }
});

test('401: with SANZARU_HTTP_TOKEN every request needs the bearer token', async () => {
  const token = 'correct horse battery staple';
  const s2 = await startHttp({ bin: serverBin, env: { SANZARU_HTTP_TOKEN: token } });
  try {
    const none = await post(s2.url, PING);
    await assertError(none, 401, /Bearer/);
    assert.match(none.headers['www-authenticate'], /^Bearer/);
    const wrong = await post(s2.url, PING, { headers: { authorization: 'Bearer correct horse battery stapl' } });
    await assertError(wrong, 401);
    assert.match(wrong.headers['www-authenticate'], /^Bearer/);
    await assertError(await post(s2.url, PING, { headers: { authorization: `Basic ${token}` } }), 401);
    const g = await request(s2.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    await assertError(g, 401);
    const auth = { authorization: `Bearer ${token}` };
    const session = await openSession(s2.url, { headers: auth });
    const ok = await post(s2.url, PING, { session, headers: auth, version: V });
    assert.equal(ok.status, 200);
    // The token is checked on every request, not only at initialize.
    await assertError(await post(s2.url, PING, { session, version: V }), 401);
  } finally {
    await s2.stop();
  }
});

test('413: a body over 4 MiB is refused, by Content-Length or while streaming', async () => {
  const session = await openSession(srv.url);
  const limit = 4 * 1024 * 1024;
  const pad = (n) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { pad: 'x'.repeat(n) } } });
  const overhead = pad(0).length;
  const r = await post(srv.url, pad(limit - overhead + 1), { session, version: V });
  await assertError(r, 413, /4194304/);
  // Chunked, without Content-Length.
  const big = pad(limit);
  const chunked = await request(srv.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT_BOTH, 'mcp-session-id': session, 'transfer-encoding': 'chunked' },
    body: big,
  });
  await assertError(chunked, 413);
  // A Content-Length far over the limit is answered at once, before any body is sent.
  const raw = await new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\n` +
        `Accept: ${ACCEPT_BOTH}\r\nMcp-Session-Id: ${session}\r\nContent-Length: 1000000000\r\n\r\n`,
    );
  });
  assert.match(raw, /^HTTP\/1\.1 413 /);
  assert.match(raw, /Payload Too Large/);
  // Exactly at the limit is fine.
  const ok = await post(srv.url, pad(limit - overhead), { session, version: V });
  assert.equal(ok.status, 200);
  assert.deepEqual((await ok.json()).result, {});
});

test('503: past SANZARU_HTTP_MAX_SESSIONS with every session busy a new session is refused until one ends', async () => {
  const s2 = await startHttp({ bin: serverBin, env: { SANZARU_HTTP_MAX_SESSIONS: '2' } });
  const streams = [];
  try {
    const a = await openSession(s2.url);
    const b = await openSession(s2.url);
    for (const session of [a, b]) {
      const g = await request(s2.url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': session } });
      assert.equal(g.status, 200);
      await g.nextEvent();
      streams.push(g);
    }
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: V, capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const full = await post(s2.url, init);
    await assertError(full, 503, /too many sessions/);
    assert.ok(full.headers['retry-after']);
    const del = await request(s2.url, { method: 'DELETE', headers: { 'mcp-session-id': a } });
    assert.equal(del.status, 200);
    const again = await post(s2.url, init);
    assert.equal(again.status, 200);
    assert.match(again.headers['mcp-session-id'], /^[0-9a-f]{32}$/);
  } finally {
    for (const g of streams) g.destroy();
    await s2.stop();
  }
});

test('expiry: an idle session expires after SANZARU_HTTP_SESSION_TTL; a busy one does not', async () => {
  const s2 = await startHttp({ bin: serverBin, env: { SANZARU_HTTP_SESSION_TTL: '2' } });
  try {
    const idle = await openSession(s2.url);
    const busy = await openSession(s2.url);
    // 14 pings 250 ms apart: the busy session is never idle for 2 s, the other one is.
    for (let i = 0; i < 14; i++) {
      await sleep(250);
      const r = await post(s2.url, PING, { session: busy, version: V });
      assert.equal(r.status, 200, 'a session in use stays');
      await r.text();
    }
    await assertError(await post(s2.url, PING, { session: idle, version: V }), 404, /expired/);
  } finally {
    await s2.stop();
  }
});

test('DELETE ends the session: 200, then 404 for it', async () => {
  const session = await openSession(srv.url);
  const del = await request(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.equal(del.status, 200);
  await assertError(await post(srv.url, PING, { session, version: V }), 404);
  await assertError(await request(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } }), 404);
});

test('initialize on an existing session is answered with an error, not a second session', async () => {
  const a = await openSession(srv.url);
  const b = await openSession(srv.url);
  assert.notEqual(a, b);
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: V, capabilities: {}, clientInfo: { name: 'x', version: '1' } },
  };
  // initialize on an existing session is an error reply, not a new session
  const again = await post(srv.url, init, { session: a });
  assert.equal(again.status, 200);
  assert.ok((await again.json()).error);
});

test('limits: a silent client is cut after SANZARU_HTTP_CONNECTION_TIMEOUT, a trickling one after SANZARU_HTTP_REQUEST_TIMEOUT; connections are capped', async () => {
  const s2 = await startHttp({
    bin: serverBin,
    env: { SANZARU_HTTP_CONNECTION_TIMEOUT: '1', SANZARU_HTTP_REQUEST_TIMEOUT: '2', SANZARU_HTTP_MAX_CONNECTIONS: '3' },
  });
  try {
    // Half a request line, then silence: the server hangs up (no answer is owed).
    const t0 = Date.now();
    const closed = await new Promise((resolve, reject) => {
      const sock = net.connect(s2.port, '127.0.0.1');
      sock.on('close', () => resolve(Date.now() - t0));
      sock.on('error', reject);
      sock.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    });
    assert.ok(closed >= 900, `closed after ${closed} ms`);
    // Trickling a byte at a time beats the idle timeout, not the whole-request deadline.
    const t1 = Date.now();
    const cut = await new Promise((resolve, reject) => {
      const sock = net.connect(s2.port, '127.0.0.1');
      const text = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'z'.repeat(200)}`;
      let i = 0;
      const timer = setInterval(() => {
        if (i < text.length) sock.write(text[i++]);
      }, 250);
      sock.on('close', () => {
        clearInterval(timer);
        resolve({ ms: Date.now() - t1, sent: i });
      });
      sock.on('error', () => {});
      sock.on('connect', () => {});
      setTimeout(() => reject(new Error('still open after 15 s')), 15000).unref();
    });
    assert.ok(cut.ms >= 1900 && cut.sent < 200, `cut after ${cut.ms} ms, ${cut.sent} bytes`);
    // Three SSE streams hold the three connections; a fourth is answered 503 at once (not
    // left in the listen queue), and once one of them goes away the next one is served.
    const streams = [];
    for (let i = 0; i < 3; i++) {
      const session = await openSession(s2.url);
      const g = await request(s2.url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': session } });
      assert.equal(g.status, 200);
      await g.nextEvent();
      streams.push(g);
    }
    const refused = await post(s2.url, PING);
    await assertError(refused, 503, /too many connections \(3\)/);
    assert.equal(refused.headers['retry-after'], '1');
    streams.pop().destroy();
    let r;
    for (let i = 0; i < 100; i++) {
      r = await post(s2.url, PING);
      if (r.status !== 503) break;
      await r.text(); // the server had not yet seen the hang-up
      await sleep(50);
    }
    await assertError(r, 400, /Mcp-Session-Id/); // served (and refused for want of a session)
    for (const g of streams) g.destroy();
  } finally {
    await s2.stop();
  }
});

test('binding a non-loopback address needs a token or --allow-unauthenticated', async () => {
  const r = spawnSync(serverBin, ['--transport', 'http', '--host', '0.0.0.0', '--port', '0'], {
    env: serverEnv(),
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /refusing to serve 0\.0\.0\.0.*SANZARU_HTTP_TOKEN/);
  for (const opts of [{ extra: ['--allow-unauthenticated'] }, { env: { SANZARU_HTTP_TOKEN: 't0ken' } }]) {
    const s2 = await startHttp({
      bin: serverBin,
      args: ['--transport', 'http', '--host', '0.0.0.0', '--port', '0', ...(opts.extra ?? [])],
      env: opts.env,
    });
    try {
      // Not bound to loopback, so any Host is fine; talk to it over loopback only.
      const url = `http://127.0.0.1:${s2.port}/mcp`;
      const headers = opts.env ? { authorization: 'Bearer t0ken' } : {};
      const session = await openSession(url, { headers: { ...headers, host: `mcp.example.com:${s2.port}` } });
      assert.match(session, /^[0-9a-f]{32}$/);
    } finally {
      await s2.stop();
    }
  }
});
