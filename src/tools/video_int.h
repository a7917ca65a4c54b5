/* What the video tools' two files share (video.c: create_video, get_video_status,
 * list_videos, delete_video, remix_video and the table; video_download.c:
 * download_video). Loop thread only. */
#ifndef SZ_TOOLS_VIDEO_INT_H
#define SZ_TOOLS_VIDEO_INT_H

#include <stdbool.h>

struct mcp_call;
struct mcp_server;
struct tools_ctx;
struct video_svc;

/* Checks an id bound for a URL path (param names the argument); fails the call and
 * returns false when it is not one. */
bool video_tool_check_id(struct mcp_call *call, const char *param, const char *id);

/* The video service, or NULL after failing the call (it could not be built). */
struct video_svc *video_tool_svc(struct mcp_call *call, struct tools_ctx *app);

/* Registers download_video (tools_register_video calls it in its place in the list).
 * 0 or a negative code. */
int tools_register_download_video(struct mcp_server *server, struct tools_ctx *app);

#endif
