// A strict, binary-safe multipart/form-data parser (RFC 7578) for the fake OpenAI server.
//
// parseMultipart(contentType, body) works on the whole body as a Buffer (the fake reads
// bodies fully, bounded) and returns the parts in order. It throws MultipartError on
// anything malformed (no boundary, no opening or closing delimiter, a part without
// headers or without a Content-Disposition: form-data name), so a test sees a 400 that
// names the problem instead of a silently half-parsed request.

export class MultipartError extends Error {}

/** Splits a header value like `form-data; name="a"; filename="b.png"` into {value, params}. */
export function parseHeaderParams(value) {
    const out = { value: '', params: {} };
    let i = 0;
    const n = value.length;
    const semi = value.indexOf(';');
    out.value = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
    i = semi < 0 ? n : semi + 1;
    while (i < n) {
        while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
        let eq = i;
        while (eq < n && value[eq] !== '=' && value[eq] !== ';') eq++;
        const key = value.slice(i, eq).trim().toLowerCase();
        if (eq >= n || value[eq] === ';') {
            if (key) out.params[key] = '';
            i = eq + 1;
            continue;
        }
        i = eq + 1;
        let val = '';
        if (value[i] === '"') {
            i++;
            while (i < n && value[i] !== '"') {
                if (value[i] === '\\' && i + 1 < n) i++;
                val += value[i++];
            }
            i++; // closing quote
            while (i < n && value[i] !== ';') i++;
        } else {
            let end = i;
            while (end < n && value[end] !== ';') end++;
            val = value.slice(i, end).trim();
            i = end;
        }
        if (key) out.params[key] = val;
        i++;
    }
    // RFC 5987 extended parameter (filename*=UTF-8''na%C3%AFve.png) wins over the plain one.
    for (const [k, v] of Object.entries(out.params)) {
        if (!k.endsWith('*')) continue;
        const m = /^([^']*)'[^']*'(.*)$/.exec(v);
        if (!m) continue;
        try {
            out.params[k.slice(0, -1)] = decodeURIComponent(m[2]);
        } catch {
            /* keep the plain parameter */
        }
    }
    return out;
}

/**
 * Parses a multipart/form-data body.
 * Returns [{name, filename (string|null), contentType (string|null), headers, data: Buffer}].
 * `data` is a view into `body` (no copy).
 */
export function parseMultipart(contentType, body) {
    const ct = parseHeaderParams(contentType || '');
    if (ct.value !== 'multipart/form-data') throw new MultipartError(`expected multipart/form-data, got '${ct.value}'`);
    const boundary = ct.params.boundary;
    if (!boundary) throw new MultipartError('multipart/form-data without a boundary parameter');
    if (boundary.length > 200) throw new MultipartError('multipart boundary longer than 200 characters');
    const delim = Buffer.from(`--${boundary}`, 'latin1');
    const crlfDelim = Buffer.from(`\r\n--${boundary}`, 'latin1');

    // The first delimiter may follow a preamble; it must start a line.
    let pos;
    if (body.subarray(0, delim.length).equals(delim)) pos = delim.length;
    else {
        const at = body.indexOf(crlfDelim);
        if (at < 0) throw new MultipartError('multipart body has no opening boundary');
        pos = at + crlfDelim.length;
    }
    const parts = [];
    for (;;) {
        // After a delimiter: "--" ends the body, else optional whitespace then CRLF.
        if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
        while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
        if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new MultipartError('malformed multipart delimiter line');
        pos += 2;
        let headers = {};
        let dataStart;
        if (body[pos] === 0x0d && body[pos + 1] === 0x0a) {
            dataStart = pos + 2; // a part with no headers at all
        } else {
            const headEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
            if (headEnd < 0) throw new MultipartError('multipart part headers are not terminated');
            headers = parsePartHeaders(body.toString('utf8', pos, headEnd));
            dataStart = headEnd + 4;
        }
        const next = body.indexOf(crlfDelim, dataStart - 2 >= pos ? dataStart - 2 : dataStart);
        if (next < 0) throw new MultipartError('multipart body has no closing boundary');
        const cd = headers['content-disposition'];
        if (!cd) throw new MultipartError('multipart part without Content-Disposition');
        const disp = parseHeaderParams(cd);
        if (disp.value !== 'form-data') throw new MultipartError(`multipart part disposition '${disp.value}' is not form-data`);
        if (disp.params.name === undefined) throw new MultipartError('multipart part without a name');
        parts.push({
            name: disp.params.name,
            filename: disp.params.filename !== undefined ? disp.params.filename : null,
            contentType: headers['content-type'] || null,
            headers,
            data: body.subarray(dataStart, Math.max(dataStart, next)),
        });
        pos = next + crlfDelim.length;
    }
}

function parsePartHeaders(text) {
    const headers = {};
    for (const line of text.split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) throw new MultipartError(`malformed multipart part header '${line.slice(0, 80)}'`);
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return headers;
}
