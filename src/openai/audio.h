/* OpenAI's audio endpoints on the OpenAI client (client.h): speech to text
 * (POST /audio/transcriptions, multipart with the file streamed from an fd),
 * audio understanding (POST /chat/completions with an input_audio part, the
 * JSON body built with its base64 on a pool thread) and text to speech
 * (POST /audio/speech, JSON; the caller streams the reply into a sink).
 *
 * These build requests and read replies; the caller starts the requests with
 * net_req_start and owns everything about running them, as for every other
 * OpenAI request. Request fields follow OpenAI's published spec
 * (CreateTranscriptionRequest, CreateChatCompletionRequest,
 * CreateSpeechRequest): optional fields are sent only when given, as the
 * official SDKs send them.
 *
 * Thread: the *_req_new functions on the loop thread (they build net
 * requests); the body builder and the reply readers are pure and run on any
 * thread. */
#ifndef SZ_OPENAI_AUDIO_H
#define SZ_OPENAI_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "openai/client.h"

/* A transcription request. Strings are borrowed for the call (copied into the
 * request). */
struct oai_transcription {
    const char *model;           /* required, e.g. "gpt-4o-mini-transcribe" */
    const char *response_format; /* json, text, srt, verbose_json, vtt, diarized_json; NULL:
                                    not sent (the API's default, json) */
    const char *prompt;          /* NULL: not sent */
    const char *const *timestamp_granularities; /* "word", "segment"; sent as repeated
                                                   timestamp_granularities[] fields */
    size_t ngranularities;
    const char *filename;  /* the upload's name; its extension tells the API the format */
    const char *mime_type; /* of the file part, e.g. "audio/mpeg" */
    int fd;                /* the file, BORROWED until the request's done callback */
    uint64_t size;         /* bytes of fd to send */
};

/* POST /audio/transcriptions as multipart/form-data: file (streamed from fd,
 * never read whole), model, response_format, prompt, timestamp_granularities[].
 * The reply is buffered raw (text, srt and vtt come as plain text): read it
 * with oai_transcription_parse. The first-byte limit is the client's long one
 * (the API answers when the transcript is done). 0 and *preq (owned by the
 * caller until net_req_start), or SZ_EINVAL / SZ_ENOMEM. Loop thread. */
int oai_transcription_req_new(struct oai_client *client, const struct oai_transcription *t,
                              struct net_req **preq);

/* Reads a 2xx transcription reply (body: len bytes, borrowed). For text, srt
 * and vtt the body is the transcript: *pout = {"text": body}. Otherwise the
 * body must be a JSON object with a string "text": *pout is it. On success
 * *pout is a new reference. SZ_EPROTO with a sentence in err otherwise. Pure;
 * any thread. */
int oai_transcription_parse(const char *response_format, const char *body, size_t len,
                            json_t **pout, char *err, size_t errlen);

/* A chat completion about one audio clip. Strings borrowed. */
struct oai_chat_audio {
    const char *model;         /* e.g. "gpt-4o-audio-preview" */
    const char *system_prompt; /* NULL or "": no system message */
    const char *user_prompt;   /* NULL or "": no text part */
    const char *format;        /* "mp3" or "wav": the input_audio's format */
};

/* Builds the JSON text of POST /chat/completions for the len bytes of audio
 * (borrowed): {model, messages:[{role:system, content}?, {role:user, content:
 * [{type:input_audio, input_audio:{data:<base64>, format}}, {type:text,
 * text}?]}]}. The base64 (a third larger than the audio) is encoded straight
 * into the text, once. On success *ptext is malloc'd (*plen bytes, NUL
 * terminated) for oai_chat_req_new. SZ_EINVAL or SZ_ENOMEM. Pure; meant for
 * a pool thread (megabytes of base64 and JSON). */
int oai_chat_audio_body(const struct oai_chat_audio *p, const void *audio, size_t len, char **ptext,
                        size_t *plen);

/* POST /chat/completions with a body built by oai_chat_audio_body. TAKES
 * OWNERSHIP of text (freed with the request, or at once on failure). The
 * reply is parsed JSON; read it with oai_chat_text. The first-byte limit is
 * the client's long one. 0 and *preq, or SZ_EINVAL / SZ_ENOMEM. Loop thread. */
int oai_chat_req_new(struct oai_client *client, char *text, size_t len, struct net_req **preq);

/* choices[0].message.content of a chat completion (body borrowed), or "" when
 * there is none (the original's rule). Borrowed from body. Pure. */
const char *oai_chat_text(const json_t *body);

/* A speech request. Strings borrowed. */
struct oai_speech {
    const char *model; /* e.g. "gpt-4o-mini-tts" */
    const char *voice; /* e.g. "alloy" */
    const char *input; /* the text to speak: input_len bytes of UTF-8 (at most 4096
                          characters, the API's limit) */
    size_t input_len;
    const char *instructions;    /* NULL: not sent */
    double speed;                /* 0.25 .. 4.0 */
    const char *response_format; /* "mp3", "wav", ...; NULL: "mp3" */
};

/* POST /audio/speech as JSON {model, input, voice, speed, response_format,
 * instructions?}. The caller sets a sink (net_req_set_sink) for the audio
 * bytes. 0 and *preq, or SZ_EINVAL / SZ_ENOMEM. Loop thread. */
int oai_speech_req_new(struct oai_client *client, const struct oai_speech *s,
                       struct net_req **preq);

#endif
