// Documentation is part of the feature: docs/tools.md's reference section must
// be exactly what the server's initialize (instructions) and tools/list render to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, serverBin } from './lib.mjs';

const { describe, render, splice } = await import(path.join(repoRoot, 'scripts', 'gen-tools-doc.mjs'));

test('docs/tools.md matches initialize and tools/list (run node scripts/gen-tools-doc.mjs when it does not)', async () => {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'tools.md'), 'utf8');
  const server = await describe(serverBin);
  assert.equal(server.tools.length, 22, 'the fourteen tools of TOOLS.md and the eight of AUDIO.md');
  assert.ok(server.instructions.length > 0, 'the server sends instructions');
  assert.equal(splice(doc, render(server)), doc);
});
