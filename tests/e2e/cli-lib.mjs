// Shared helpers for the CLI suites (cli*.test.mjs): run `sanzaru COMMAND ...` against
// the in-process fake OpenAI server and a fresh media root, and check everything it
// writes: every stdout line against the envelope schema of docs/cli-envelope.schema.json,
// every JSON progress line on stderr against the same file's progress schema, and no
// sanitizer report.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { startFakeOpenAI } from '../fake-openai/server.mjs';
import { repoRoot, serverBin, serverEnv, tempMedia } from './lib.mjs';

const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'cli-envelope.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addSchema(schema);
export const validateEnvelope = ajv.getSchema(schema.$id);
export const validateProgress = ajv.compile({ $ref: `${schema.$id}#/$defs/progress` });

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

export function checkEnvelope(env) {
  assert.ok(validateEnvelope(env), `envelope breaks the schema: ${ajv.errorsText(validateEnvelope.errors)}\n${JSON.stringify(env)}`);
  return env;
}

/** Splits what a run wrote: envelopes from stdout, progress lines and the rest from stderr. */
export function parseOutput(stdout, stderr, raw = false) {
  const envelopes = (raw ? '' : stdout)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => checkEnvelope(JSON.parse(l)));
  const progress = [];
  const other = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith('{"v":1,"event":"progress"')) {
      const p = JSON.parse(line);
      assert.ok(validateProgress(p), `progress line breaks the schema: ${ajv.errorsText(validateProgress.errors)}\n${line}`);
      progress.push(p);
    } else if (line.trim() !== '') {
      other.push(line);
    }
  }
  return { envelopes, progress, other };
}

/**
 * Spawns the CLI; resolves {code, signal, stdout, stderr, envelopes, progress, other}.
 * opts.env is merged over ctx.env (a key set to undefined is removed); opts.onStderr(text,
 * child) sees stderr as it arrives (to interrupt at the right moment); opts.raw: stdout is
 * text (help), not envelopes.
 */
export function run(ctx, args, opts = {}) {
  const env = { ...(ctx?.env || {}), ...(opts.env || {}) };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(opts.bin || serverBin, args, {
    env: serverEnv(env),
    cwd: opts.cwd || ctx?.media?.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d.toString()));
  child.stderr.on('data', (d) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sanzaru ${args.join(' ')} did not end in time\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs || 60000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained.
      const done = () => {
        assert.doesNotMatch(stderr, SANITIZER, `sanitizer report:\n${stderr.slice(-6000)}`);
        try {
          resolve({ code, signal, stdout, stderr, ...parseOutput(stdout, stderr, opts.raw) });
        } catch (e) {
          e.message += `\nstdout:\n${stdout}\nstderr:\n${stderr}`;
          reject(e);
        }
      };
      if (child.stdout.readableEnded && child.stderr.readableEnded) done();
      else {
        let left = 2;
        const one = () => --left === 0 && done();
        for (const s of [child.stdout, child.stderr]) {
          if (s.readableEnded) one();
          else s.on('close', one);
        }
      }
    });
  });
}

/** Runs args and expects exit status code and one envelope; returns that envelope. */
export async function runOne(ctx, args, code = 0, opts = {}) {
  const r = await run(ctx, args, opts);
  assert.equal(r.code, code, `sanzaru ${args.join(' ')} exited ${r.code}, not ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.envelopes.length, 1, `one envelope expected:\n${r.stdout}`);
  return { ...r, env: r.envelopes[0] };
}

/**
 * Runs fn(ctx) with a fresh fake OpenAI server and media root: ctx {fake, media, videos,
 * images, env}. Polling is quick (SANZARU_CLI_POLL_MS) and retries few.
 */
export async function withFake(fn, opts = {}) {
  const fake = await startFakeOpenAI(opts.fake || {});
  const media = tempMedia();
  const videos = path.join(media.dir, 'videos');
  const images = path.join(media.dir, 'images');
  fs.mkdirSync(videos, { recursive: true });
  fs.mkdirSync(images, { recursive: true });
  const env = {
    SANZARU_MEDIA_PATH: media.dir,
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'sk-test',
    SANZARU_MAX_RETRIES: '0',
    SANZARU_CLI_POLL_MS: '20,80',
    ...(opts.env || {}),
  };
  try {
    await fn({ fake, media, videos, images, env });
  } finally {
    await fake.close();
    media.cleanup();
  }
}

/** Every name in dir, hidden ones (temporaries) included. */
export const listDir = (dir) => fs.readdirSync(dir).sort();

/** A shell word (for script -c). */
export const shq = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
