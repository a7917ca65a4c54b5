/* The server's own state: one SQLite database file, every statement on the pool.
 *
 * Media files live in the store; what the server must remember about its own work
 * between runs lives here: the ledger of video jobs it created (state/ledger.h) and,
 * later, MCP tasks. One database file (default <media root>/.sanzaru/state.db, set
 * by app from SANZARU_STATE_PATH), in WAL mode so a reader never waits for a
 * writer, with a busy timeout so two servers sharing a media root take turns.
 *
 * Nothing here touches the file on the loop thread. state_new only records the
 * path; the first job creates the directory (0700), opens the database and applies
 * the schema scripts registered with state_add_schema (each in one transaction, in
 * order, once). Jobs run one at a time in the order they were submitted, on libuv's
 * thread pool through a core/pool of one slot, so a job sees every write of the
 * jobs before it and none runs while another holds the connection.
 *
 * A job is a work function that gets the open connection on a pool thread and a
 * done callback on the loop. The work function must touch only its own data and
 * the connection (prepare, bind, step, finalize); it must not keep the connection
 * or a statement past its return. When the database cannot be opened every job
 * fails with that reason (a sentence naming the file), and the next job tries
 * again.
 *
 * Thread: every function here is called on the loop thread; work functions run on
 * a pool thread, done callbacks on the loop, never inside the call that submitted
 * them. */
#ifndef SZ_STATE_H
#define SZ_STATE_H

#include <stddef.h>

#include <sqlite3.h>
#include <uv.h>

struct state;

/* Room for any message a job reports, terminator included. */
#define STATE_MSG_MAX 512

struct state_options {
    const char *path; /* the database file (copied); its directory is created when missing */
};

/* Records where the database lives; no I/O. Returns 0 and *pstate, SZ_EINVAL (no
 * path) or SZ_ENOMEM. loop is borrowed and must outlive the state. */
int state_new(uv_loop_t *loop, const struct state_options *opts, struct state **pstate);

/* The database file, for logs and messages. Borrowed; lives as long as the state. */
const char *state_path(const struct state *st);

/* Registers a schema script (CREATE TABLE IF NOT EXISTS ...; several statements
 * allowed), run once per open before any job that follows it. sql is borrowed and
 * must outlive the state (a static string). Each module that keeps a table adds its
 * own script, so the store knows no table. 0, SZ_ENOMEM or SZ_EINVAL (closing). */
int state_add_schema(struct state *st, const char *sql);

/* Runs on a pool thread with the open connection (borrowed). Returns 0 or a
 * negative code; on failure writes one sentence to msg (msglen is STATE_MSG_MAX),
 * e.g. with state_sql_error. */
typedef int state_work_fn(sqlite3 *db, void *data, char *msg, size_t msglen);

/* Runs on the loop once per job: err is the work function's result, SZ_ECANCELLED
 * when the state closed before the job ran, or the open failure (SZ_EIO) with its
 * sentence; msg is NULL on success, borrowed otherwise. */
typedef void state_done_fn(void *data, int err, const char *msg);

/* Queues a job. data is borrowed by both callbacks (keep it alive until done runs).
 * done may be NULL when nobody waits for the outcome (a failure is then logged).
 * Returns 0 (done will run), or SZ_EINVAL (closing; nothing runs) or SZ_ENOMEM. */
int state_run(struct state *st, state_work_fn *work, state_done_fn *done, void *data);

typedef void state_closed_fn(void *arg);

/* Lets the queued jobs run, closes the database on the pool (a WAL checkpoint is
 * I/O), then frees the state and calls cb(arg) (may be NULL) on the loop. Jobs
 * submitted after this fail with SZ_EINVAL at state_run. The loop must run until cb
 * has run. NULL is a no-op. */
void state_close(struct state *st, state_closed_fn *cb, void *arg);

/* For work functions: writes "<what>: <sqlite's message>" for db into msg and
 * returns SZ_EIO (SZ_EBUSY when the database stayed locked past the busy timeout).
 * Any thread. */
int state_sql_error(sqlite3 *db, const char *what, char *msg, size_t msglen);

/* Statement helpers for work functions, so each table states only its SQL and its
 * columns. `what` names the table in a failure's sentence ("The task table"). Any
 * thread (a work function's). */

/* Prepares sql on db into *ps. 0, or the state_sql_error code with its sentence. */
int state_prepare(sqlite3 *db, const char *what, const char *sql, sqlite3_stmt **ps, char *msg,
                  size_t msglen);

/* Binds parameter i to v, borrowed until the statement is finalized (SQLITE_STATIC),
 * or to NULL for a NULL v. SQLite's result code. */
int state_bind_text(sqlite3_stmt *s, int i, const char *v);

/* Steps s, a statement that returns no row (INSERT, DELETE), once, and finalizes it
 * (takes ownership). 0, or the state_sql_error code with its sentence. */
int state_exec(sqlite3 *db, sqlite3_stmt *s, const char *what, char *msg, size_t msglen);

/* Queues a job that runs one statement returning no row (sql: a static string,
 * borrowed; one text parameter ?1 bound to arg, copied, or none when arg is NULL)
 * and reports through done as state_run does (done may be NULL: a failure is then
 * logged). Returns 0 (done will run), SZ_EINVAL or SZ_ENOMEM. Loop thread. */
int state_run_sql(struct state *st, const char *what, const char *sql, const char *arg,
                  state_done_fn *done, void *data);

/* What a done callback that nobody may wait for does: calls done(data, err, msg)
 * when done is not NULL, or logs a failure's msg when it is. Loop thread. */
void state_report(state_done_fn *done, void *data, int err, const char *msg);

#endif
