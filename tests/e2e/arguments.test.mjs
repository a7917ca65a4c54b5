// Arguments as the Python original takes them, on the real tools: null for an optional
// parameter is "absent" (and the schema says so), an integer may come as "5", an array
// or object as its JSON text; a bad argument is a tool result with isError that names it
// (SEP-1303), with "did you mean" for a misspelt name; an unknown tool stays -32602.
// And the descriptions a model drives the workflows from: present, and naming the next
// step. Each check looks at what reached the fake OpenAI server, not only at the reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, ok, schemaError, PNG } from './video-lib.mjs';
import fs from 'node:fs';
import path from 'node:path';

const NULL = { type: 'null' };

test('every optional parameter is declared nullable (anyOf [T, null]) with its default; required ones are not', async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    assert.ok(tools.length >= 14, 'the fourteen tools of TOOLS.md, and any added since');
    let optional = 0;
    for (const t of tools) {
      const required = new Set(t.inputSchema.required || []);
      for (const [name, p] of Object.entries(t.inputSchema.properties)) {
        const where = `${t.name}.${name}`;
        if (required.has(name)) {
          assert.equal(p.anyOf, undefined, `${where} is required: not nullable`);
          assert.equal(typeof p.type, 'string', where);
          continue;
        }
        optional++;
        assert.equal(p.type, undefined, `${where}: the type is in anyOf, not a type list`);
        assert.equal(p.anyOf.length, 2, where);
        assert.deepEqual(p.anyOf[1], NULL, where);
        assert.ok('default' in p, `${where} declares a default`);
      }
    }
    assert.ok(optional >= 40, `${optional} optional parameters`);
    // The original's real defaults are kept; the others are null, as pydantic writes them.
    const props = (n) => tools.find((t) => t.name === n).inputSchema.properties;
    assert.equal(props('list_videos').limit.default, 20);
    assert.equal(props('list_videos').order.default, 'desc');
    assert.equal(props('list_videos').after.default, null);
    assert.equal(props('create_video').seconds.default, null);
    assert.equal(props('create_video').model.default, 'sora-2');
    assert.equal(props('create_image').model.default, 'gpt-5.2');
    assert.equal(props('generate_image').model.default, 'gpt-image-2');
    assert.equal(props('create_image').tool_config.default, null);
    assert.equal(props('create_image').input_images.default, null);
    assert.equal(props('list_local_videos').limit.default, 50);
    assert.equal(props('download_video').overwrite.default, false);
  });
});

test('null is absent for every optional type: string, integer, enum, array, object, boolean', async () => {
  await withServer(async ({ client, fake, videos }) => {
    // string (after), integer (limit), enum (order): the request is the one with nothing given
    await ok(client, 'list_videos', { limit: null, after: null, order: null });
    const rec = fake.requestsMatching({ method: 'GET', path: 'videos' }).at(-1);
    assert.deepEqual(rec.query, { limit: '20', order: 'desc' });
    // enums (seconds, size) and strings (model, input_reference_filename)
    await ok(client, 'create_video', { prompt: 'p', model: null, seconds: null, size: null, input_reference_filename: null });
    assert.deepEqual(fake.requestsMatching({ method: 'POST', path: 'videos' }).at(-1).fields, { prompt: 'p', model: 'sora-2' });
    // array (input_images), object (tool_config), strings
    await ok(client, 'create_image', { prompt: 'q', model: null, tool_config: null, previous_response_id: null, input_images: null, mask_filename: null });
    const img = fake.requestsMatching({ method: 'POST', path: 'responses' }).at(-1).json;
    assert.equal(img.model, 'gpt-5.2');
    assert.deepEqual(img.tools, [{ type: 'image_generation', model: 'gpt-image-2' }]);
    assert.equal(img.previous_response_id, undefined);
    // boolean (overwrite) and everything of a local listing
    fs.writeFileSync(path.join(videos, 'a.mp4'), 'x');
    fs.utimesSync(path.join(videos, 'a.mp4'), 1_700_000_000.75, 1_700_000_000.75);
    const l = await ok(client, 'list_local_videos', { pattern: null, file_type: null, sort_by: null, order: null, limit: null });
    assert.deepEqual(l.structuredContent.data.map((f) => f.filename), ['a.mp4']);
    // modified_timestamp is an integer, as the original's: whole seconds in the JSON text too
    assert.match(l.content[0].text, /"modified_timestamp":1700000000[,}]/);
    const v = fake.addVideo({ prompt: 'done' });
    const d = await ok(client, 'download_video', { video_id: v.id, filename: null, variant: null, overwrite: null });
    assert.equal(d.structuredContent.filename, `${v.id}.mp4`);
    // null is no value for a required parameter
    await schemaError(client, 'get_video_status', { video_id: null }, /'video_id' is required$/);
  });
});

test('"5" is the integer 5 and 8 the seconds "8"; "five" and 5 are refused before any request', async () => {
  await withServer(async ({ client, fake }) => {
    await ok(client, 'list_videos', { limit: '5' });
    assert.deepEqual(fake.requestsMatching({ method: 'GET', path: 'videos' }).at(-1).query, { limit: '5', order: 'desc' });
    await ok(client, 'create_video', { prompt: 'p', seconds: 8 });
    assert.equal(fake.requestsMatching({ method: 'POST', path: 'videos' }).at(-1).fields.seconds, '8');
    const before = fake.requests.length;
    await schemaError(client, 'list_videos', { limit: 'five' }, /'limit' must be an integer, not "five"$/);
    await schemaError(client, 'list_videos', { limit: '500' }, /'limit' must be at most 100$/);
    await schemaError(client, 'list_videos', { limit: 2.5 }, /'limit' must be an integer, not a number$/);
    await schemaError(client, 'create_video', { prompt: 'p', seconds: 5 }, /'seconds' must be one of "4", "8", "12", not an integer$/);
    assert.equal(fake.requests.length, before, 'refused arguments never reach the network');
  });
});

test('arrays and objects sent as JSON text are decoded, as the original decodes them', async () => {
  await withServer(async ({ client, fake, images }) => {
    fs.writeFileSync(path.join(images, 'a.png'), PNG);
    await ok(client, 'create_image', { prompt: 'p', input_images: '["a.png"]', tool_config: '{"quality": "high"}' });
    const req = fake.requestsMatching({ method: 'POST', path: 'responses' }).at(-1).json;
    assert.deepEqual(req.tools, [{ type: 'image_generation', quality: 'high', model: 'gpt-image-2' }]);
    assert.equal(req.input[0].content.filter((c) => c.type === 'input_image').length, 1);
    const before = fake.requests.length;
    await schemaError(client, 'create_image', { prompt: 'p', input_images: 'a.png' }, /'input_images' must be an array of strings, not "a\.png"$/);
    await schemaError(client, 'create_image', { prompt: 'p', tool_config: '{"quality": ' }, /'tool_config' must be an object, not "\{"quality": "$/);
    assert.equal(fake.requests.length, before);
  });
});

test('a bad argument is an isError result naming it; a misspelt one gets "did you mean"; an unknown tool is -32602', async () => {
  await withServer(async ({ client, fake }) => {
    const v = fake.addVideo({ prompt: 'done' });
    await schemaError(client, 'download_video', { video_id: v.id, file_name: 'x.mp4' }, /unknown argument 'file_name'; did you mean 'filename'\?$/);
    await schemaError(client, 'get_video_status', { videoId: v.id }, /unknown argument 'videoId'; did you mean 'video_id'\?$/);
    await schemaError(client, 'create_video', { prompt: 'p', reference: 'a.png' }, /unknown argument 'reference'; did you mean 'input_reference_filename'\?$/);
    await schemaError(client, 'list_videos', { limt: 3 }, /unknown argument 'limt'; did you mean 'limit'\?$/);
    await schemaError(client, 'edit_image', { prompt: 'p', images: ['a.png'] }, /unknown argument 'images'; did you mean 'input_images'\?$/);
    await schemaError(client, 'create_video', { prompt: 'p', duration: 4 }, /unknown argument 'duration'; this tool takes 'prompt', 'model', 'seconds', 'size', 'input_reference_filename'$/);
    await schemaError(client, 'download_video', { video_id: v.id, variant: 'poster' }, /'variant' must be one of "video", "thumbnail", "spritesheet", not "poster"$/);
    await schemaError(client, 'download_video', { video_id: v.id, overwrite: 'yes' }, /'overwrite' must be a boolean, not "yes"$/);
    const r = await client.callTool({ name: 'download_video', arguments: { video_id: v.id, variant: 'poster' } });
    assert.deepEqual(r.content, [{ type: 'text', text: `Invalid arguments for tool download_video: 'variant' must be one of "video", "thumbnail", "spritesheet", not "poster"` }]);
    assert.equal(r.structuredContent, undefined);
    assert.equal(r._meta?.['sanzaru/errorKind'], 'input', 'a refused argument is an error of kind input');
    await assert.rejects(client.callTool({ name: 'create_vidoe', arguments: { prompt: 'p' } }), (e) => {
      assert.equal(e.code, -32602);
      assert.match(e.message, /Unknown tool: create_vidoe/);
      return true;
    });
    assert.equal(fake.requestsMatching({ method: 'GET', path: 'videos/*/content' }).length, 0);
  });
});

// What a model needs from tools/list and instructions alone. Each check fails if a
// description were emptied or lost the step that follows.
const NEXT_STEP = {
  create_video: ['get_video_status', 'download_video'],
  remix_video: ['get_video_status', 'download_video'],
  get_video_status: ['download_video'],
  create_image: ['get_image_status', 'download_image'],
  get_image_status: ['download_image'],
  list_reference_images: ['create_video', 'prepare_reference_image', 'edit_image'],
  prepare_reference_image: ['create_video', 'input_reference_filename'],
  list_videos: ['after', 'list_local_videos'],
  generate_image: ['edit_image'],
};

test('descriptions carry the workflow: every tool and parameter is described, create_* names its next step', async () => {
  await withServer(async ({ client }) => {
    const { tools } = await client.listTools();
    for (const t of tools) {
      assert.ok(t.title, `${t.name} has a title`);
      assert.ok(t.description.length >= 300, `${t.name}: a ${t.description.length}-character description says too little`);
      assert.doesNotMatch(t.description, /\bSora\b/, `${t.name}: provider-neutral`);
      for (const [name, p] of Object.entries(t.inputSchema.properties)) {
        assert.ok(p.description && p.description.length >= 20, `${t.name}.${name} is described`);
      }
    }
    const by = Object.fromEntries(tools.map((t) => [t.name, t.description]));
    for (const [name, steps] of Object.entries(NEXT_STEP)) {
      for (const step of steps) assert.match(by[name], new RegExp(`\\b${step}\\b`), `${name} mentions ${step}`);
    }
    for (const name of Object.keys(by).filter((n) => /^create_|^remix_/.test(n))) {
      assert.match(by[name], /paid/, `${name} says it costs`);
      assert.match(by[name], /Next|poll/, `${name} says what to call next`);
    }
    const instructions = client.getInstructions();
    for (const name of ['create_video', 'get_video_status', 'download_video', 'prepare_reference_image', 'generate_image', 'edit_image', 'create_image', 'get_image_status', 'download_image', 'overwrite', 'null']) {
      assert.match(instructions, new RegExp(`\\b${name}\\b`), `instructions mention ${name}`);
    }
    assert.match(instructions, /2026-09-24/, 'the OpenAI retirement, so a model does not retry a gone API');
  });
});
