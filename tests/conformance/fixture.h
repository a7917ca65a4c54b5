/* The conformance fixture's parts (fixture.c: the rows of the suite's
 * everything-server and main; fixture_modern.c: the diagnostic rows of the
 * MCP 2026-07-28 scenarios; fixture_tasks.c: the tools of the tasks extension's
 * scenarios). Loop thread only. */
#ifndef SZ_CONFORMANCE_FIXTURE_H
#define SZ_CONFORMANCE_FIXTURE_H

struct mcp_call;
struct mcp_server;

/* Registers the 2026-07-28 diagnostic tools and prompt, and declares that the
 * tool, prompt and resource lists may change. 0, or -1. */
int fixture_modern_register(struct mcp_server *server);

/* Registers the tools of the tasks-* scenarios (fixture_tasks.c). 0, or -1. */
int fixture_tasks_register(struct mcp_server *server);

/* The server a fixture_modern tool was registered on (its tool data). */
struct mcp_server *fixture_server(const struct mcp_call *call);

#endif
