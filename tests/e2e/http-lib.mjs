// Helpers for the Streamable HTTP end-to-end suites: spawn a server on a free loopback
// port (it logs "http: listening on URL"), connect the official SDK client to it, and make
// curl-level requests with node:http, which (unlike fetch) lets a test set any header,
// Host included, and read an SSE body event by event.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverBin, serverEnv, tempMedia, testServerBin } from './lib.mjs';

export { serverBin, testServerBin };
/** The conformance fixture server sits next to the test server. */
export const fixtureBin =
  process.env.SANZARU_CONFORMANCE_BIN || path.join(path.dirname(testServerBin), 'sanzaru-conformance');

export const ACCEPT_BOTH = 'application/json, text/event-stream';

/**
 * Starts bin as an HTTP server on 127.0.0.1 with a free port and resolves once it listens.
 * args replace the default `--transport http --host 127.0.0.1 --port 0` when given as
 * `{ args }`; extra are appended.
 */
export async function startHttp({ bin = serverBin, extra = [], env = {}, args } = {}) {
  const media = tempMedia();
  const argv =
    args ??
    (bin === fixtureBin
      ? ['--host', '127.0.0.1', '--port', '0', ...extra]
      : ['--transport', 'http', '--host', '127.0.0.1', '--port', '0', ...extra]);
  const child = spawn(bin, argv, {
    env: serverEnv({ LOG_LEVEL: 'INFO', SANZARU_MEDIA_PATH: media.dir, ...env }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr:\n${stderr}`)), 10000);
    child.stderr.on('data', (d) => {
      stderr += d.toString();
      const m = /http: listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then((st) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${JSON.stringify(st)}) before listening; stderr:\n${stderr}`));
    });
  });
  const u = new URL(url);
  return {
    url,
    port: Number(u.port),
    child,
    exited,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const st = await exited;
      media.cleanup();
      // Under ASan/UBSan a memory error or leak anywhere in the run fails the test.
      if (/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(stderr))
        throw new Error(`sanitizer report from ${path.basename(bin)}:\n${stderr}`);
      return st;
    },
  };
}

/**
 * Connects the SDK client. Every POST is recorded in `posts` when sent, with its JSON-RPC
 * method; `ready` resolves once the response headers are in and `status` and `contentType`
 * are set; for SSE, `text` grows as the body arrives and `done` resolves with all of it.
 */
export async function connectHttp(url, { capabilities = {}, headers } = {}) {
  const posts = [];
  const recordingFetch = (input, init) => {
    if (init?.method !== 'POST') return fetch(input, init);
    let method;
    try {
      method = JSON.parse(init.body).method;
    } catch {
      method = undefined;
    }
    // Recorded when sent, so a test sees every POST even before its answer arrives.
    const entry = { method };
    posts.push(entry);
    entry.ready = fetch(input, init).then((res) => {
      entry.status = res.status;
      entry.contentType = res.headers.get('content-type');
      if (entry.contentType?.startsWith('text/event-stream')) {
        const copy = res.clone();
        entry.text = '';
        entry.done = (async () => {
          const dec = new TextDecoder();
          try {
            for await (const chunk of copy.body) entry.text += dec.decode(chunk, { stream: true });
          } catch {
            // the client aborted the stream
          }
          return entry.text;
        })();
      }
      return res;
    });
    return entry.ready;
  };
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: recordingFetch,
    requestInit: headers ? { headers } : undefined,
  });
  const client = new Client({ name: 'sanzaru-e2e-http', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return { client, transport, posts, close: () => client.close() };
}

/**
 * One HTTP request with full control of the headers. Resolves when the response headers
 * arrive, with { status, headers, res }; call text() for the whole body or events() to
 * read SSE events one at a time.
 */
export function request(url, { method = 'POST', headers = {}, body, agent = false } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method, headers, agent },
      (res) => {
        res.setEncoding('utf8');
        resolve(wrap(req, res));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.end(typeof body === 'string' ? body : JSON.stringify(body));
    else req.end();
  });
}

function wrap(req, res) {
  let buf = '';
  let ended = false;
  const waiters = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  res.on('data', (d) => {
    buf += d;
    wake();
  });
  res.on('end', () => {
    ended = true;
    wake();
  });
  res.on('error', () => {
    ended = true;
    wake();
  });
  res.on('close', () => {
    ended = true;
    wake();
  });
  const waitMore = () => new Promise((r) => waiters.push(r));
  return {
    status: res.statusCode,
    headers: res.headers,
    res,
    /** The whole body as text. */
    async text() {
      while (!ended) await waitMore();
      return buf;
    },
    async json() {
      return JSON.parse(await this.text());
    },
    /** Next SSE event as { id, event, data, retry } (data parsed when JSON), or null at end. */
    async nextEvent(timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.split('\n').every((l) => l.startsWith(':'))) continue; // keepalive comment
          const ev = {};
          for (const line of block.split('\n')) {
            const c = line.indexOf(':');
            const k = line.slice(0, c);
            const v = line.slice(c + 1).replace(/^ /, '');
            if (k === 'data') ev.data = ev.data === undefined ? v : ev.data + '\n' + v;
            else if (k) ev[k] = v;
          }
          if (ev.data) {
            try {
              ev.data = JSON.parse(ev.data);
            } catch {
              // leave it as text
            }
          }
          return ev;
        }
        if (ended) return null;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no SSE event within ${timeoutMs} ms; have: ${JSON.stringify(buf)}`);
        await Promise.race([waitMore(), new Promise((r) => setTimeout(r, left))]);
      }
    },
    /** Drops the connection from the client side. */
    destroy() {
      req.destroy();
      res.destroy();
    },
    get ended() {
      return ended;
    },
  };
}

/** POSTs one JSON-RPC message with the usual headers (override any in headers). */
export function post(url, body, { session, headers = {}, version } = {}) {
  const h = { 'content-type': 'application/json', accept: ACCEPT_BOTH, ...headers };
  if (session) h['mcp-session-id'] = session;
  if (version) h['mcp-protocol-version'] = version;
  return request(url, { method: 'POST', headers: h, body });
}

/** initialize + notifications/initialized; resolves with the session id (or null). */
export async function openSession(url, { headers = {} } = {}) {
  const r = await post(
    url,
    {
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    },
    { headers },
  );
  if (r.status !== 200) throw new Error(`initialize: HTTP ${r.status}: ${await r.text()}`);
  await r.text();
  const session = r.headers['mcp-session-id'] ?? null;
  const n = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { session, headers, version: '2025-11-25' });
  await n.text();
  if (n.status !== 202) throw new Error(`initialized: HTTP ${n.status}`);
  return session;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
