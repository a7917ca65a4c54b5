// The CLI on a terminal: a live progress bar on stderr (percent, bytes, rate, ETA) and
// readable lines on stdout, checked under a pseudo-terminal made by script(1) (util-linux,
// Debian's bsdutils). --json keeps envelopes on a terminal; --quiet drops the bar.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { checkEnvelope, shq, withFake } from './cli-lib.mjs';
import { serverBin, serverEnv } from './lib.mjs';

/** Runs the CLI with stdin, stdout and stderr on one pseudo-terminal; resolves {code, out}. */
function runTty(ctx, args) {
  const cmd = [serverBin, ...args].map(shq).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
    env: serverEnv({ ...ctx.env, SHELL: '/bin/sh', TERM: 'xterm' }),
    cwd: ctx.media.dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no end under script:\n${out}`));
    }, 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      assert.doesNotMatch(out, /Sanitizer|runtime error:/, out);
      resolve({ code, out });
    });
  });
}

/** The text as a terminal would end up showing it: \r\x1b[K clears the line. */
const screenLines = (out) =>
  out
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.split('\r\x1b[K').at(-1).replace(/\r/g, ''));

test('a terminal gets a live bar (percent, bytes, rate, ETA) and readable lines', async () => {
  await withFake(async (ctx) => {
    // A pause mid-body, so the bar is drawn while bytes are still missing.
    ctx.fake.faults.add({ path: 'videos/*/content', stall_ms: 300, stall_after_bytes: 1 << 20 });
    const { code, out } = await runTty(ctx, ['video', 'create', 'a cat', '-o', 'clip.mp4']);
    assert.equal(code, 0, out);
    const frames = out.split('\r\x1b[K').slice(1);
    // Waiting: the job's status and percent, redrawn in place.
    assert.ok(frames.some((f) => /^video_\w+ in_progress \[#{6}-{14}\]  33%  \d+:\d\d/.test(f)), out);
    assert.ok(frames.some((f) => /^video_\w+ completed \[#{20}\] 100%/.test(f)), out);
    // Downloading: percent, bytes of the total, rate and time left.
    const partial = frames.find((f) => / download \[[#-]{20}\] +\d+%  [\d.]+ (KiB|MiB) \/ 7\.3 MiB  [\d.]+ \w?i?B\/s  ETA \d+:\d\d/.test(f));
    assert.ok(partial, `a partial download frame:\n${JSON.stringify(frames)}`);
    assert.ok(frames.some((f) => / download \[#{20}\] 100%  7\.3 MiB \/ 7\.3 MiB/.test(f)), out);
    // The result as readable lines, after the bar's line was cleared.
    const lines = screenLines(out);
    const head = lines.findIndex((l) => /^video\.create video_\w+: ok$/.test(l));
    assert.ok(head >= 0, out);
    assert.ok(lines.includes('  status: completed'), out);
    assert.ok(lines.includes(`  download.path: ${path.join(ctx.media.dir, 'clip.mp4')}`), out);
    assert.ok(fs.existsSync(path.join(ctx.media.dir, 'clip.mp4')));
  });
});

test('on a terminal, --json still writes envelopes, --quiet draws no bar, errors read as a line', async () => {
  await withFake(async (ctx) => {
    let r = await runTty(ctx, ['video', 'create', 'a cat', '--json', '--quiet']);
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.out, /\x1b\[K/);
    const env = checkEnvelope(JSON.parse(r.out.trim()));
    assert.equal(env.result.status, 'queued');

    r = await runTty(ctx, ['video', 'create', 'a cat', '--seconds', '5']);
    assert.equal(r.code, 2);
    assert.equal(r.out.trim(), 'video.create: usage: --seconds must be one of "4", "8", "12", not "5"');

    r = await runTty(ctx, ['video', 'list']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^video\.list: ok\r?\n  data:\r?\n    - id: video_\w+, status: queued/m);
  });
});
