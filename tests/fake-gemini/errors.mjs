// Google's error bodies for the fake Gemini Interactions API (see README.md, "Errors").
//
// Two shapes reach a Gemini API client, and a client must read both:
// - google.rpc.Status, from Google's API front end (keys, quota, permission, server faults):
//     {"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED", "details": [...]}}
//   with typed details (ErrorInfo, RetryInfo, QuotaFailure, Help, LocalizedMessage).
// - the Interactions service's own error, as the @google/genai 3.1.0 OpenAPI types declare it
//   (ErrorT: {code?: string, message?: string}) and as the live API was seen to send it:
//     {"error": {"message": "...", "code": "invalid_request"}}
// GeminiError carries the HTTP status, the message and enough to render either shape.

/** HTTP status -> google.rpc.Code name (https://cloud.google.com/apis/design/errors). */
export const STATUS_NAMES = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ABORTED',
    412: 'FAILED_PRECONDITION',
    413: 'INVALID_ARGUMENT',
    429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED',
    500: 'INTERNAL',
    501: 'NOT_IMPLEMENTED',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
};

/** google.rpc.Code numbers, for the `error` of a failed model_output step. */
export const RPC_CODES = {
    OK: 0,
    CANCELLED: 1,
    UNKNOWN: 2,
    INVALID_ARGUMENT: 3,
    DEADLINE_EXCEEDED: 4,
    NOT_FOUND: 5,
    PERMISSION_DENIED: 7,
    RESOURCE_EXHAUSTED: 8,
    FAILED_PRECONDITION: 9,
    ABORTED: 10,
    INTERNAL: 13,
    UNAVAILABLE: 14,
};

/** The messages Google's front end sends (quoted from responses of generativelanguage.googleapis.com). */
export const MESSAGES = {
    missingKey:
        "Method doesn't allow unregistered callers (callers without established identity). " +
        'Please use API Key or other form of API consumer identity to call this API.',
    badKey: 'API key not valid. Please pass a valid API key.',
    quota:
        'You exceeded your current quota, please check your plan and billing details. For more information on ' +
        'this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.',
    internal: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
    unavailable: 'The model is overloaded. Please try again later.',
    permission: 'The caller does not have permission',
    invalid: 'Request contains an invalid argument.',
    notFound: 'Requested entity was not found.',
};

const DEFAULT_MESSAGE = {
    400: MESSAGES.invalid,
    403: MESSAGES.permission,
    404: MESSAGES.notFound,
    429: MESSAGES.quota,
    500: MESSAGES.internal,
    503: MESSAGES.unavailable,
};

const SERVICE = 'generativelanguage.googleapis.com';

/**
 * An error reply. `style` is 'rpc' (google.rpc.Status) or 'interactions' ({message, code:string});
 * `code` is the Interactions-style string code; `details` are google.rpc detail objects.
 */
export class GeminiError extends Error {
    constructor(status, message, { style = 'rpc', code, details, headers } = {}) {
        super(message ?? DEFAULT_MESSAGE[status] ?? `HTTP ${status}`);
        this.status = status;
        this.style = style;
        this.code = code ?? (status === 404 ? 'not_found' : status >= 500 ? 'internal_error' : 'invalid_request');
        this.details = details ?? [];
        this.headers = headers ?? {};
    }

    body() {
        if (this.style === 'interactions') return { error: { message: this.message, code: this.code } };
        const error = { code: this.status, message: this.message, status: STATUS_NAMES[this.status] ?? (this.status >= 500 ? 'INTERNAL' : 'UNKNOWN') };
        if (this.details.length) error.details = this.details;
        return { error };
    }
}

/** ErrorInfo detail (reason such as API_KEY_INVALID). */
export function errorInfo(reason, metadata = {}) {
    return { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com', metadata: { service: SERVICE, ...metadata } };
}

/** RetryInfo detail; `seconds` may be fractional ("1.5s"), as a google.protobuf.Duration in JSON. */
export function retryInfo(seconds) {
    return { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` };
}

/** The three details a Gemini API 429 carries: QuotaFailure, Help, RetryInfo. */
export function quotaDetails(retrySeconds) {
    const out = [
        {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
                {
                    quotaMetric: `${SERVICE}/generate_requests_per_model`,
                    quotaId: 'GenerateRequestsPerMinutePerProjectPerModel',
                    quotaDimensions: { location: 'global', model: 'gemini-omni-1.1-flash' },
                    quotaValue: '10',
                },
            ],
        },
        { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
    ];
    if (retrySeconds !== null && retrySeconds !== undefined) out.push(retryInfo(retrySeconds));
    return out;
}

/** The front end's reply to a request without a key: 403 PERMISSION_DENIED. */
export function missingKeyError() {
    return new GeminiError(403, MESSAGES.missingKey, { details: [errorInfo('CONSUMER_INVALID')] });
}

/** The front end's reply to a wrong key: 400 INVALID_ARGUMENT, reason API_KEY_INVALID. */
export function badKeyError() {
    return new GeminiError(400, MESSAGES.badKey, {
        details: [errorInfo('API_KEY_INVALID'), { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: MESSAGES.badKey }],
    });
}

/**
 * The error for an injected fault with this status: a 429 gets the quota details and, unless
 * retry_delay_s is null, a RetryInfo; a 400 gets BadRequest field violations when `field` is
 * given. `spec.error` overrides message/code/details; `spec.style` picks the shape.
 */
export function faultError(spec) {
    const status = spec.status;
    const e = spec.error || {};
    let details = e.details;
    if (details === undefined && status === 429) details = quotaDetails(spec.retry_delay_s === undefined ? 30 : spec.retry_delay_s);
    const headers = {};
    if (spec.retry_after !== undefined) headers['retry-after'] = String(spec.retry_after);
    return new GeminiError(status, e.message ?? `${DEFAULT_MESSAGE[status] ?? `HTTP ${status}`} (injected fault)`, {
        style: spec.style ?? 'rpc',
        code: e.code,
        details,
        headers,
    });
}
