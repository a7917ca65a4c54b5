// The HTTP door under attack (issue 10), with raw sockets against the real binary: the
// door stays open after the connection cap was reached. Small caps and short deadlines
// come from settings; the tests assert outcomes, and a wait that takes too long fails (it
// means the server stopped serving).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { serverBin, sleep, startHttp } from './http-lib.mjs';

const PING = { jsonrpc: '2.0', id: 1, method: 'ping' };

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
