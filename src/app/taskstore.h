/* The engine's task store (mcp/server.h, struct mcp_task_store) on the state
 * database's task table (state/taskdb.h): the one place that knows both, since the
 * engine and the state floor know nothing of each other.
 *
 * Thread: loop thread only. */
#ifndef SZ_APP_TASKSTORE_H
#define SZ_APP_TASKSTORE_H

struct mcp_server;
struct state;

/* Makes server's tasks durable in st (borrowed; its table attached with
 * taskdb_attach; it must outlive the server's tasks, so close the tasks first). */
void sz_taskstore_attach(struct mcp_server *server, struct state *st);

#endif
