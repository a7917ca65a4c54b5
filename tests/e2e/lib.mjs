// Shared helpers for the end-to-end suites: where the binaries are, a client
// from the official MCP SDK over stdio, and a raw line-level driver for the
// protocol cases the SDK would never send (malformed JSON, batches, ...).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBin = process.env.SANZARU_BIN || path.join(repoRoot, 'build', 'sanzaru');
export const testServerBin =
  process.env.SANZARU_TESTSERVER_BIN || path.join(repoRoot, 'build', 'tests', 'sanzaru-testserver');

/** A fresh media root; removed by the returned cleanup. */
export function tempMedia() {
  const dir = mkdtempSync(path.join(tmpdir(), 'sanzaru-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Environment for a server under test: no real key or endpoint leaks in. */
export function serverEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'WARNING' };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
    if (process.env[k]) env[k] = process.env[k];
  }
  return { ...env, ...extra };
}

/** Connects the official SDK client to a spawned server over stdio. */
export async function connect({ bin = serverBin, args = [], env = {}, capabilities = {} } = {}) {
  const transport = new StdioClientTransport({
    command: bin,
    args,
    env: serverEnv(env),
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => {
    stderr += d.toString();
  });
  const client = new Client({ name: 'sanzaru-e2e', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  return {
    client,
    transport,
    stderr: () => stderr,
    close: async () => {
      await client.close();
    },
  };
}

/** Spawns a server and exchanges raw lines with it. */
export function rawServer({ bin = testServerBin, args = [], env = {} } = {}) {
  const child = spawn(bin, args, { env: serverEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) w();
    }
  });
  child.stderr.on('data', (d) => {
    stderr += d.toString();
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    stderr: () => stderr,
    send(text) {
      child.stdin.write(text.endsWith('\n') ? text : text + '\n');
    },
    sendJson(obj) {
      child.stdin.write(JSON.stringify(obj) + '\n');
    },
    /** Resolves with the next parsed message matching pred (default: any). */
    async next(pred = () => true, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const idx = lines.findIndex((l) => pred(JSON.parse(l)));
        if (idx >= 0) return JSON.parse(lines.splice(idx, 1)[0]);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; stderr:\n${stderr}`);
        await new Promise((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    pending: () => lines.map((l) => JSON.parse(l)),
    async initialize(version = '2025-11-25') {
      this.sendJson({
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      });
      const reply = await this.next((m) => m.id === 'init');
      this.sendJson({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return reply;
    },
  };
}
