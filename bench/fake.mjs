#!/usr/bin/env node
// The upstream for the benchmarks: tests/fake-openai/server.mjs in its own process, with the
// video bytes and the generated PNG built once in memory (so the fake, not disk, serves them).
//
//   node bench/fake.mjs [--video-bytes N] [--image-width W --image-height H]
// prints one JSON line {url, origin, port, video_bytes, video_sha256, png_bytes, png_sha256}
// and serves until stdin closes or SIGTERM.
import { parseArgs } from 'node:util';
import { startFakeOpenAI, DEFAULT_VIDEO_BYTES } from '../tests/fake-openai/server.mjs';

const { values } = parseArgs({
    options: {
        'video-bytes': { type: 'string' },
        'image-width': { type: 'string', default: '64' },
        'image-height': { type: 'string', default: '48' },
    },
});
const videoBytes = values['video-bytes'] ? Number(values['video-bytes']) : DEFAULT_VIDEO_BYTES;
const imageWidth = Number(values['image-width']);
const imageHeight = Number(values['image-height']);

const fake = await startFakeOpenAI({ videoBytes, imageWidth, imageHeight });
const stop = () => fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.stdout.write(
    JSON.stringify({
        url: fake.url,
        origin: fake.origin,
        port: fake.port,
        video_bytes: fake.assets.video.length,
        video_sha256: fake.assets.video.sha256,
        png_bytes: fake.assets.png.length,
        png_sha256: fake.assets.png.sha256,
    }) + '\n',
);
