#!/usr/bin/env node
// Regenerates the reference part of docs/tools.md from the server's own
// initialize and tools/list, so the documented instructions, names, parameters,
// defaults, enums and annotations can never drift from the code. The
// hand-written parts of the file (outside the GENERATED markers) are kept.
// `--check` compares instead of writing and exits 1 when the file is stale.
//   node scripts/gen-tools-doc.mjs [--check] [path/to/sanzaru]
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const bin = args.find((a) => !a.startsWith('--')) || process.env.SANZARU_BIN || path.join(root, 'build', 'sanzaru');
const docPath = path.join(root, 'docs', 'tools.md');
const BEGIN = '<!-- BEGIN GENERATED: node scripts/gen-tools-doc.mjs -->';
const END = '<!-- END GENERATED -->';

/** The server's instructions and tools, as initialize and tools/list give them. */
export async function describe(binary) {
  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'ignore'], env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'ERROR' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'doc', version: '1' } } }) + '\n');
  child.stdin.end(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) + '\n');
  await new Promise((resolve) => child.on('exit', resolve));
  const replies = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const init = replies.find((m) => m.id === 1);
  const list = replies.find((m) => m.id === 2);
  return { instructions: init.result.instructions, tools: list.result.tools };
}

/** The tools alone. */
export async function listTools(binary) {
  return (await describe(binary)).tools;
}

/** A property's schema without its null branch: optional parameters are
 * {anyOf: [T, {type: "null"}]} (see docs/tools.md, Conventions). */
function valueSchema(s) {
  if (Array.isArray(s.anyOf)) {
    const rest = s.anyOf.filter((b) => b.type !== 'null');
    if (rest.length === 1) return rest[0];
  }
  return s;
}

function typeOf(s) {
  s = valueSchema(s);
  if (s.enum) return s.enum.map((v) => '`' + JSON.stringify(v) + '`').join(' | ');
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  return s.type || 'any';
}

function hints(a) {
  const out = [];
  if (a.readOnlyHint) out.push('read-only');
  else {
    out.push(a.destructiveHint ? 'destructive' : 'writes');
    if (a.idempotentHint) out.push('idempotent');
  }
  out.push(a.openWorldHint ? 'open world' : 'closed world');
  return out.join(', ');
}

function cell(text) {
  return String(text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function render({ instructions, tools }) {
  const lines = [BEGIN, '', '### Server instructions', '', 'What `initialize` tells the client (and the model) before any tool:', ''];
  for (const para of instructions.split('\n\n')) lines.push('> ' + para, '>');
  lines.pop();
  lines.push('');
  for (const t of tools) {
    const s = t.inputSchema;
    const required = new Set(s.required || []);
    const task = t.execution?.taskSupport ? ` Runs as an MCP task: ${t.execution.taskSupport} ([tasks.md](tasks.md)).` : '';
    lines.push(`### \`${t.name}\` — ${t.title}`, '', t.description, '', `Annotations: ${hints(t.annotations)}.${task}`, '');
    lines.push('| parameter | type | default | description |', '|---|---|---|---|');
    for (const [name, p] of Object.entries(s.properties || {})) {
      const def = required.has(name) ? '**required**' : p.default !== undefined ? '`' + JSON.stringify(p.default) + '`' : '—';
      lines.push(`| \`${name}\` | ${cell(typeOf(p))} | ${def} | ${cell(p.description)} |`);
    }
    const out = t.outputSchema?.properties ? Object.keys(t.outputSchema.properties) : [];
    lines.push('', `Result fields: ${out.map((k) => '`' + k + '`').join(', ') || '(none declared)'}.`, '');
  }
  lines.push(END);
  return lines.join('\n');
}

export function splice(doc, generated) {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) throw new Error('docs/tools.md lacks the GENERATED markers');
  return doc.slice(0, a) + generated + doc.slice(b + END.length);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('gen-tools-doc.mjs')) {
  const server = await describe(bin);
  const doc = readFileSync(docPath, 'utf8');
  const next = splice(doc, render(server));
  if (check) {
    if (next !== doc) {
      console.error('docs/tools.md is stale: run node scripts/gen-tools-doc.mjs');
      process.exit(1);
    }
    console.log('docs/tools.md matches initialize and tools/list');
  } else {
    writeFileSync(docPath, next);
    console.log(`wrote ${docPath} (${server.tools.length} tools)`);
  }
}
