// Documentation is part of the feature: docs/tools.md's reference section must
// be exactly what the server's tools/list renders to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, serverBin } from './lib.mjs';

const { listTools, render, splice } = await import(path.join(repoRoot, 'scripts', 'gen-tools-doc.mjs'));

test('docs/tools.md matches tools/list (run node scripts/gen-tools-doc.mjs when it does not)', async () => {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'tools.md'), 'utf8');
  const tools = await listTools(serverBin);
  assert.equal(tools.length, 14, 'the fourteen tools of TOOLS.md');
  assert.equal(splice(doc, render(tools)), doc);
});
