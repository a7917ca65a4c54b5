// The HTTP door under attack (issue 10, items 1, 2 and 9), with raw sockets against the
// real binary: the door stays open after the connection cap was reached; idle and slow
// sockets cannot lock real clients out (they are closed to make room, and must send their
// headers quickly); past the caps a client gets a quick 503 with Retry-After instead of a
// wait in the listen queue; a full session table makes room by closing its least recently
// used idle session. Small caps and short deadlines come from settings; the tests assert
// outcomes, and a wait that takes too long fails (it means the server stopped serving).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { openSession, post, request, serverBin, sleep, startHttp, testServerBin } from './http-lib.mjs';

const PING = { jsonrpc: '2.0', id: 1, method: 'ping' };
const V = '2025-11-25';
const INIT = {
  jsonrpc: '2.0',
  id: 'init',
  method: 'initialize',
  params: { protocolVersion: V, capabilities: {}, clientInfo: { name: 'door', version: '1' } },
};

/** Fails with `what` unless promise settles within ms (a hang means the server stopped serving). */
function within(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Opens a socket that sends nothing; resolves once connected. `gone` resolves when it closes. */
function idleSocket(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    sock.closedByServer = false;
    sock.gone = new Promise((r) => sock.on('close', r));
    sock.on('end', () => {
      sock.closedByServer = true;
      sock.destroy();
    });
    sock.on('error', () => {
      sock.closedByServer = true;
    });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** One raw request on a fresh socket (optionally from localAddress); resolves with the whole answer as text. */
function rawRequest(port, text, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    let got = '';
    sock.on('data', (d) => (got += d));
    sock.on('close', () => resolve(got));
    sock.on('error', (e) => (got ? resolve(got) : reject(e)));
    sock.write(text);
  });
}

const pingText = (port) => {
  const body = JSON.stringify(PING);
  return (
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  );
};

/** A request that is served answers 400 here (no session id), which proves the door is open. */
async function assertServed(port, what, localAddress) {
  const answer = await within(rawRequest(port, pingText(port), localAddress), 5000, what);
  assert.match(answer, /^HTTP\/1\.1 400 /, `${what}: ${answer.slice(0, 80)}`);
  assert.match(answer, /Mcp-Session-Id header is required/);
}

function assert503(answer, pattern) {
  assert.match(answer, /^HTTP\/1\.1 503 /, answer.slice(0, 80));
  assert.match(answer, /\r\nRetry-After: \d+\r\n/i);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.match(body.error.message, pattern);
}

/** Opens a GET stream (a connection doing real work) for a new session. */
async function openStream(url, headers = {}) {
  const session = await openSession(url, { headers });
  const g = await request(url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': session, ...headers },
  });
  assert.equal(g.status, 200);
  await g.nextEvent(); // the priming event: the stream is live
  return { session, g };
}

test('the door stays open: at the connection cap, idle sockets that go away leave room for the next client', async () => {
  const srv = await startHttp({
    bin: serverBin,
    env: {
      SANZARU_HTTP_MAX_CONNECTIONS: '3',
      SANZARU_HTTP_CONNECTION_TIMEOUT: '1',
      SANZARU_HTTP_HEADER_TIMEOUT: '60',
      SANZARU_HTTP_REQUEST_TIMEOUT: '60',
    },
  });
  try {
    // Round 1: three idle sockets fill the cap and are closed together by the server's idle timeout.
    let socks = await Promise.all([0, 1, 2].map(() => idleSocket(srv.port)));
    await within(Promise.all(socks.map((s) => s.gone)), 10000, 'idle sockets closed by the server');
    assert.ok(socks.every((s) => s.closedByServer));
    await assertServed(srv.port, 'a request after the idle sockets timed out');
    // Rounds 2 and 3: the clients close them, all at once.
    for (let round = 2; round <= 3; round++) {
      socks = await Promise.all([0, 1, 2].map(() => idleSocket(srv.port)));
      await sleep(100); // let the server take them in
      for (const s of socks) s.destroy();
      await assertServed(srv.port, `a request after the clients closed their idle sockets (round ${round})`);
    }
  } finally {
    await srv.stop();
  }
});

test('1,000 idle sockets at the default connection cap do not take the server down for good', async () => {
  const srv = await startHttp({ bin: serverBin, env: { SANZARU_HTTP_CONNECTION_TIMEOUT: '2' } });
  const idle = [];
  try {
    for (let i = 0; i < 1000; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: 100 }, () => idleSocket(srv.port)))));
    }
    await within(Promise.all(idle.map((s) => s.gone)), 20000, 'idle sockets closed by the server');
    await assertServed(srv.port, 'a request after 1,000 idle sockets timed out');
  } finally {
    for (const s of idle) s.destroy();
    await srv.stop();
  }
});

test('1,000 idle sockets at the default caps do not lock a client out, nor take the server down', async (t) => {
  const srv = await startHttp({ bin: serverBin });
  const idle = [];
  try {
    for (let i = 0; i < 1000; i += 100) {
      idle.push(...(await Promise.all(Array.from({ length: 100 }, () => idleSocket(srv.port)))));
    }
    // With all of them open, a real client is served at once: idle sockets make room.
    const t0 = Date.now();
    const session = await within(openSession(srv.url), 5000, 'initialize behind 1,000 idle sockets');
    const r = await within(post(srv.url, PING, { session, version: V }), 5000, 'ping behind 1,000 idle sockets');
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).result, {});
    const servedMs = Date.now() - t0;
    // One address holds at most SANZARU_HTTP_MAX_CLIENT_CONNECTIONS (256) of them; the rest were closed.
    const deadline = Date.now() + 10000;
    while (idle.filter((s) => s.closedByServer).length < 1000 - 256 && Date.now() < deadline) await sleep(50);
    const closed = idle.filter((s) => s.closedByServer).length;
    assert.ok(closed >= 1000 - 256, `only ${closed} idle sockets were closed`);
    t.diagnostic(`served in ${servedMs} ms with 1,000 idle sockets opened; ${closed} closed by the server`);
    for (const s of idle) s.destroy();
    await assertServed(srv.port, 'a request after the idle sockets left');
  } finally {
    for (const s of idle) s.destroy();
    await srv.stop();
  }
});

test('slowloris: request headers must arrive within SANZARU_HTTP_HEADER_TIMEOUT, also between kept-alive requests', async () => {
  const srv = await startHttp({
    bin: serverBin,
    env: { SANZARU_HTTP_HEADER_TIMEOUT: '1', SANZARU_HTTP_REQUEST_TIMEOUT: '60', SANZARU_HTTP_CONNECTION_TIMEOUT: '60' },
  });
  try {
    // A byte every 100 ms beats the idle timeout but not the header deadline.
    const text = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'z'.repeat(300)}`;
    const cut = await within(
      new Promise((resolve) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        let i = 0;
        let got = '';
        const timer = setInterval(() => {
          if (i < text.length) sock.write(text[i++]);
        }, 100);
        sock.on('data', (d) => (got += d));
        sock.on('close', () => {
          clearInterval(timer);
          resolve({ sent: i, got });
        });
        sock.on('error', () => {});
      }),
      15000,
      'a trickling client cut by the header deadline',
    );
    assert.ok(cut.sent < text.length, `cut after ${cut.sent} of ${text.length} bytes`);
    assert.equal(cut.got, '', 'nothing is answered to a request whose headers never came');
    // A kept-alive connection that sends no next request is closed by the same deadline.
    const kept = await within(
      new Promise((resolve) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        let got = '';
        sock.on('data', (d) => (got += d));
        sock.on('close', () => resolve(got));
        sock.on('error', () => {});
        sock.write(pingText(srv.port).replace('Connection: close', 'Connection: keep-alive'));
      }),
      15000,
      'an idle kept-alive connection closed by the header deadline',
    );
    assert.match(kept, /^HTTP\/1\.1 400 /); // it was answered, then closed while idle
    await assertServed(srv.port, 'a normal request after the slow ones');
  } finally {
    await srv.stop();
  }
});

test('past SANZARU_HTTP_MAX_CONNECTIONS with every connection busy: a quick 503 with Retry-After, not a wait', async () => {
  const srv = await startHttp({ bin: serverBin, env: { SANZARU_HTTP_MAX_CONNECTIONS: '3' } });
  const streams = [];
  try {
    for (let i = 0; i < 3; i++) streams.push(await openStream(srv.url));
    const answer = await within(rawRequest(srv.port, pingText(srv.port)), 5000, 'a fourth connection');
    assert503(answer, /too many connections \(3\)/);
    // Every stream is still live, and once one ends the next client is served.
    streams.pop().g.destroy();
    const deadline = Date.now() + 5000;
    for (;;) {
      const a = await rawRequest(srv.port, pingText(srv.port));
      if (/^HTTP\/1\.1 400 /.test(a)) break;
      assert503(a, /too many connections/); // the server may not have seen the hang-up yet
      assert.ok(Date.now() < deadline, 'not served after a stream ended');
      await sleep(50);
    }
  } finally {
    for (const s of streams) s.g.destroy();
    await srv.stop();
  }
});

test('SANZARU_HTTP_MAX_CLIENT_CONNECTIONS: one address cannot take every slot; its idle sockets make room for it', async () => {
  const srv = await startHttp({
    bin: serverBin,
    env: { SANZARU_HTTP_MAX_CONNECTIONS: '10', SANZARU_HTTP_MAX_CLIENT_CONNECTIONS: '2' },
  });
  const streams = [];
  const idle = [];
  try {
    // 127.0.0.1 holds two busy connections: a third from it is refused, others are served.
    for (let i = 0; i < 2; i++) streams.push(await openStream(srv.url));
    assert503(await within(rawRequest(srv.port, pingText(srv.port)), 5000, 'a third connection'), /from your address \(2\)/);
    await assertServed(srv.port, 'a client from another address', '127.0.0.2');
    // 127.0.0.3 holds two idle sockets: its next connection closes the older one and is served.
    idle.push(await idleSocket(srv.port, '127.0.0.3'));
    await sleep(50);
    idle.push(await idleSocket(srv.port, '127.0.0.3'));
    await sleep(50);
    await assertServed(srv.port, 'a client whose address holds two idle sockets', '127.0.0.3');
    await within(idle[0].gone, 5000, 'the older idle socket closed');
    assert.equal(idle[0].closedByServer, true);
    assert.equal(idle[1].closedByServer, false, 'the newer idle socket stays');
  } finally {
    for (const s of streams) s.g.destroy();
    for (const s of idle) s.destroy();
    await srv.stop();
  }
});

test('a full session table closes its least recently used idle session for a new one; 503 only when all are busy', async () => {
  const srv = await startHttp({ bin: testServerBin, env: { SANZARU_HTTP_MAX_SESSIONS: '3' } });
  const streams = [];
  try {
    const a = await openSession(srv.url);
    const b = await openSession(srv.url);
    const c = await openSession(srv.url);
    const ping = async (s) => {
      const r = await post(srv.url, PING, { session: s, version: V });
      await r.text();
      return r.status;
    };
    assert.equal(await ping(a), 200); // a is now the most recently used; b the least
    const d = await openSession(srv.url); // the table is full: b makes room
    assert.match(d, /^[0-9a-f]{32}$/);
    assert.equal(await ping(b), 404, 'the least recently used idle session was closed');
    for (const s of [a, c, d]) assert.equal(await ping(s), 200);

    // Busy sessions are kept: c has a call in flight (its connection dropped), a and d live GET streams.
    const call = await post(
      srv.url,
      { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'sleepy', arguments: { ms: 60000, steps: 600 } } },
      { session: c, version: V },
    );
    assert.equal(call.status, 200);
    call.destroy(); // a client that disconnects does not cancel its call
    for (const s of [a, d]) {
      const g = await request(srv.url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': s } });
      assert.equal(g.status, 200);
      await g.nextEvent();
      streams.push(g);
    }
    const full = await post(srv.url, INIT);
    assert.equal(full.status, 503);
    assert.ok(full.headers['retry-after']);
    assert.match((await full.json()).error.message, /too many sessions \(3\), all of them busy/);
    for (const s of [a, c, d]) assert.equal(await ping(s), 200, 'no busy session was closed');
    // A stream that ends makes its session idle again, and so a candidate.
    streams.shift().destroy();
    const deadline = Date.now() + 5000;
    let again;
    for (;;) {
      again = await post(srv.url, INIT);
      if (again.status === 200) break;
      await again.text();
      assert.ok(Date.now() < deadline, 'no room after a stream ended');
      await sleep(50);
    }
    await again.text();
    assert.equal(await ping(a), 404, 'the session whose stream ended made room');
    assert.equal(await ping(c), 200);
  } finally {
    for (const g of streams) g.destroy();
    await srv.stop();
  }
});
