/* The command table: which tool each command calls, which argument the words
 * after it fill, what waiting on its result means and where -o saves. Flags
 * are not listed here: they come from each tool's input schema (flags.c), so a
 * new tool argument is a new flag without an edit here.
 *
 * A command whose tool the server did not register (the audio tools of a build
 * without them) is left out of help and refused as unknown. */
#include "fmacros.h"

#include "cli/cli_int.h"

#include <string.h>

const struct cli_jobkind cli_jobkinds[CLI_JOB_COUNT] = {
    [CLI_JOB_VIDEO] = {.noun = "video",
                       .status_tool = "get_video_status",
                       .download_tool = "download_video",
                       .id_param = "video_id",
                       .media = CLI_MEDIA_VIDEOS,
                       .first_ms = 5000,
                       .max_ms = 20000},
    [CLI_JOB_IMAGE] = {.noun = "image",
                       .status_tool = "get_image_status",
                       .download_tool = "download_image",
                       .id_param = "response_id",
                       .media = CLI_MEDIA_IMAGES,
                       .first_ms = 2000,
                       .max_ms = 10000},
};

const struct cli_command cli_commands[] = {
    {.name = "video.create",
     .group = "video",
     .verb = "create",
     .tool = "create_video",
     .positional = "prompt",
     .job = CLI_JOB_VIDEO,
     .out_media = CLI_MEDIA_VIDEOS,
     .role = CLI_ROLE_START,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "video.status",
     .group = "video",
     .verb = "status",
     .tool = "get_video_status",
     .positional = "video_id",
     .job = CLI_JOB_VIDEO,
     .out_media = CLI_MEDIA_VIDEOS,
     .role = CLI_ROLE_STATUS,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "video.download",
     .group = "video",
     .verb = "download",
     .tool = "download_video",
     .positional = "video_id",
     .job = CLI_JOB_VIDEO,
     .out_media = CLI_MEDIA_VIDEOS,
     .role = CLI_ROLE_DOWNLOAD,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "video.list", .group = "video", .verb = "list", .tool = "list_videos"},
    {.name = "video.files", .group = "video", .verb = "files", .tool = "list_local_videos"},
    {.name = "video.delete",
     .group = "video",
     .verb = "delete",
     .tool = "delete_video",
     .positional = "video_id"},
    {.name = "video.remix",
     .group = "video",
     .verb = "remix",
     .tool = "remix_video",
     .positional = "previous_video_id",
     .job = CLI_JOB_VIDEO,
     .out_media = CLI_MEDIA_VIDEOS,
     .role = CLI_ROLE_START,
     .out_param = "filename",
     .saved_field = "filename"},

    {.name = "image.create",
     .group = "image",
     .verb = "create",
     .tool = "create_image",
     .positional = "prompt",
     .job = CLI_JOB_IMAGE,
     .out_media = CLI_MEDIA_IMAGES,
     .role = CLI_ROLE_START,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "image.status",
     .group = "image",
     .verb = "status",
     .tool = "get_image_status",
     .positional = "response_id",
     .job = CLI_JOB_IMAGE,
     .out_media = CLI_MEDIA_IMAGES,
     .role = CLI_ROLE_STATUS,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "image.download",
     .group = "image",
     .verb = "download",
     .tool = "download_image",
     .positional = "response_id",
     .job = CLI_JOB_IMAGE,
     .out_media = CLI_MEDIA_IMAGES,
     .role = CLI_ROLE_DOWNLOAD,
     .out_param = "filename",
     .saved_field = "filename"},
    {.name = "image.generate",
     .group = "image",
     .verb = "generate",
     .tool = "generate_image",
     .positional = "prompt",
     .out_param = "filename",
     .out_media = CLI_MEDIA_IMAGES,
     .saved_field = "filename"},
    {.name = "image.edit",
     .group = "image",
     .verb = "edit",
     .tool = "edit_image",
     .positional = "prompt",
     .out_param = "filename",
     .out_media = CLI_MEDIA_IMAGES,
     .saved_field = "filename"},

    {.name = "reference.list",
     .group = "reference",
     .verb = "list",
     .tool = "list_reference_images"},
    {.name = "reference.prepare",
     .group = "reference",
     .verb = "prepare",
     .tool = "prepare_reference_image",
     .positional = "input_filename",
     .out_param = "output_filename",
     .out_media = CLI_MEDIA_IMAGES,
     .saved_field = "output_filename"},

    {.name = "audio.list", .group = "audio", .verb = "list", .tool = "list_audio_files"},
    {.name = "audio.latest", .group = "audio", .verb = "latest", .tool = "get_latest_audio"},
    {.name = "audio.convert",
     .group = "audio",
     .verb = "convert",
     .tool = "convert_audio",
     .positional = "input_path",
     .out_media = CLI_MEDIA_AUDIO,
     .saved_field = "output_file"},
    {.name = "audio.compress",
     .group = "audio",
     .verb = "compress",
     .tool = "compress_audio",
     .positional = "input_path",
     .out_param = "output_filename",
     .out_media = CLI_MEDIA_AUDIO,
     .saved_field = "output_file"},
    {.name = "audio.transcribe",
     .group = "audio",
     .verb = "transcribe",
     .tool = "transcribe_audio",
     .positional = "file_path"},
    {.name = "audio.enhance",
     .group = "audio",
     .verb = "enhance",
     .tool = "transcribe_with_enhancement",
     .positional = "file_path"},
    {.name = "audio.chat",
     .group = "audio",
     .verb = "chat",
     .tool = "chat_with_audio",
     .positional = "file_path"},
    {.name = "audio.create",
     .group = "audio",
     .verb = "create",
     .tool = "create_audio",
     .positional = "text_prompt",
     .out_param = "output_filename",
     .out_media = CLI_MEDIA_AUDIO,
     .saved_field = "output_file"},

    {.name = "wait",
     .group = "wait",
     .special = CLI_SPECIAL_WAIT,
     .summary = "Wait for video and image jobs to finish (and download them)"},
    {.name = "capabilities",
     .group = "capabilities",
     .special = CLI_SPECIAL_CAPABILITIES,
     .summary = "Describe every command, flag and exit status as JSON"},
};
const size_t cli_ncommands = sizeof(cli_commands) / sizeof(cli_commands[0]);

bool cli_group_known(const char *word)
{
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].group, word) == 0)
            return true;
    return false;
}

bool cli_is_command(const char *word)
{
    return word != NULL && (cli_group_known(word) || strcmp(word, "help") == 0);
}

const struct cli_command *cli_command_find(int argc, char **argv, int *pwords)
{
    *pwords = 0;
    if (argc < 1)
        return NULL;
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        if (strcmp(c->group, argv[0]) != 0)
            continue;
        if (c->verb == NULL) {
            *pwords = 1;
            return c;
        }
        if (argc >= 2 && strcmp(c->verb, argv[1]) == 0) {
            *pwords = 2;
            return c;
        }
    }
    return NULL;
}

const char *cli_download_tool(const struct cli_command *cmd)
{
    if (cmd->role == CLI_ROLE_START || cmd->role == CLI_ROLE_STATUS)
        return cli_jobkinds[cmd->job].download_tool;
    return NULL;
}

void cli_print_commands(FILE *out)
{
    const char *group = "";

    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        if (strcmp(c->group, group) != 0) {
            fprintf(out, "%s  sanzaru %s", i ? "\n" : "", c->group);
            group = c->group;
            if (c->verb != NULL)
                fprintf(out, " %s", c->verb);
        } else {
            fprintf(out, "|%s", c->verb);
        }
    }
    fputc('\n', out);
}
