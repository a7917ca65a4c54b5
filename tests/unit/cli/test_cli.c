/* The CLI's pure parts: flags from a tool's input schema (every JSON type, the
 * nullable anyOf form, booleans and --no-, repeated arrays, unknown flags left
 * for the engine to refuse), what -o, --download and --wait imply, the usage
 * errors of the command line itself, engine messages rewritten as flags, shell
 * quoting for resume hints, and the envelope's shape. */
#include "fmacros.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

/* Tools shaped as tools/list shows them: a required string, nullable optional
 * arguments of every type, and a download tool with the job's id. */
static const char create_schema[] =
    "{\"name\":\"create_video\",\"title\":\"Create a video\",\"description\":\"Makes one.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"prompt\":{\"type\":\"string\",\"description\":\"What it shows.\"},"
    "\"seconds\":{\"anyOf\":[{\"type\":\"string\",\"enum\":[\"4\",\"8\",\"12\"]},{\"type\":"
    "\"null\"}],"
    "\"default\":null},"
    "\"limit\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"null\"}],\"default\":20},"
    "\"speed\":{\"anyOf\":[{\"type\":\"number\"},{\"type\":\"null\"}]},"
    "\"loud\":{\"anyOf\":[{\"type\":\"boolean\"},{\"type\":\"null\"}],\"default\":false},"
    "\"input_images\":{\"anyOf\":[{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "{\"type\":\"null\"}]},"
    "\"tool_config\":{\"anyOf\":[{\"type\":\"object\"},{\"type\":\"null\"}]}},"
    "\"required\":[\"prompt\"]}}";
static const char download_schema[] =
    "{\"name\":\"download_video\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"video_id\":{\"type\":\"string\"},"
    "\"filename\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]},"
    "\"overwrite\":{\"anyOf\":[{\"type\":\"boolean\"},{\"type\":\"null\"}],\"default\":false}},"
    "\"required\":[\"video_id\"]}}";

struct fixture {
    struct cli_tools tools;
    struct cli_invocation inv;
    char err[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *texts[] = {create_schema, download_schema};

    f->tools.v = calloc(2, sizeof(*f->tools.v));
    for (size_t i = 0; i < 2; i++) {
        json_t *listing = json_loads(texts[i], 0, NULL);
        assert_non_null(listing);
        assert_int_equal(cli_tool_init(&f->tools.v[i], listing), 0);
        json_decref(listing);
    }
    f->tools.n = 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < f->tools.n; i++)
        cli_tool_clear(&f->tools.v[i]);
    free(f->tools.v);
    cli_invocation_clear(&f->inv);
    free(f);
    return 0;
}

static const struct cli_command *command(const char *group, const char *verb)
{
    char *argv[] = {(char *)(uintptr_t)group, (char *)(uintptr_t)verb};
    int words = 0;
    return cli_command_find(2, argv, &words);
}

/* Parses the words of a `video create` command line. */
static int parse(struct fixture *f, const char *group, const char *verb, int argc, ...)
{
    static char *argv[32];
    va_list ap;

    cli_invocation_clear(&f->inv);
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)(uintptr_t)va_arg(ap, const char *);
    va_end(ap);
    f->err[0] = '\0';
    return cli_parse(&f->tools, command(group, verb), argc, argv, &f->inv, f->err, sizeof(f->err));
}

static void assert_json(const json_t *v, const char *want)
{
    char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(got, want);
    free(got);
}

static void test_schema_params(void **state)
{
    struct fixture *f = *state;
    const struct cli_tool *t = cli_tools_find(&f->tools, "create_video");
    const struct cli_param *p;

    assert_int_equal(t->nparams, 7);
    p = cli_tool_flag(t, "input-images");
    assert_non_null(p);
    assert_string_equal(p->name, "input_images");
    assert_int_equal(p->type, CLI_P_ARRAY);
    assert_false(p->required);
    assert_int_equal(cli_tool_param(t, "prompt")->type, CLI_P_STRING);
    assert_true(cli_tool_param(t, "prompt")->required);
    assert_int_equal(cli_tool_param(t, "seconds")->type, CLI_P_STRING);
    assert_int_equal(cli_tool_param(t, "limit")->type, CLI_P_INTEGER);
    assert_int_equal(cli_tool_param(t, "speed")->type, CLI_P_NUMBER);
    assert_int_equal(cli_tool_param(t, "loud")->type, CLI_P_BOOLEAN);
    assert_int_equal(cli_tool_param(t, "tool_config")->type, CLI_P_OBJECT);
    assert_string_equal(cli_tool_title(t), "Create a video");
}

static void test_values_by_type(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(parse(f, "video", "create", 13, "a cat", "--seconds", "8", "--limit=5",
                           "--speed", "1.5", "--loud", "--input-images", "a.png",
                           "--input-images=b.png", "--tool-config", "{\"q\":1}", "--json"),
                     0);
    assert_json(f->inv.args,
                "{\"seconds\":\"8\",\"limit\":5,\"speed\":1.5,\"loud\":true,"
                "\"input_images\":[\"a.png\",\"b.png\"],\"tool_config\":\"{\\\"q\\\":1}\"}");
    assert_int_equal(f->inv.ninputs, 1);
    assert_string_equal(f->inv.inputs[0], "a cat");
    assert_true(f->inv.json);
    assert_false(f->inv.wait);

    /* What does not convert goes as text, for the engine to refuse by name. */
    assert_int_equal(parse(f, "video", "create", 5, "x", "--limit", "five", "--speed", "fast"), 0);
    assert_json(f->inv.args, "{\"limit\":\"five\",\"speed\":\"fast\"}");
    assert_int_equal(parse(f, "video", "create", 3, "x", "--no-loud", "--speed=-2.5"), 0);
    assert_json(f->inv.args, "{\"loud\":false,\"speed\":-2.5}");
    assert_int_equal(parse(f, "video", "create", 2, "--loud=false", "--input-images=[\"a\"]"), 0);
    assert_json(f->inv.args, "{\"loud\":false,\"input_images\":\"[\\\"a\\\"]\"}");
    /* After --, everything is a word. */
    assert_int_equal(parse(f, "video", "create", 3, "--", "--not-a-flag", "-q"), 0);
    assert_int_equal(f->inv.ninputs, 2);
    assert_false(f->inv.quiet);
}

static void test_unknown_flags_go_to_the_engine(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(parse(f, "video", "create", 4, "x", "--file-name", "a.mp4", "--dry-run"), 0);
    assert_json(f->inv.args, "{\"file_name\":\"a.mp4\",\"dry_run\":true}");
    assert_int_equal(parse(f, "video", "create", 2, "x", "-z"), CLI_EXIT_USAGE);
    assert_string_equal(f->err, "unknown option '-z' (see sanzaru video create --help)");
}

static void test_output_and_waiting(void **state)
{
    struct fixture *f = *state;

    /* -o names the download tool's file and moves its root; it implies --download and
     * --wait. */
    assert_int_equal(parse(f, "video", "create", 3, "a cat", "-o", "out/dir/clip.mp4"), 0);
    assert_string_equal(f->inv.out_dir, "out/dir");
    assert_string_equal(f->inv.out_name, "clip.mp4");
    assert_json(f->inv.dl_args, "{\"filename\":\"clip.mp4\"}");
    assert_json(f->inv.args, "{}");
    assert_true(f->inv.download);
    assert_true(f->inv.wait);

    assert_int_equal(parse(f, "video", "create", 2, "a cat", "--output=clip.mp4"), 0);
    assert_string_equal(f->inv.out_dir, ".");
    assert_int_equal(parse(f, "video", "create", 2, "a cat", "-o=/clip.mp4"), 0);
    assert_string_equal(f->inv.out_dir, "/");

    /* A download tool's flag implies --download; the id is never a flag. */
    assert_int_equal(parse(f, "video", "create", 2, "a cat", "--overwrite"), 0);
    assert_json(f->inv.dl_args, "{\"overwrite\":true}");
    assert_true(f->inv.wait);
    assert_int_equal(parse(f, "video", "create", 3, "a cat", "--video-id", "v"), 0);
    assert_json(f->inv.args, "{\"video_id\":\"v\"}");
    assert_false(f->inv.download);

    /* A download command downloads itself: -o is its own filename. */
    assert_int_equal(parse(f, "video", "download", 4, "video_1", "-o", "x.mp4", "--wait"), 0);
    assert_json(f->inv.args, "{\"filename\":\"x.mp4\"}");
    assert_false(f->inv.download);
    assert_true(f->inv.wait);

    assert_int_equal(parse(f, "video", "create", 4, "a", "--timeout", "1.5", "--wait"), 0);
    assert_int_equal(f->inv.timeout_ms, 1500);
}

static void test_usage_errors(void **state)
{
    struct fixture *f = *state;
    static const struct {
        int argc;
        const char *argv[6];
        const char *err;
    } cases[] = {
        {3, {"a", "--limit", "1"}, NULL},
        {4, {"a", "--limit", "1", "--limit=2"}, "--limit is given twice"},
        {1, {"--seconds"}, "--seconds needs a value"},
        {4, {"a", "b", "-o", "x.mp4"}, "-o names one file: give one input, not 2"},
        {4, {"a", "-o", "x.mp4", "-o=y.mp4"}, "-o is given twice"},
        {3, {"a", "-o", "dir/"}, "-o needs a file name, not a directory: 'dir/'"},
        {5, {"a", "-o", "x.mp4", "--filename", "y.mp4"}, "give -o or --filename, not both"},
        {3, {"a", "--prompt", "b"}, "give the prompt as a word or as --prompt, not both"},
        {3, {"a", "--timeout", "1"}, "--timeout applies to --wait"},
        {4, {"a", "--timeout", "-1", "--wait"}, "--timeout must be a number of seconds, not '-1'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[6];
        for (int k = 0; k < cases[i].argc; k++)
            argv[k] = (char *)(uintptr_t)cases[i].argv[k];
        cli_invocation_clear(&f->inv);
        f->err[0] = '\0';
        assert_int_equal(cli_parse(&f->tools, command("video", "create"), cases[i].argc, argv,
                                   &f->inv, f->err, sizeof(f->err)),
                         cases[i].err ? CLI_EXIT_USAGE : 0);
        assert_string_equal(f->err, cases[i].err ? cases[i].err : "");
    }
    assert_int_equal(parse(f, "video", "list", 1, "--wait"), CLI_EXIT_USAGE);
    assert_string_equal(f->err,
                        "--wait and --download do not apply to video.list: it starts no job");
    assert_int_equal(parse(f, "video", "list", 2, "-o", "x"), CLI_EXIT_USAGE);
    assert_string_equal(f->err, "-o does not apply to video.list: it saves no file");
    assert_int_equal(parse(f, "video", "list", 1, "extra"), CLI_EXIT_USAGE);
    assert_int_equal(parse(f, "wait", NULL, 0), CLI_EXIT_USAGE);
    assert_int_equal(parse(f, "wait", NULL, 1, "--bogus"), CLI_EXIT_USAGE);
    assert_string_equal(f->err, "unknown option '--bogus' (see sanzaru wait --help)");
}

static void test_wait_takes_both_download_tools(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(parse(f, "wait", NULL, 4, "video_1", "resp_2", "--overwrite", "--quiet"), 0);
    assert_int_equal(f->inv.ninputs, 2);
    assert_json(f->inv.dl_args, "{\"overwrite\":true}");
    assert_true(f->inv.download);
    assert_true(f->inv.wait);
    assert_true(f->inv.quiet);
}

static void test_flagify(void **state)
{
    char out[256];
    (void)state;

    cli_flagify("Invalid arguments for tool create_video: 'seconds' must be one of \"4\", not "
                "\"5\"",
                out, sizeof(out));
    assert_string_equal(out, "--seconds must be one of \"4\", not \"5\"");
    cli_flagify("unknown argument 'file_name'; did you mean 'filename'?", out, sizeof(out));
    assert_string_equal(out, "unknown argument --file-name; did you mean --filename?");
    cli_flagify("'input_images[2]' must be a string", out, sizeof(out));
    assert_string_equal(out, "--input-images[2] must be a string");
    /* Only argument names: a quoted path or value stays as it was. */
    cli_flagify("in '../x' and 'A b'", out, sizeof(out));
    assert_string_equal(out, "in '../x' and 'A b'");
    cli_flagify("'prompt' is required", out, 8);
    assert_string_equal(out, "--promp");
}

static void test_shell_quote(void **state)
{
    char out[128];
    (void)state;

    cli_shell_quote("clip.mp4", out, sizeof(out));
    assert_string_equal(out, "clip.mp4");
    cli_shell_quote("my clip.mp4", out, sizeof(out));
    assert_string_equal(out, "'my clip.mp4'");
    cli_shell_quote("it's", out, sizeof(out));
    assert_string_equal(out, "'it'\\''s'");
    cli_shell_quote("", out, sizeof(out));
    assert_string_equal(out, "''");
    cli_shell_quote("$(rm -rf ~)", out, sizeof(out));
    assert_string_equal(out, "'$(rm -rf ~)'");
}

static char *emit(bool human, const json_t *result, int status, const char *msg,
                  const json_t *extra)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    struct cli_out o = {.out = mem, .err = stderr, .human = human};

    cli_emit(&o, "video.create", result, status, msg, extra);
    fclose(mem);
    return text;
}

static void test_envelopes(void **state)
{
    json_t *result = json_pack("{s:s, s:{s:s}}", "id", "video_1", "download", "path", "/a b");
    json_t *extra =
        json_pack("{s:s, s:s, s:i}", "resume", "sanzaru wait video_1", "id", "video_1", "index", 2);
    char *text;
    (void)state;

    text = emit(false, result, CLI_EXIT_OK, NULL, NULL);
    assert_string_equal(text, "{\"v\":1,\"ok\":true,\"command\":\"video.create\",\"result\":"
                              "{\"id\":\"video_1\",\"download\":{\"path\":\"/a b\"}}}\n");
    free(text);
    /* index and id come first, the rest after the error. */
    text = emit(false, NULL, CLI_EXIT_TIMEOUT, "still running", extra);
    assert_string_equal(text, "{\"v\":1,\"ok\":false,\"command\":\"video.create\",\"index\":2,"
                              "\"id\":\"video_1\",\"error\":{\"type\":\"timeout\",\"message\":"
                              "\"still running\"},\"resume\":\"sanzaru wait video_1\"}\n");
    free(text);
    text = emit(true, result, CLI_EXIT_OK, NULL, NULL);
    assert_string_equal(text, "video.create: ok\n  id: video_1\n  download.path: /a b\n");
    free(text);
    text = emit(true, NULL, CLI_EXIT_TIMEOUT, "still running", extra);
    assert_string_equal(text, "video.create video_1: timeout: still running\n"
                              "  resume: sanzaru wait video_1\n");
    free(text);
    for (int st = 1; st <= 130; st++)
        assert_non_null(cli_error_type(st));
    assert_string_equal(cli_error_type(CLI_EXIT_CONFIG), "configuration");
    assert_string_equal(cli_error_type(CLI_EXIT_JOB_FAILED), "job_failed");
    json_decref(result);
    json_decref(extra);
}

static void test_commands(void **state)
{
    static char image[] = "image", edit[] = "edit";
    char *argv[] = {image, edit};
    int words = 0;
    (void)state;

    assert_true(cli_is_command("video"));
    assert_true(cli_is_command("wait"));
    assert_true(cli_is_command("help"));
    assert_false(cli_is_command("serve"));
    assert_false(cli_is_command("--transport"));
    assert_string_equal(cli_command_find(2, argv, &words)->tool, "edit_image");
    assert_int_equal(words, 2);
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        /* A command that saves names the result member that says where. */
        if (c->out_param != NULL)
            assert_non_null(c->saved_field);
        if (c->role != CLI_ROLE_PLAIN)
            assert_int_not_equal(c->job, CLI_JOB_NONE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_by_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_flags_go_to_the_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_and_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_takes_both_download_tools, setup, teardown),
        cmocka_unit_test(test_flagify),
        cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
