// The MCP Inspector's command-line mode (what people run to poke at a server)
// talks to the real binary: it lists the tools and calls a local one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot, serverBin, tempMedia } from './lib.mjs';

const inspector = path.join(repoRoot, 'tests', 'node_modules', '.bin', 'mcp-inspector');

function run(media, ...args) {
  const r = spawnSync(inspector, ['--cli', serverBin, '-e', `SANZARU_MEDIA_PATH=${media}`, '-e', 'LOG_LEVEL=ERROR', ...args], {
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('npx @modelcontextprotocol/inspector --cli build/sanzaru --method tools/list', () => {
  const m = tempMedia();
  try {
    const { tools } = run(m.dir, '--method', 'tools/list');
    assert.equal(tools.length, 22); // the fourteen of TOOLS.md and the eight of AUDIO.md
    assert.ok(tools.some((t) => t.name === 'create_video'));
    const r = run(m.dir, '--method', 'tools/call', '--tool-name', 'list_local_videos');
    assert.deepEqual(r.structuredContent, { data: [] });
  } finally {
    m.cleanup();
  }
});
