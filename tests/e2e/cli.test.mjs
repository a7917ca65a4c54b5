// The agent CLI (`sanzaru video create ... --wait -o clip.mp4`) against the fake OpenAI
// server: every command, every exit status, the envelope and progress lines checked
// against docs/cli-envelope.schema.json (cli-lib.mjs checks every line of every run),
// waiting and downloading, batches, and help generated from the tools' schemas.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodePng } from '../fake-openai/media.mjs';
import { listDir, run, runOne, withFake } from './cli-lib.mjs';
import { connect, serverEnv, tempMedia } from './lib.mjs';

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

test('video create, status, list, files, delete: one call each, the tool result as the envelope', async () => {
  await withFake(async (ctx) => {
    const created = (await runOne(ctx, ['video', 'create', 'a cat on a skateboard', '--seconds', '4', '--size', '1280x720'])).env;
    assert.equal(created.ok, true);
    assert.equal(created.command, 'video.create');
    assert.equal(created.result.status, 'queued');
    assert.equal(created.result.seconds, '4');
    assert.equal(created.result.size, '1280x720');
    assert.equal(created.id, undefined, 'no job followed, no id member');
    const id = created.result.id;
    // What went upstream is what the flags said.
    const post = ctx.fake.requestsMatching({ method: 'POST', path: '/v1/videos' });
    assert.equal(post.length, 1);

    const status = (await runOne(ctx, ['video', 'status', id])).env;
    assert.equal(status.command, 'video.status');
    assert.equal(status.result.id, id);

    const list = (await runOne(ctx, ['video', 'list', '--limit', '5', '--order', 'asc'])).env;
    assert.deepEqual(list.result.data.map((v) => v.id), [id]);
    const get = ctx.fake.requestsMatching({ method: 'GET', path: '/v1/videos' }).at(-1);
    assert.equal(get.query.limit, '5');
    assert.equal(get.query.order, 'asc');

    fs.writeFileSync(path.join(ctx.videos, 'old.mp4'), 'x');
    const files = (await runOne(ctx, ['video', 'files', '--file-type', 'mp4'])).env;
    assert.deepEqual(files.result.data.map((f) => f.filename), ['old.mp4']);

    const deleted = (await runOne(ctx, ['video', 'delete', id])).env;
    assert.equal(deleted.result.deleted, true);
    const gone = (await runOne(ctx, ['video', 'status', id], 1)).env;
    assert.equal(gone.error.type, 'runtime');
    assert.match(gone.error.message, /404/);
  });
});

test('video create --wait -o FILE: polls until completed, saves FILE through download_video, exit 0', async () => {
  await withFake(async (ctx) => {
    const out = path.join(ctx.media.dir, 'out');
    fs.mkdirSync(out);
    const r = await runOne(ctx, ['video', 'create', 'a dog', '--seconds', '8', '-o', 'out/clip.mp4']);
    const { env } = r;
    assert.equal(env.ok, true);
    assert.match(env.id, /^video_/);
    assert.equal(env.result.status, 'completed');
    assert.equal(env.result.download.filename, 'clip.mp4');
    assert.equal(env.result.download.path, path.join(out, 'clip.mp4'));
    const bytes = fs.readFileSync(path.join(out, 'clip.mp4'));
    assert.equal(sha256(bytes), ctx.fake.assets.video.sha256);
    assert.equal(env.result.download.sha256, ctx.fake.assets.video.sha256);
    assert.deepEqual(listDir(out), ['clip.mp4'], 'nothing else, no temporary');
    assert.deepEqual(listDir(ctx.videos), [], 'the -o directory stood in for the video directory');
    // Polled until completed (1 queued + 2 in progress + completed), then downloaded once.
    const polls = ctx.fake.requestsMatching({ method: 'GET', path: `/v1/videos/${env.id}` });
    assert.equal(polls.length, 4);
    assert.equal(ctx.fake.requestsMatching({ method: 'GET', path: `/v1/videos/${env.id}/content` }).length, 1);
    // Progress on stderr without a terminal: one JSON line per update, waiting then bytes.
    const waits = r.progress.filter((p) => p.phase === 'wait');
    assert.deepEqual([...new Set(waits.map((p) => p.status))], ['queued', 'in_progress', 'completed']);
    assert.ok(waits.some((p) => p.percent === 33), JSON.stringify(waits));
    const dl = r.progress.filter((p) => p.phase === 'download');
    assert.ok(dl.length >= 1);
    assert.equal(dl.at(-1).bytes, ctx.fake.assets.video.length);
    assert.equal(dl.at(-1).total, ctx.fake.assets.video.length);
    assert.equal(dl.at(-1).percent, 100);
    assert.deepEqual(r.other, [], 'nothing else on stderr');
  });
});

test('--download saves under the default name in the video directory; --quiet writes nothing to stderr', async () => {
  await withFake(async (ctx) => {
    const r = await runOne(ctx, ['video', 'create', 'a dog', '--download', '--variant', 'thumbnail', '--quiet']);
    assert.equal(r.stderr, '');
    const name = `${r.env.id}.webp`;
    assert.equal(r.env.result.download.filename, name);
    assert.equal(r.env.result.download.variant, 'thumbnail');
    assert.equal(r.env.result.download.path, path.join(ctx.videos, name));
    assert.deepEqual(listDir(ctx.videos), [name]);
  });
});

test('a download flag implies --download, which implies --wait', async () => {
  await withFake(async (ctx) => {
    const { env } = await runOne(ctx, ['video', 'create', 'a dog', '--filename', 'x.mp4', '-q']);
    assert.equal(env.result.status, 'completed');
    assert.equal(env.result.download.filename, 'x.mp4');
    assert.ok(fs.existsSync(path.join(ctx.videos, 'x.mp4')));
  });
});

test('video download ID -o FILE, video status --wait, video remix --wait --download', async () => {
  await withFake(async (ctx) => {
    const done = ctx.fake.addVideo({ prompt: 'a fox' });
    const dl = (await runOne(ctx, ['video', 'download', done.id, '-o', 'fox.mp4'])).env;
    assert.equal(dl.command, 'video.download');
    assert.equal(dl.result.filename, 'fox.mp4');
    assert.equal(dl.result.path, path.join(ctx.media.dir, 'fox.mp4'), '-o is relative to the working directory');
    assert.equal(sha256(fs.readFileSync(path.join(ctx.media.dir, 'fox.mp4'))), ctx.fake.assets.video.sha256);
    // The file exists: the tool refuses to replace it, unless --overwrite.
    const again = (await runOne(ctx, ['video', 'download', done.id, '-o', 'fox.mp4'], 1)).env;
    assert.match(again.error.message, /File already exists: fox\.mp4/);
    await runOne(ctx, ['video', 'download', done.id, '-o', 'fox.mp4', '--overwrite']);

    const queued = ctx.fake.addVideo({ status: 'queued', prompt: 'a hen' });
    const waited = (await runOne(ctx, ['video', 'status', queued.id, '--wait'])).env;
    assert.equal(waited.id, queued.id);
    assert.equal(waited.result.status, 'completed');

    const remix = (await runOne(ctx, ['video', 'remix', done.id, '--prompt', 'at night', '--download'])).env;
    assert.equal(remix.command, 'video.remix');
    assert.notEqual(remix.id, done.id);
    assert.equal(remix.result.remixed_from_video_id, done.id);
    assert.equal(remix.result.download.filename, `${remix.id}.mp4`);
    assert.ok(fs.existsSync(path.join(ctx.videos, `${remix.id}.mp4`)));

    // download --wait waits for the job first.
    const later = ctx.fake.addVideo({ status: 'queued', prompt: 'an owl' });
    const dw = (await runOne(ctx, ['video', 'download', later.id, '--wait'])).env;
    assert.equal(dw.result.filename, `${later.id}.mp4`);
  });
});

test('image create --wait -o, image status, image download, generate -o, edit -o', async () => {
  await withFake(async (ctx) => {
    const made = (await runOne(ctx, ['image', 'create', 'a red fox', '-o', 'fox.png'])).env;
    assert.equal(made.command, 'image.create');
    assert.match(made.id, /^resp_/);
    assert.equal(made.result.status, 'completed');
    assert.equal(made.result.download.filename, 'fox.png');
    assert.equal(made.result.download.path, path.join(ctx.media.dir, 'fox.png'));
    assert.equal(fs.readFileSync(path.join(ctx.media.dir, 'fox.png')).subarray(1, 4).toString(), 'PNG');

    const st = (await runOne(ctx, ['image', 'status', made.id])).env;
    assert.equal(st.result.status, 'completed');
    const dl = (await runOne(ctx, ['image', 'download', made.id, '--filename', 'again.png'])).env;
    assert.equal(dl.result.filename, 'again.png');
    assert.equal(dl.result.path, path.join(ctx.images, 'again.png'));

    const gen = (await runOne(ctx, ['image', 'generate', 'a blue hat', '--quality', 'low', '-o', 'hat.png'])).env;
    assert.equal(gen.command, 'image.generate');
    assert.equal(gen.result.filename, 'hat.png');
    assert.ok(fs.existsSync(path.join(ctx.media.dir, 'hat.png')));
    const body = ctx.fake.requestsMatching({ method: 'POST', path: '/v1/images/generations' }).at(-1).json;
    assert.equal(body.quality, 'low');

    // edit: input images are names in the image directory, repeated flags make the array.
    fs.writeFileSync(path.join(ctx.images, 'a.png'), encodePng(64, 48));
    fs.writeFileSync(path.join(ctx.images, 'b.png'), encodePng(64, 48));
    const ed = (await runOne(ctx, ['image', 'edit', 'combine them', '--input-images', 'a.png', '--input-images', 'b.png', '--filename', 'ab.png'])).env;
    assert.equal(ed.result.filename, 'ab.png');
    assert.equal(ed.result.path, path.join(ctx.images, 'ab.png'));
    const edits = ctx.fake.requestsMatching({ method: 'POST', path: '/v1/images/edits' });
    assert.equal(edits.length, 1);
  });
});

test('reference list and prepare', async () => {
  await withFake(async (ctx) => {
    fs.writeFileSync(path.join(ctx.images, 'wide.png'), encodePng(320, 200));
    const list = (await runOne(ctx, ['reference', 'list'])).env;
    assert.deepEqual(list.result.data.map((f) => f.filename), ['wide.png']);
    const prep = (await runOne(ctx, ['reference', 'prepare', 'wide.png', '--target-size', '1280x720', '--resize-mode', 'pad'])).env;
    assert.equal(prep.command, 'reference.prepare');
    assert.equal(prep.result.output_filename, 'wide_1280x720.png');
    assert.deepEqual(prep.result.target_size, [1280, 720]);
    assert.equal(prep.result.path, path.join(ctx.images, 'wide_1280x720.png'));
    assert.ok(fs.existsSync(prep.result.path));
  });
});

test('wait ID...: video and image ids at once, one JSON line each, with --download', async () => {
  await withFake(async (ctx) => {
    const v = ctx.fake.addVideo({ status: 'queued', prompt: 'a' });
    const img = (await runOne(ctx, ['image', 'create', 'b'])).env.result.id;
    const r = await run(ctx, ['wait', v.id, img, '--download']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.envelopes.length, 2);
    const byId = Object.fromEntries(r.envelopes.map((e) => [e.id, e]));
    assert.equal(byId[v.id].command, 'wait');
    assert.equal(byId[v.id].index, 0);
    assert.equal(byId[v.id].result.download.filename, `${v.id}.mp4`);
    assert.equal(byId[img].index, 1);
    assert.equal(byId[img].result.status, 'completed');
    assert.match(byId[img].result.download.filename, /^img_\d+\.png$/);
    assert.ok(fs.existsSync(byId[img].result.download.path));
    assert.ok(fs.existsSync(byId[v.id].result.download.path));
  });
});

test('exit 2: usage errors, with the tool table\'s own sentence', async () => {
  await withFake(async (ctx) => {
    const cases = [
      [['video', 'create', 'x', '--seconds', '5'], /^--seconds must be one of "4", "8", "12", not "5"$/],
      [['video', 'create', 'x', '--secnds', '4'], /^unknown argument --secnds; did you mean --seconds\?$/],
      [['video', 'create'], /^--prompt is required$/],
      [['video', 'list', '--limit', 'five'], /^--limit must be an integer, not "five"$/],
      [['video', 'list', '--limit', '0'], /^--limit must be at least 1$/],
      [['video', 'frob'], /unknown command 'video frob': the video commands are create, status/],
      [['video'], /a command is missing after 'video'/],
      [['video', 'list', 'extra'], /unexpected argument 'extra'/],
      [['video', 'list', '--wait'], /do not apply to video\.list/],
      [['video', 'list', '-o', 'x.mp4'], /-o does not apply to video\.list/],
      [['video', 'create', 'a', 'b', '-o', 'x.mp4'], /-o names one file/],
      [['video', 'create', 'a', '--prompt', 'b'], /not both/],
      [['video', 'create', 'a', '--timeout', 'soon', '--wait'], /--timeout must be a number of seconds/],
      [['video', 'create', 'a', '--timeout', '5'], /--timeout applies to --wait/],
      [['video', 'create', 'a', '-o', 'nodir/x.mp4'], /The -o directory does not exist/],
      [['wait'], /wait needs at least one job id/],
      [['wait', 'video_1', '--bogus'], /unknown option '--bogus'/],
    ];
    for (const [args, re] of cases) {
      const { env } = await runOne(ctx, args, 2);
      assert.equal(env.ok, false);
      assert.equal(env.error.type, 'usage', args.join(' '));
      assert.match(env.error.message, re, args.join(' '));
    }
    assert.equal(ctx.fake.requests.length, 0, 'no usage error reached the API');
  });
});

test('exit 3: configuration (no key, a bad variable, a media directory that cannot be opened)', async () => {
  await withFake(async (ctx) => {
    let { env } = await runOne(ctx, ['image', 'generate', 'x'], 3, { env: { OPENAI_API_KEY: undefined } });
    assert.deepEqual(env.error, { type: 'configuration', message: 'OPENAI_API_KEY is not set' });
    ({ env } = await runOne(ctx, ['video', 'create', 'x'], 3, { env: { OPENAI_API_KEY: undefined } }));
    assert.match(env.error.message, /^No video provider is configured: set GEMINI_API_KEY/);
    ({ env } = await runOne(ctx, ['video', 'create', 'x', '--model', 'gemini-omni-1.1-flash'], 3));
    assert.match(env.error.message, /^GEMINI_API_KEY is not set/);
    ({ env } = await runOne(ctx, ['video', 'list'], 3, { env: { SANZARU_FSYNC: 'yes' } }));
    assert.match(env.error.message, /SANZARU_FSYNC/);
    assert.equal(env.command, 'video.list');
    ({ env } = await runOne(ctx, ['video', 'files'], 3, { env: { VIDEO_PATH: path.join(ctx.media.dir, 'missing') } }));
    assert.match(env.error.message, /VIDEO_PATH does not exist/);
    ({ env } = await runOne(ctx, ['wait', 'video_1'], 3, { env: { SANZARU_CLI_POLL_MS: 'fast' } }));
    assert.match(env.error.message, /SANZARU_CLI_POLL_MS/);
  });
});

test('exit 1: the API fails (the tool\'s sentence, with the status)', async () => {
  await withFake(async (ctx) => {
    ctx.fake.faults.add({ path: 'videos', method: 'POST', status: 500, count: -1 });
    const { env } = await runOne(ctx, ['video', 'create', 'x'], 1);
    assert.equal(env.error.type, 'runtime');
    assert.match(env.error.message, /500/);
    assert.equal(env.resume, undefined, 'no job, nothing to resume');
  });
});

test('exit 4: a wait that times out says how to resume; the resume command finishes the job', async () => {
  await withFake(
    async (ctx) => {
      const r = await runOne(ctx, ['video', 'create', 'slow', '-o', 'slow.mp4', '--timeout', '0.2'], 4);
      const { env } = r;
      assert.equal(env.error.type, 'timeout');
      assert.match(env.error.message, /still in_progress|still queued/);
      assert.equal(env.resume, `sanzaru wait ${env.id} -o slow.mp4`);
      assert.equal(env.job.id, env.id);
      assert.equal(fs.existsSync(path.join(ctx.media.dir, 'slow.mp4')), false);
      // The job kept running: resume it, as the envelope says.
      ctx.fake.configure({ videos: { inProgressPolls: 1 } });
      const resumed = await runOne(ctx, env.resume.split(' ').slice(1));
      assert.equal(resumed.env.id, env.id);
      assert.equal(resumed.env.result.download.filename, 'slow.mp4');
      assert.ok(fs.existsSync(path.join(ctx.media.dir, 'slow.mp4')));

      // How it was to be saved travels in the resume command, whichever tool took it.
      ctx.fake.configure({ videos: { inProgressPolls: 1000 } });
      const late = ctx.fake.addVideo({ status: 'queued', prompt: 'late' });
      let r2 = await runOne(ctx, ['video', 'download', late.id, '--wait', '--variant', 'thumbnail', '--overwrite', '--timeout', '0.1'], 4);
      assert.equal(r2.env.resume, `sanzaru wait ${late.id} --download --variant thumbnail --overwrite`);
      r2 = await runOne(ctx, ['video', 'status', late.id, '--filename', 'my clip.mp4', '--timeout', '0.1'], 4);
      assert.equal(r2.env.resume, `sanzaru wait ${late.id} --download --filename 'my clip.mp4'`);
      r2 = await runOne(ctx, ['wait', late.id, '--timeout', '0.1'], 4);
      assert.equal(r2.env.resume, `sanzaru wait ${late.id}`);
    },
    { fake: { videos: { inProgressPolls: 1000 } } },
  );
});

test('exit 5: the job failed upstream (its error message), exit 6: some of a batch failed', async () => {
  await withFake(async (ctx) => {
    ctx.fake.failNextVideo({ code: 'moderation_blocked', message: 'The prompt was blocked' });
    const { env } = await runOne(ctx, ['video', 'create', 'bad', '--wait'], 5);
    assert.equal(env.error.type, 'job_failed');
    assert.match(env.error.message, /ended failed: The prompt was blocked$/);
    assert.equal(env.job.status, 'failed');
    assert.equal(env.resume, undefined);

    ctx.fake.setNextResponseOutcome('failed');
    const img = await runOne(ctx, ['image', 'create', 'bad', '--wait'], 5);
    assert.equal(img.env.error.type, 'job_failed');

    // A batch: one input per argument, one line each; one fails, the others not.
    ctx.fake.setNextVideoOutcome({ status: 'completed' });
    ctx.fake.failNextVideo({ code: 'x', message: 'no' });
    const r = await run(ctx, ['video', 'create', 'one', 'two', '--wait']);
    assert.equal(r.code, 6, r.stdout);
    assert.equal(r.envelopes.length, 2);
    assert.deepEqual(r.envelopes.map((e) => e.index).sort(), [0, 1]);
    assert.deepEqual(r.envelopes.map((e) => e.ok).sort(), [false, true]);

    // All of a batch failing alike is that status.
    const all = await run(ctx, ['video', 'status', 'video_nope1', 'video_nope2']);
    assert.equal(all.code, 1);
    assert.equal(all.envelopes.length, 2);
  });
});

test('exit 130: Ctrl-C mid-download cancels it and leaves no file, not even a temporary', async () => {
  await withFake(async (ctx) => {
    const v = ctx.fake.addVideo({ prompt: 'big' });
    ctx.fake.faults.add({ path: 'videos/*/content', stall_ms: 30000, stall_after_bytes: 1 << 20 });
    let sent = false;
    const out = path.join(ctx.media.dir, 'out');
    fs.mkdirSync(out);
    const r = await run(ctx, ['video', 'download', v.id, '-o', 'out/big.mp4'], {
      onStderr: (text, child) => {
        if (!sent && /"phase":"download"/.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, 'the download had started');
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.equal(r.envelopes.length, 1);
    assert.equal(r.envelopes[0].error.type, 'interrupted');
    assert.deepEqual(listDir(out), [], 'no partial file in the -o directory');
    assert.deepEqual(listDir(ctx.videos), []);
  });
});

test('Ctrl-C while waiting: the job keeps running upstream, the envelope says how to resume', async () => {
  await withFake(
    async (ctx) => {
      let sent = false;
      const r = await run(ctx, ['video', 'create', 'slow', '--wait'], {
        onStderr: (text, child) => {
          if (!sent && /"status":"in_progress"/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      assert.equal(r.code, 130);
      const env = r.envelopes[0];
      assert.equal(env.error.type, 'interrupted');
      assert.equal(env.resume, `sanzaru wait ${env.id}`);
      assert.equal(ctx.fake.videoView(env.id).status, 'in_progress');
    },
    { fake: { videos: { inProgressPolls: 1000 } } },
  );
});

test('capabilities: every command with its flags, from the tool schemas', async () => {
  await withFake(async (ctx) => {
    const { env } = await runOne(ctx, ['capabilities']);
    const caps = env.result;
    assert.equal(caps.envelope, 1);
    assert.deepEqual(Object.keys(caps.exit_codes), ['0', '1', '2', '3', '4', '5', '6', '130']);
    const create = caps.commands.find((c) => c.command === 'video.create');
    assert.equal(create.tool, 'create_video');
    assert.equal(create.job, 'video');
    assert.deepEqual(create.flags.map((f) => f.flag), ['--prompt', '--model', '--seconds', '--size', '--input-reference-filename']);
    assert.deepEqual(create.flags.find((f) => f.flag === '--seconds').enum, ['4', '8', '12']);
    assert.deepEqual(create.download_flags.map((f) => f.flag), ['--filename', '--variant', '--overwrite']);
    for (const name of ['video.status', 'video.download', 'video.list', 'video.delete', 'video.remix',
      'image.create', 'image.status', 'image.download', 'image.generate', 'image.edit',
      'reference.list', 'reference.prepare', 'wait', 'capabilities']) {
      assert.ok(caps.commands.some((c) => c.command === name), name);
    }
  });
});

test('help: sanzaru --help lists every command; COMMAND --help documents every argument of its tool', async () => {
  await withFake(async (ctx) => {
    const top = await run(ctx, ['--help'], { raw: true });
    assert.equal(top.code, 0);
    assert.match(top.stdout, /--transport stdio\|http/, 'the server flags');
    // The tools as an MCP client sees them, through the server's own tools/list.
    const s = await connect({ env: ctx.env });
    let tools;
    try {
      tools = (await s.client.listTools()).tools;
    } finally {
      await s.close();
    }
    const caps = (await runOne(ctx, ['capabilities'])).env.result;
    for (const cmd of caps.commands) {
      const words = cmd.usage.replace(/^sanzaru /, '');
      assert.ok(top.stdout.includes(`  ${words} `), `--help lists ${words}`);
      const help = await run(ctx, [...words.split(' '), '--help'], { raw: true });
      assert.equal(help.code, 0, words);
      const tool = tools.find((t) => t.name === cmd.tool);
      if (!tool) continue;
      for (const name of Object.keys(tool.inputSchema.properties)) {
        const flag = `--${name.replace(/_/g, '-')}`;
        assert.match(help.stdout, new RegExp(`^  ${flag}( |$)`, 'm'), `${words} --help documents ${flag}`);
      }
      const desc = tool.inputSchema.properties[Object.keys(tool.inputSchema.properties)[0]]?.description;
      if (desc) assert.ok(help.stdout.replace(/\s+/g, ' ').includes(desc.replace(/\s+/g, ' ')), `${words}: the argument's own description`);
    }
    const group = await run(ctx, ['image', '--help'], { raw: true });
    assert.match(group.stdout, /^  image generate PROMPT\.\.\. +Generate an image \(generate_image\)$/m);
  });
});

test('the server is still the server: bare sanzaru and sanzaru serve speak MCP on stdio', async () => {
  const media = tempMedia();
  try {
    for (const args of [[], ['serve']]) {
      const s = await connect({ args, env: { SANZARU_MEDIA_PATH: media.dir } });
      try {
        const { tools } = await s.client.listTools();
        assert.ok(tools.some((t) => t.name === 'create_video'));
      } finally {
        await s.close();
      }
    }
  } finally {
    media.cleanup();
  }
  const r = await run(null, ['serve', '--help'], { env: serverEnv(), raw: true });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^usage: sanzaru/);
});
