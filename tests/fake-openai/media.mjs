// Real media bytes for the fake OpenAI server, made in code with node: built-ins only.
//
// - encodePng(): a minimal PNG encoder (IHDR + one zlib IDAT + IEND, CRC32 per chunk),
//   used for the Responses image_generation result and the Images API b64_json.
// - JPEG_64x48 / WEBP_64x48: tiny real JPEG and WEBP files, made once at development
//   time from encodePng(64, 48) with `vips copy x.png x.jpg[Q=80]` / `x.webp[Q=80]` and
//   embedded here as base64 text (the fake has no image library at run time).
// - makeVideoBytes(): a plausible MP4 (an `ftyp` box, then one `mdat` box covering the
//   rest) filled with deterministic pseudo-random bytes, of an exact length; cached per
//   (length, seed) so every server in a process shares one buffer.
// - probeImage(): format and dimensions of a PNG/JPEG/WEBP/GIF from its first bytes, so
//   recorded uploads can say what was sent.
import { deflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';

export function sha256(buf) {
    return createHash('sha256').update(buf).digest('hex');
}

const CRC_TABLE = (() => {
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        t[n] = c >>> 0;
    }
    return t;
})();

export function crc32(buf, crc = 0) {
    let c = ~crc >>> 0;
    for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
    return ~c >>> 0;
}

function pngChunk(type, data) {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
}

/**
 * Encodes an 8-bit RGB (3 channels) or RGBA (4 channels) image as PNG.
 * pixel(x, y) returns [r, g, b] or [r, g, b, a]; default is a diagonal gradient.
 */
export function encodePng(width, height, { channels = 3, pixel } = {}) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
        throw new RangeError('encodePng: bad dimensions');
    if (channels !== 3 && channels !== 4) throw new RangeError('encodePng: channels must be 3 or 4');
    const px =
        pixel ||
        ((x, y) => [
            Math.round((255 * x) / Math.max(1, width - 1)),
            Math.round((255 * y) / Math.max(1, height - 1)),
            Math.round((255 * (x + y)) / Math.max(1, width + height - 2)),
            255,
        ]);
    const stride = width * channels + 1;
    const raw = Buffer.alloc(stride * height);
    for (let y = 0; y < height; y++) {
        raw[y * stride] = 0; // filter: none
        for (let x = 0; x < width; x++) {
            const v = px(x, y);
            const o = y * stride + 1 + x * channels;
            for (let c = 0; c < channels; c++) raw[o + c] = v[c] ?? 255;
        }
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = channels === 3 ? 2 : 6; // colour type: RGB / RGBA
    ihdr[10] = 0; // compression
    ihdr[11] = 0; // filter
    ihdr[12] = 0; // interlace
    return Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        pngChunk('IHDR', ihdr),
        pngChunk('IDAT', deflateSync(raw)),
        pngChunk('IEND', Buffer.alloc(0)),
    ]);
}

// 64x48 gradient (the same picture as encodePng(64, 48)), JPEG quality 80, made with vips.
export const JPEG_64x48 = Buffer.from('/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAwAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD5rgsvatCCy9q1YLLpxWhBZe1KMzLC43zMqCy9qvwWXTitaCy9qvwWXtXRCZ9Dhcb5mVBZe1aEFl7VqwWXTitCCy9q6YTPosNjfMyoLL2rQgsvatSCy9q0ILL2rpjM+hwuN8zzaCy6cVoQWXtWrBZe1X4LL2r5mMz+bsLjfMyoLL2rQgsvatWCy9q0ILP2rphM+hw2N8zKgsvatCCy9q1YLL2q/BZe1dEJn0WFxvmZUFl7VoQWXtWrBZe1aEFl04rpjM+hwuN8zzWCy9q0ILL2rVgsvatCCy9q+ZjM/m7C43zMqCy6cVoQWXTitWCy9qvwWXtXTCZ9Dhsb5mXBZdOKvwWXtWrBZe1aEFl7V0wmfRYXG+ZlQWXtWhBZdOK1YLL2q/BZe1dEZn0OFxvmf//Z', 'base64');
// 64x48 gradient, lossy WEBP quality 80, made with vips.
export const WEBP_64x48 = Buffer.from('UklGRroBAABXRUJQVlA4WAoAAAAIAAAAPwAALwAAVlA4INoAAACQBgCdASpAADAAPm0yk0Y1MyGjLVzIAqANiWQ/bqKWvCkAQuEyyRloApMMEvLoDMHopH//+qTpBG7//+oAAP7/vL+oYwLWLw1TfbxLi1Pt9VBd1Z80KVLefof71bMuuIZHBIZZnPCjYNYXVaDCR9/UL70c5C4799DCcLez/hTf/4RJ//2ElhMNPPTz0vijj+G5vaoPxdhFXqqKp1HnJXnBqWS8erSjZuB41NidewVYppHScza4bNi6TPdKTWo9567DQVvJx5BGNEu46ZYl200dEqHHi0DwUvAAAEVYSUa6AAAARXhpZgAASUkqAAgAAAAGABIBAwABAAAAAQAAABoBBQABAAAAVgAAABsBBQABAAAAXgAAACgBAwABAAAAAgAAABMCAwABAAAAAQAAAGmHBAABAAAAZgAAAAAAAAAvGQEA6AMAAC8ZAQDoAwAABgAAkAcABAAAADAyMTABkQcABAAAAAECAwAAoAcABAAAADAxMDABoAMAAQAAAP//AAACoAQAAQAAAEAAAAADoAQAAQAAADAAAAAAAAAA', 'base64');

/** Format and size of an image from its bytes: {format, width, height} or null. */
export function probeImage(buf) {
    if (!Buffer.isBuffer(buf) || buf.length < 12) return null;
    if (buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) {
        if (buf.length < 24 || buf.toString('latin1', 12, 16) !== 'IHDR') return { format: 'png', width: null, height: null };
        return { format: 'png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
    }
    if (buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
        let o = 2;
        while (o + 9 < buf.length) {
            if (buf[o] !== 0xff) return { format: 'jpeg', width: null, height: null };
            const marker = buf[o + 1];
            if (marker === 0xff) { o++; continue; }
            if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { o += 2; continue; }
            const len = buf.readUInt16BE(o + 2);
            const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
            if (isSof) return { format: 'jpeg', width: buf.readUInt16BE(o + 7), height: buf.readUInt16BE(o + 5) };
            o += 2 + len;
        }
        return { format: 'jpeg', width: null, height: null };
    }
    if (buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') {
        const kind = buf.toString('latin1', 12, 16);
        if (kind === 'VP8 ' && buf.length >= 30)
            return { format: 'webp', width: buf.readUInt16LE(26) & 0x3fff, height: buf.readUInt16LE(28) & 0x3fff };
        if (kind === 'VP8L' && buf.length >= 25) {
            const b = buf.readUInt32LE(21);
            return { format: 'webp', width: (b & 0x3fff) + 1, height: ((b >>> 14) & 0x3fff) + 1 };
        }
        if (kind === 'VP8X' && buf.length >= 30)
            return { format: 'webp', width: buf.readUIntLE(24, 3) + 1, height: buf.readUIntLE(27, 3) + 1 };
        return { format: 'webp', width: null, height: null };
    }
    const head = buf.toString('latin1', 0, 6);
    if (head === 'GIF87a' || head === 'GIF89a')
        return { format: 'gif', width: buf.readUInt16LE(6), height: buf.readUInt16LE(8) };
    return null;
}

/** MIME type for a probed format name. */
export function mimeOf(format) {
    return { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif' }[format] || 'application/octet-stream';
}

const videoCache = new Map();

/**
 * A deterministic fake MP4 of exactly `length` bytes: ftyp box (32 bytes), mdat box header
 * (8 bytes) whose size covers the rest of the buffer, then xorshift32 filler from `seed`.
 * Generated once per (length, seed) and shared; callers must not modify the buffer.
 */
export function makeVideoBytes(length, seed = 1) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError('video length must be a non-negative integer');
    const key = `${length}:${seed}`;
    let buf = videoCache.get(key);
    if (buf) return buf;
    const words = Math.ceil(length / 4);
    const u32 = new Uint32Array(words);
    let s = seed >>> 0 || 0x9e3779b9;
    for (let i = 0; i < words; i++) {
        s ^= s << 13;
        s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5;
        s >>>= 0;
        u32[i] = s;
    }
    buf = Buffer.from(u32.buffer, 0, length);
    const header = Buffer.alloc(40);
    header.writeUInt32BE(32, 0);
    header.write('ftypisom', 4, 'latin1');
    header.writeUInt32BE(0x200, 12);
    header.write('isomiso2avc1mp41', 16, 'latin1');
    header.writeUInt32BE(Math.max(0, Math.min(0xffffffff, length - 32)), 32);
    header.write('mdat', 36, 'latin1');
    header.copy(buf, 0, 0, Math.min(40, length));
    videoCache.set(key, buf);
    return buf;
}
